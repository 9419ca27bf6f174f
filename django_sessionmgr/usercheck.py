"""The user check: whether the session serving a request may go on.

The session's marker (see ``markers``) decides, without a query, whether:

- the session is past the expiry recorded on its row: it is refused, so the
  row never says "expired" about a session that still loads;
- an activity write is due (at most once per ``ACTIVITY_UPDATE_INTERVAL``);
- the engine keeps no server-side store (signed cookies), so the user's
  sign-out mark in the shared cache (see ``signouts``), or else one indexed
  read, tells whether the session was revoked.

What the marker cannot settle is a ``CheckWork``: database work that answers
False when the session must be refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from asgiref.sync import sync_to_async
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from .conf import app_settings
from .markers import Marker, data_without_marker, read_marker
from .models import UserSession
from .rows import end_row, record_activity, session_alive
from .safety import CHECK, contained
from .signout_notices import announce, explain_dead_cookie, explain_refused, policy_notice
from .signouts import mark_cache
from .state import RequestState, request_state
from .stores import is_server_side
from .tracking import adopt_session

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest


class CheckWork(NamedTuple):
    """The database work a user check needs."""

    #: The work: False when the session must be refused.
    run: Callable[[], bool]
    #: Whether it writes (and so needs a savepoint inside a transaction).
    writes: bool = True


def plan_check(
    request: HttpRequest, state: RequestState, user: AbstractBaseUser | AnonymousUser
) -> CheckWork | None:
    """Decide from the session data alone; return the database work, if any."""
    session: SessionBase = request.session
    marker = read_marker(session)
    if marker is None:
        if user.is_authenticated and SESSION_KEY in session:
            return CheckWork(lambda: adopt_session(request, user))
        if is_server_side(session) and session.session_key is None and not session.keys():
            # The cookie's session is gone from the store: was it ended?
            return CheckWork(lambda: explain_dead_cookie(request, state))
        return None
    row_id, last_write, expiry = marker.row_id, marker.written, marker.expiry
    state.row_id, state.marker = row_id, marker
    now = int(time.time())
    if expiry is not None and now >= expiry:
        return CheckWork(lambda: expire_session(request, marker))
    interval = app_settings.ACTIVITY_UPDATE_INTERVAL
    due = expiry is None or now - last_write >= interval or expiry - now <= interval
    if due:
        if not session.modified:
            state.before_activity = data_without_marker(session)
        return CheckWork(lambda: record_activity(request, marker))
    if not is_server_side(session) or (
        isinstance(session, CachedDBStore) and mark_cache() is not None
    ):
        return CheckWork(lambda: still_active(request, state, marker, user), writes=False)
    return None


def run_check(state: RequestState, work: CheckWork) -> bool:
    """Run a user check's database work, marking the thread that runs it."""
    state.checking = threading.get_ident()
    try:
        return contained(work.run, default=True, what=CHECK, writes=work.writes)
    finally:
        state.checking = None


#: ``run_check`` in the request's worker thread, built once.
run_check_in_thread = sync_to_async(run_check)


def still_active(
    request: HttpRequest,
    state: RequestState,
    marker: Marker,
    user: AbstractBaseUser | AnonymousUser,
) -> bool:
    """Whether a session the store cannot end for sure may go on; says why not."""
    if session_alive(marker, user.pk if user.is_authenticated else None):
        return True
    explain_refused(request, state, marker.row_id)
    return False


def expire_session(request: HttpRequest, marker: Marker) -> bool:
    """The session reached the end recorded on its row: the row reads
    ``expired``, and the page says why when a policy ended it."""
    end_row(marker.row_id, UserSession.Status.EXPIRED)
    state = request_state(request)
    if (reason := policy_notice(marker)) and state is not None:
        announce(request, state, ("session_expired", reason))
    elif state is not None:
        explain_refused(request, state, marker.row_id)
    return False
