"""Recording logins: a login's row, a session adopted without one, a logout.

A login reuses the row of its session if it has one for this user (one row
per session), goes back to the staff member's own row at the release of an
impersonation, or inserts a new row under ``MAX_SESSIONS``. A session that
carries no marker (from before the install, or a login whose row could not
be written) is adopted once, under the same policies.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, router, transaction
from django.utils import timezone

from .conf import django_settings
from .devices import login_fields
from .digests import adopted_row_id, client_digest, stored_key, stored_key_digest
from .login_commit import shared_database, write_then_save
from .markers import SESSION_MARKER, Marker, marker_as_of_now, read_marker
from .models import UserSession
from .notifications import notify_if_new_device
from .policies import (
    enforce_session_limit,
    login_atomically,
    revoke_past_limit,
    sessions_past_limit,
)
from .rows import end_row, insert_row, is_project_user, sync_row
from .safety import contained
from .signals import session_started
from .state import (
    IMPERSONATOR_KEY,
    ImpersonationEntry,
    NewLogin,
    RequestState,
    request_state,
    stored_stack,
)
from .stores import is_server_side

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest

    from .queries import UserSessionQuerySet


logger = logging.getLogger("django_sessionmgr")


def _ensure_key(session: SessionBase) -> None:
    """``login()`` flushed the session: give it its key now, so the row holds it."""
    if is_server_side(session) and session.session_key is None:
        session.save()


def _reuse_row(
    request: HttpRequest, session: SessionBase, row_id: str, user: AbstractBaseUser
) -> bool:
    """Logging in again inside the same session keeps its row (if still active)."""
    return sync_row(session, row_id, activity=True, user=user, request=request)


def _create_row(
    request: HttpRequest,
    session: SessionBase,
    user: AbstractBaseUser,
    row_id: str,
    *,
    adopted: bool = False,
    kind: str = UserSession.Kind.SESSION,
) -> UserSession:
    now = timezone.now()
    marker, expires_at = marker_as_of_now(
        session, row_id, client=client_digest(request), user_pk=user.pk
    )
    row = UserSession(
        id=row_id,
        user_id=user.pk,
        session_key=stored_key(session),
        session_key_digest=stored_key_digest(session),
        created_at=now,
        last_activity_at=now,
        expires_at=expires_at,
        adopted=adopted,
        kind=kind,
        **login_fields(request),
    )
    insert_row(row)
    session[SESSION_MARKER] = marker
    return row


def start_session(
    request: HttpRequest, user: AbstractBaseUser, kind: str = UserSession.Kind.SESSION
) -> UserSession | None:
    """Record a login: reuse the session's row if it has one for this user, else
    create one of ``kind`` (an app's session is a Django session too).

    A failure to record is logged and never fails the login. The steps, in order:
    note the row a flushed session leaves behind, refuse users our table cannot
    point at, give the session its key, record the row, follow it for the rest
    of the request, and announce a new row. On the ``db`` and ``cached_db``
    engines the key, the row and the session's data share one commit (see
    ``login_commit``).
    """
    session: SessionBase | None = getattr(request, "session", None)
    if session is None:
        return None
    state = request_state(request)
    marker = read_marker(session)
    _note_replaced_row(state, marker)
    if not _trackable(user):
        return None
    stack = state.stack_before_flush if state is not None else None
    record = partial(_record_row, request, session, user, marker, stack, kind)
    alias = shared_database(session)
    work: Callable[[], Recorded | None] = record
    if alias is None:
        _ensure_key(session)
    else:  # the row shares the commit of the session's save (and of its new key)
        work = partial(write_then_save, session, alias, record)
    try:
        recorded = contained(work, default=None, what="record a login")
    except ReleaseRefused:
        _end_refused_release(request, state)
        return None
    if recorded is None:
        session.pop(SESSION_MARKER, None)  # adopted on a later request instead
        return None
    row_id, row, excess = recorded
    if state is not None:
        state.past_limit = excess  # on the way out, unless it turns out an impersonation
    else:
        revoke_past_limit(excess)
    _serve_row(state, row_id, session)
    if state is not None and not (stack and row_id == stack[-1].row_id):
        # A release of an impersonation leaves the device cookie alone.
        state.logged_in_user_pk = user.pk
    if row is not None:
        _announce_new_row(request, state, user, row)
    return row


def _note_replaced_row(state: RequestState | None, marker: Marker | None) -> None:
    """Remember the row of a session that ``login()`` flushed to sign another user in.

    That row ends on the way out, unless this login turns out to be an
    impersonation (see ``impersonation``), which keeps the staff member's row
    for the release. The marker still names the old row only if no flush happened.
    """
    if state is not None and state.row_id and (marker is None or marker.row_id != state.row_id):
        state.replaced_row_id = state.row_id


def _trackable(user: AbstractBaseUser) -> bool:
    """Whether the login can have a row; says why in the log when it cannot,
    since the session then escapes every revoke."""
    if is_project_user(user):
        return True
    logger.warning(
        "django-sessionmgr records logins of %s users in the database of its own "
        "table only; a %s signed in untracked",
        django_settings.AUTH_USER_MODEL,
        type(user).__name__,
    )
    return False


def _record_row(
    request: HttpRequest,
    session: SessionBase,
    user: AbstractBaseUser,
    marker: Marker | None,
    stack: list[ImpersonationEntry] | None,
    kind: str,
) -> Recorded:
    """The login's row id, the row when it is new, and the sessions it puts
    past ``MAX_SESSIONS``.

    A login inside a session that already has an active row of this user keeps
    that row ("one row per session"). A login of the user on top of the
    impersonation stack the flushed session held is a release, recognised by
    the stack alone: it goes back to that entry's row and puts the rest of the
    stack back in the session, or raises ``ReleaseRefused`` if that row has
    ended (no new row is ever created for it).
    Otherwise a new row is inserted, in the transaction that reads the
    sessions past ``MAX_SESSIONS``; they are revoked once the row is
    committed, on the way out of the request (by the middleware, unless the
    login is an impersonation), or at once without the middleware.
    """
    if marker is not None and _reuse_row(request, session, marker.row_id, user):
        return Recorded(marker.row_id, None, [])
    if stack and stack[-1].user_pk == str(user.pk):
        row_id = stack[-1].row_id
        if row_id is None or not _back_to_staff_row(request, session, row_id, user):
            raise ReleaseRefused
        if len(stack) > 1:  # back one step of a chain: the rest still to release
            rest = stack[:-1]
            session[IMPERSONATOR_KEY] = stored_stack(rest)
            state = request_state(request)
            if state is not None and state.replaced_row_id in {entry.row_id for entry in rest}:
                state.replaced_row_id = None  # a row the rest of the chain goes back to
        return Recorded(row_id, None, [])
    with login_atomically(user):
        row = _create_row(request, session, user, str(uuid.uuid4()), kind=kind)
        excess = sessions_past_limit(user, str(row.pk))
    return Recorded(str(row.pk), row, excess)


class Recorded(NamedTuple):
    """What recording a login wrote."""

    row_id: str
    #: The row, when the login created one.
    row: UserSession | None
    #: The user's other sessions past ``MAX_SESSIONS``, to revoke.
    past_limit: list[Any]


class ReleaseRefused(Exception):
    """The release of an impersonation would go back to a row that has ended
    (revoked, say by the staff member's "sign out everywhere"): the session
    ends instead, even for a password sign-in of that user (see docs/security.md)."""


def _back_to_staff_row(
    request: HttpRequest, session: SessionBase, row_id: str, user: AbstractBaseUser
) -> bool:
    """Back to the staff member's own row at the release of an impersonation,
    if it is still active, with the login time it had: ``ABSOLUTE_TIMEOUT``
    goes on counting from the staff member's own sign-in."""
    created = (
        UserSession.objects.filter(pk=row_id, user_id=user.pk, status=UserSession.Status.ACTIVE)
        .values_list("created_at", flat=True)
        .first()
    )
    if created is None:
        return False
    if timezone.is_naive(created):
        created = timezone.make_aware(created)
    started = int(created.timestamp())
    return sync_row(session, row_id, activity=True, user=user, request=request, started=started)


def _end_refused_release(request: HttpRequest, state: RequestState | None) -> None:
    """Sign the browser out, as ``logout()`` would: nothing is restored."""
    request.session.flush()
    request.user = AnonymousUser()
    if state is not None:
        state.ended = True
    logger.info("The release of an impersonation found the staff session ended: signed out")


def _announce_new_row(
    request: HttpRequest, state: RequestState | None, user: AbstractBaseUser, row: UserSession
) -> None:
    """Send ``session_started``, and decide whether the device is new.

    Under the middleware the new-device decision waits for the way out: an
    impersonation declared later in this request
    (``impersonation.start_impersonation``) notifies nobody. Without it, now.
    """
    session_started.send(sender=type(row), session=row, request=request)
    if state is not None:
        state.new_login = NewLogin(user, row)
    else:
        notify_if_new_device(request, user, row)


def adopt_session(
    request: HttpRequest, user: AbstractBaseUser, kind: str = UserSession.Kind.SESSION
) -> bool:
    """Give an authenticated session that carries no marker its row, once,
    under the same policies as a login (``MAX_SESSIONS`` and the timeouts).

    Such a session is one from before the install, or a login whose row
    could not be written. False when it must be refused: its row was already
    ended (a replayed pre-install cookie after a revoke), or, for a signed
    cookie, once any such session of its user was revoked or signed out. A
    signed cookie has no identity that survives being signed again (any save
    of the session, ``SESSION_SAVE_EVERY_REQUEST``, a ``SECRET_KEY``
    rotation), so the rule is per user.
    """

    session: SessionBase = request.session
    if session.session_key is None or not is_project_user(user):
        return True  # served as stock Django would; it cannot have a row
    row_id = adopted_row_id(session.session_key)
    rows = UserSession.objects.from_primary()
    if not rows.filter(pk=row_id).exists():
        if not is_server_side(session) and _adoption_ended(rows, user):
            return False
        try:
            with login_atomically(user), transaction.atomic(using=rows.db):
                row = _create_row(request, session, user, row_id, adopted=True, kind=kind)
                enforce_session_limit(user, row_id)
        except IntegrityError:
            if not rows.filter(pk=row_id).exists():
                raise  # not a concurrent adoption: a failure of the table itself
        else:
            _serve_row(request_state(request), row_id, session)
            session_started.send(sender=UserSession, session=row, request=request)
            return True
    created_at = rows.filter(pk=row_id).values_list("created_at", flat=True).first()
    started = int(created_at.timestamp()) if created_at is not None else None
    if not sync_row(session, row_id, activity=True, user=user, request=request, started=started):
        return False
    _serve_row(request_state(request), row_id, session)
    return True


def _adoption_ended(rows: UserSessionQuerySet, user: AbstractBaseUser) -> bool:
    """Whether a session of ``user`` adopted without a marker was revoked,
    signed out, or ended by its expiry or a timeout."""
    return bool(rows.filter(user_id=user.pk, adopted=True).finished().exists())


def _serve_row(state: RequestState | None, row_id: str, session: SessionBase) -> None:
    """The request goes on with ``row_id``: the state says so for the rest of it."""
    if state is not None:
        state.row_id, state.known_key, state.ended = row_id, session.session_key, False


def _db_for_write() -> str:
    return router.db_for_write(UserSession)


def end_session(request: HttpRequest) -> None:
    """Record a logout of the request's session."""
    session: SessionBase | None = getattr(request, "session", None)
    marker = read_marker(session) if session is not None else None
    if marker is None:
        return
    end_row(marker.row_id)
    state = request_state(request)
    if state is not None:
        state.ended = True
