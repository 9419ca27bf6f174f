"""The marker a session carries, and the expiry it records.

The row's id, the time of its last activity write and the expiry written to
the row travel inside the session data (under ``SESSION_MARKER``), which is
loaded with the session anyway. That gives a stable identity across
``cycle_key()``, lets the middleware decide whether to write without a query,
and lets it end the session at the row's recorded expiry on every engine, so
the row never claims a session is over while it still loads.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from .conf import django_settings
from .endings import policy_end
from .internals import EXPIRY_KEY, uses_stock_cookie_age, uses_stock_expiry
from .signouts import mark_before_write
from .state import current_state, request_state

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest

#: Session data key holding ``[row id, unix time of the last row write, unix expiry,
#: unix time of the login, client digest, sign-out mark]``.
SESSION_MARKER = "_sessionmgr"


class Marker(NamedTuple):
    row_id: str
    #: Unix time of the last write to the row (login or activity).
    written: int
    #: Unix time the session ends, as recorded on the row; None from 0.1.
    expiry: int | None
    #: Unix time of the login, for ``ABSOLUTE_TIMEOUT``; None from 0.1.
    started: int | None
    #: Digest of the address and user agent last seen, to notice a change.
    client: str | None
    #: The user's sign-out mark read before the last row write ("" without
    #: marks; None before 0.2): see ``signouts``.
    mark: str | None


def read_marker(session: SessionBase) -> Marker | None:
    """The marker in the session data, or None when it holds none (or a bad one)."""
    marker = session.get(SESSION_MARKER)
    if not isinstance(marker, list):
        return None
    if len(marker) == 6:  # the marker written today, checked without a loop
        row_id, written, expiry, started, client, mark = marker
        if (
            isinstance(row_id, str)
            and isinstance(written, int)
            and isinstance(expiry, int)
            and isinstance(started, int)
            and isinstance(client, str)
            and isinstance(mark, str)
        ):
            return Marker._make(marker)
        return None
    if len(marker) == 5:  # 0.1's last marker: no sign-out mark
        if isinstance(marker[4], str) and all(isinstance(value, int) for value in marker[1:4]):
            return Marker._make([*marker, None]) if isinstance(marker[0], str) else None
        return None
    if (
        2 <= len(marker) <= 4
        and isinstance(marker[0], str)
        and all(isinstance(value, int) for value in marker[1:])
    ):
        return Marker(*marker, *[None] * (6 - len(marker)))
    return None


def session_row_id(request: HttpRequest | None = None) -> str | None:
    """The public id of the ``UserSession`` behind ``request``, if any: the
    one way to ask which row is a request's.

    Without ``request`` (receivers of ``post_save``, a command run from a
    view), it answers for the request being served, through ``current_state``,
    and None once that session ended in the request.
    """
    if request is None:
        state = current_state.get()
        if state is None or state.ended:
            return None
        if state.row_id is None and state.session is not None:
            marker = read_marker(state.session)
            return marker.row_id if marker else None
        return state.row_id
    session: SessionBase | None = getattr(request, "session", None)
    marker = read_marker(session) if session is not None else None
    return marker.row_id if marker else None


def current_row_id(request: HttpRequest, *, by_session: bool = True) -> str | None:
    """The public id of the session that authenticated ``request``: the one
    answer to "which row is current" for the API, the pages and the admin.

    A token session is current when its own token authenticated the request
    (the app's token authentication classes set ``RequestState.token_row_id``);
    otherwise the browser session's row, unless ``by_session`` is False (the
    session did not authenticate the request: basic auth, a token without a row).
    """
    state = request_state(request)
    if state is not None and state.token_row_id is not None:
        return state.token_row_id
    return session_row_id(request) if by_session else None


def marker_as_of_now(
    session: SessionBase,
    row_id: str,
    client: str | None = None,
    user_pk: Any = None,
    started: int | None = None,
) -> tuple[list[Any], datetime]:
    """The marker for ``row_id`` as of now, and the expiry to record on the row.

    The expiry is the session's real end: the earliest of its own expiry and
    the ``IDLE_TIMEOUT`` and ``ABSOLUTE_TIMEOUT`` policies. Whole seconds, so
    the row and the marker hold exactly the same instant. Callers write the
    row first and the marker only once the row holds it: the user's sign-out
    mark is read here, before that write, as ``signouts`` needs.
    """
    now = int(time.time())
    previous = read_marker(session)
    same_row = previous is not None and previous.row_id == row_id
    started = started or (previous.started if previous and same_row else None) or now
    client = client or (previous.client if previous and same_row else None) or ""
    expiry = effective_expiry(session, now, started)
    mark = mark_before_write(user_pk if user_pk is not None else session.get(SESSION_KEY))
    return [row_id, now, expiry, started, client, mark], from_epoch(expiry)


def effective_expiry(session: SessionBase, written: int, started: int) -> int:
    """When a session whose marker was written at ``written`` ends under the
    policies in force (``endings.policy_end``).

    The session's own end is ``session.get_expiry_date(modification=written)``,
    worked out in whole seconds without the datetimes when the engine keeps
    Django's own ``get_expiry_date`` and the expiry is a number of seconds (or
    the cookie age): the middleware asks this on every request.
    """
    custom = session.get(EXPIRY_KEY)
    if uses_stock_expiry(session) and (custom is None or type(custom) is int):
        age = custom or (
            django_settings.SESSION_COOKIE_AGE  # what Django's own method returns
            if uses_stock_cookie_age(session)
            else session.get_session_cookie_age()
        )
        ends = written + age
    else:
        modification = datetime.fromtimestamp(written, tz=UTC)
        ends = int(session.get_expiry_date(modification=modification).timestamp())
    if (timeout := policy_end(written, started)) is not None:
        ends = min(ends, timeout)
    return ends


def from_epoch(seconds: int) -> datetime:
    """A datetime the database accepts, aware or naive as ``USE_TZ`` says."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment if django_settings.USE_TZ else timezone.make_naive(moment)


def expiry_changed(session: SessionBase, marker: Marker) -> bool:
    """Whether the expiry moved since the marker was written (``set_expiry``,
    or a policy setting changed)."""
    if marker.expiry is None or marker.started is None:
        return True
    return effective_expiry(session, marker.written, marker.started) != marker.expiry


def data_without_marker(session: SessionBase) -> dict[str, Any]:
    """The session data but the marker (already loaded: no I/O)."""
    return {key: value for key, value in session.items() if key != SESSION_MARKER}
