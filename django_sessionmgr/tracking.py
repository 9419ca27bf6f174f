"""Keeping a ``UserSession`` row true to its Django session.

The row's id, the time of its last activity write and the expiry written to
the row travel inside the session data (under ``SESSION_MARKER``), which is
loaded with the session anyway. That gives a stable identity across
``cycle_key()``, lets the middleware decide whether to write without a query,
and lets it end the session at the row's recorded expiry on every engine, so
the row never claims a session is over while it still loads.

What the middleware learns about a request travels in one ``RequestState``,
kept on the request. Receivers of ``post_save`` get no request, so the
middleware also publishes the same object through ``current_state``; it is set
before the view runs and only ever mutated afterwards, so it reaches receivers
run by ``Signal.asend`` in a copied context too.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, router, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from .conf import app_settings, per_request
from .devices import client_hints, parse_user_agent
from .keys import seal
from .models import USER_AGENT_MAX_LENGTH, UserSession, insert_row
from .network import get_client_ip, locate_ip, stored_ip
from .notifications import notify_if_new_device
from .policies import (
    enforce_session_limit,
    login_atomically,
    revoke_past_limit,
    sessions_past_limit,
)
from .safety import contained
from .signals import session_client_changed, session_started
from .signouts import mark_before_write, record_sign_out_of_row
from .stores import is_server_side

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest


logger = logging.getLogger("django_sessionmgr")

#: Session data key holding ``[row id, unix time of the last row write, unix expiry]``.
SESSION_MARKER = "_sessionmgr"
#: Where Django keeps a custom expiry (``set_expiry``) in the session data.
EXPIRY_KEY = "_session_expiry"


class RequestState:
    """What the middleware knows about the session serving one request.

    A plain class whose defaults live on the class: built on every request,
    it sets only what differs. Its repr is the default one, so no error
    report or log shows the session key it holds.
    """

    #: The row of the session serving the request, once known (or logged in).
    row_id: str | None = None
    #: The marker as the user check read it; still true while the session is
    #: not modified, so the response step need not read it again.
    marker: Marker | None = None
    #: The session key the row is known to hold (rotation is detected against it).
    known_key: str | None = None
    #: The session ended in this request (logout, or refused as revoked).
    ended: bool = False
    #: The user once checked against the row (shared by ``user`` and ``auser()``).
    checked_user: Any = None
    #: The thread running the user check's database work: a read of the user
    #: from inside that work gets the user as loaded, not a second check.
    checking: int | None = None
    #: The request's session, to read the row from if the user was never checked.
    session: Any = None
    #: The session data as it was before an activity write marked it modified.
    before_activity: dict[str, Any] | None = None
    #: A row this request's login replaced: ended on the way out, unless the
    #: login was an impersonation (then the staff member's row waits for release).
    replaced_row_id: str | None = None
    #: The impersonation stack (``impersonation_stack``) of the session as it
    #: was before this request flushed it: a release resumes its top entry.
    resume: list[list[Any]] | None = None
    #: The session was flushed in this request (``login()`` of another user, ``logout()``).
    flushed: bool = False
    #: Why the session that came with the request had ended: (code, words).
    end_notice: tuple[str, str] | None = None
    #: The user a login in this request signed in (to remember their device).
    logged_in_user_pk: Any = None
    #: ``(user, row)`` of a login in this request, for the new-device notice.
    new_row: Any = None
    #: Ids of the user's sessions past ``MAX_SESSIONS`` at this request's
    #: login, revoked on the way out unless the login was an impersonation.
    past_limit: list[Any] | None = None

    def __init__(self, known_key: str | None = None, session: Any = None) -> None:
        self.known_key, self.session = known_key, session

    def current_row_id(self) -> str | None:
        """The row of the session serving the request, unless it ended."""
        if self.ended:
            return None
        if self.row_id is None and self.session is not None:
            marker = read_marker(self.session)
            return marker.row_id if marker else None
        return self.row_id


#: The state of the request being served, for receivers that get no request.
current_state: ContextVar[RequestState | None] = ContextVar("sessionmgr_state", default=None)


def request_state(request: HttpRequest | None) -> RequestState | None:
    return getattr(request, "_sessionmgr", None) if request is not None else None


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


_new_marker = tuple.__new__


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
            return _new_marker(Marker, marker)  # the list as is: no Python-level __new__
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


#: Session data key of an impersonated session: a stack of ``[row id, user pk]``
#: entries, one per impersonation still to release. The bottom entry is the
#: row and pk of the real actor (the root of a chain of impersonations); each
#: release resumes the top entry's row. Earlier builds held one entry, flat.
IMPERSONATOR_KEY = "_sessionmgr_impersonator"


def impersonation_stack(value: Any) -> list[list[Any]]:
    """The stack stored under ``IMPERSONATOR_KEY`` (empty when none or malformed),
    reading the older single ``[row id, pk]`` entry as a stack of one."""
    if not isinstance(value, list) or not value:
        return []
    if len(value) == 2 and not isinstance(value[0], list) and not isinstance(value[1], list):
        value = [value]  # the single-entry format of sessions already in flight
    stack = []
    for entry in value:
        if not isinstance(entry, list) or len(entry) != 2:
            return []
        row_id, pk = entry
        if not (row_id is None or isinstance(row_id, str)) or not isinstance(pk, (str, int)):
            return []
        stack.append([row_id, str(pk)])
    return stack


def session_row_id(request: HttpRequest | None = None) -> str | None:
    """The public id of the ``UserSession`` behind ``request``, if any: the
    one way to ask which row is a request's.

    Without ``request`` (receivers of ``post_save``, a command run from a
    view), it answers for the request being served, through ``current_state``,
    and None once that session ended in the request.
    """
    if request is None:
        state = current_state.get()
        return state.current_row_id() if state is not None else None
    session: SessionBase | None = getattr(request, "session", None)
    marker = read_marker(session) if session is not None else None
    return marker.row_id if marker else None


def stamp(
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
    """When a session stamped at ``written`` ends under the policies in force.

    Activity is recorded at most once per ``ACTIVITY_UPDATE_INTERVAL``, so the
    idle end counts from the last write plus one interval: a session ends
    between ``IDLE_TIMEOUT`` and ``IDLE_TIMEOUT`` + the interval after its
    last request, never sooner.

    The session's own end is ``session.get_expiry_date(modification=written)``,
    worked out in whole seconds without the datetimes when the engine keeps
    Django's own ``get_expiry_date`` and the expiry is a number of seconds (or
    the cookie age): the middleware asks this on every request.
    """
    custom = session.get(EXPIRY_KEY)
    engine = type(session)
    if engine.get_expiry_date is SessionBase.get_expiry_date and (
        custom is None or type(custom) is int
    ):
        age = custom or (
            per_request.SESSION_COOKIE_AGE  # what Django's own method returns
            if engine.get_session_cookie_age is SessionBase.get_session_cookie_age
            else session.get_session_cookie_age()
        )
        ends = written + age
    else:
        modification = datetime.fromtimestamp(written, tz=UTC)
        ends = int(session.get_expiry_date(modification=modification).timestamp())
    if (idle := app_settings.IDLE_TIMEOUT) is not None:
        ends = min(ends, written + idle + app_settings.ACTIVITY_UPDATE_INTERVAL)
    if (absolute := app_settings.ABSOLUTE_TIMEOUT) is not None:
        ends = min(ends, started + absolute)
    return ends


def from_epoch(seconds: int) -> datetime:
    """A datetime the database accepts, aware or naive as ``USE_TZ`` says."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment if settings.USE_TZ else timezone.make_naive(moment)


def expiry_changed(session: SessionBase, marker: Marker) -> bool:
    """Whether the expiry moved since the marker was written (``set_expiry``,
    or a policy setting changed)."""
    if marker.expiry is None or marker.started is None:
        return True
    return effective_expiry(session, marker.written, marker.started) != marker.expiry


@sensitive_variables()
def stored_key(session: SessionBase) -> str:
    """The key to keep on the row, protected as the engine needs (see ``keys``)."""
    if not is_server_side(session) or not session.session_key:
        return ""
    return seal(session.session_key)


@sensitive_variables()
def key_digest(session_key: str) -> str:
    """A keyed digest of a session key: finds the row of a dead cookie, and
    is useless without ``SECRET_KEY``."""
    return salted_hmac("django_sessionmgr.key", session_key, algorithm="sha256").hexdigest()


def _key_digest_of(session: SessionBase) -> str:
    if not is_server_side(session) or not session.session_key:
        return ""
    return key_digest(session.session_key)


def client_digest(request: HttpRequest) -> str:
    """A short digest of the request's address and user agent."""
    meta = getattr(request, "META", None) or {}
    seen = f"{get_client_ip(request)}|{meta.get('HTTP_USER_AGENT', '')}"
    seen = seen.encode("utf-8", "replace").decode()  # hostile headers carry surrogates
    return salted_hmac("django_sessionmgr.client", seen).hexdigest()[:12]


def last_seen(request: HttpRequest) -> dict[str, Any]:
    """Where the session is seen now: written with the activity write only."""
    ip = get_client_ip(request)
    city, country = locate_ip(ip)
    return {
        "last_ip_address": stored_ip(ip),
        "last_location_city": city,
        "last_location_country": country,
    }


def client_changed(request: HttpRequest, row_id: str, previous: dict[str, Any]) -> None:
    """Tell the project that a session is seen from another address or browser."""
    row = UserSession.objects.from_primary().filter(pk=row_id).first()
    if row is None:
        return
    meta = getattr(request, "META", None) or {}
    agent = str(meta.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX_LENGTH]
    if agent != previous["user_agent"]:
        logger.warning(
            "Session %s of user %s changed browser within the session (a sign of a stolen cookie?)",
            row_id,
            row.user_id,
        )
    session_client_changed.send(
        sender=UserSession,
        session=row,
        request=request,
        previous_ip_address=previous["last_ip_address"] or previous["ip_address"],
        previous_user_agent=previous["user_agent"],
    )


@sensitive_variables()
def adopted_row_id(session_key: str) -> str:
    """A stable row id for a session that predates its row.

    Derived from the key with the project's secret, so every replay of one
    pre-install signed cookie maps to the same row, and the id reveals nothing.
    """
    digest = salted_hmac("django_sessionmgr.adopt", session_key, algorithm="sha256").digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _device_fields(request: HttpRequest) -> dict[str, Any]:
    meta = getattr(request, "META", None) or {}
    raw = meta.get("HTTP_USER_AGENT", "")
    user_agent = raw if isinstance(raw, str) else ""
    user_agent = user_agent[:USER_AGENT_MAX_LENGTH]
    if not user_agent.isprintable():  # rare: real user agents are printable
        user_agent = "".join(ch for ch in user_agent if ch.isprintable())
    device = parse_user_agent(user_agent, hints=client_hints(meta))
    ip = get_client_ip(request)
    city, country = locate_ip(ip)
    return {
        "ip_address": stored_ip(ip),
        "user_agent": user_agent,
        "device_browser": device.browser,
        "device_os": device.os,
        "device_family": device.device,
        "device_type": device.type,
        "location_city": city,
        "location_country": country,
    }


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
) -> UserSession:
    now = timezone.now()
    marker, expires_at = stamp(session, row_id, client=client_digest(request), user_pk=user.pk)
    fields = _device_fields(request)
    row = UserSession(
        id=row_id,
        user_id=user.pk,
        session_key=stored_key(session),
        session_key_digest=_key_digest_of(session),
        created_at=now,
        last_activity_at=now,
        expires_at=expires_at,
        last_ip_address=fields["ip_address"],
        last_location_city=fields["location_city"],
        last_location_country=fields["location_country"],
        adopted=adopted,
        **fields,
    )
    insert_row(row)
    session[SESSION_MARKER] = marker
    return row


def start_session(request: HttpRequest, user: AbstractBaseUser) -> UserSession | None:
    """Record a login: reuse the session's row if it has one for this user, else create one.

    A failure to record is logged and never fails the login. The steps, in order:
    note the row a flushed session leaves behind, refuse users our table cannot
    point at, give the session its key, record the row, follow it for the rest
    of the request, and announce a new row.
    """
    session: SessionBase | None = getattr(request, "session", None)
    if session is None:
        return None
    state = request_state(request)
    marker = read_marker(session)
    _note_replaced_row(state, marker)
    if not _trackable(user):
        return None
    _ensure_key(session)
    resume = state.resume if state is not None else None
    failed: tuple[str, UserSession | None] = ("", None)
    try:
        row_id, row = contained(
            partial(_record_row, request, session, user, marker, resume),
            default=failed,
            what="record a login",
        )
    except ReleaseRefused:
        _end_refused_release(request, state)
        return None
    if not row_id:
        session.pop(SESSION_MARKER, None)  # adopted on a later request instead
        return None
    _follow(state, row_id, session)
    if state is not None and not (resume and row_id == resume[-1][0]):
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
    if _is_project_user(user):
        return True
    logger.warning(
        "django-sessionmgr records logins of %s users in the database of its own "
        "table only; a %s signed in untracked",
        settings.AUTH_USER_MODEL,
        type(user).__name__,
    )
    return False


def _record_row(
    request: HttpRequest,
    session: SessionBase,
    user: AbstractBaseUser,
    marker: Marker | None,
    resume: list[list[Any]] | None,
) -> tuple[str, UserSession | None]:
    """The login's row id, and the row when it is new.

    A login inside a session that already has an active row of this user keeps
    that row ("one row per session"). A login of the user on top of the
    impersonation stack the flushed session held is a release, recognised by
    the stack alone: it goes back to that entry's row and puts the rest of the
    stack back in the session, or raises ``ReleaseRefused`` if that row has
    ended (no new row is ever created for it).
    Otherwise a new row is inserted, in the transaction that reads the
    sessions past ``MAX_SESSIONS``; they are revoked on the way out of the
    request (by the middleware, unless the login is an impersonation), or now
    without the middleware.
    """
    if marker is not None and _reuse_row(request, session, marker.row_id, user):
        return marker.row_id, None
    if resume and resume[-1][1] == str(user.pk):
        row_id = resume[-1][0]
        if row_id is None or not _resume_row(request, session, row_id, user):
            raise ReleaseRefused
        if len(resume) > 1:  # back one step of a chain: the rest still to release
            session[IMPERSONATOR_KEY] = resume[:-1]
            state = request_state(request)
            if state is not None and state.replaced_row_id in {entry[0] for entry in resume[:-1]}:
                state.replaced_row_id = None  # a row the rest of the chain goes back to
        return row_id, None
    with login_atomically(user):
        row = _create_row(request, session, user, str(uuid.uuid4()))
        excess = sessions_past_limit(user, str(row.pk))
    state = request_state(request)
    if state is not None:
        state.past_limit = excess  # on the way out, unless it turns out an impersonation
    else:
        revoke_past_limit(excess)
    return str(row.pk), row


class ReleaseRefused(Exception):
    """The release of an impersonation would go back to a row that has ended
    (revoked, say by the staff member's "sign out everywhere"): the session
    ends instead, even for a password sign-in of that user (see docs/security.md)."""


def _resume_row(
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
        state.new_row = (user, row)
    else:
        notify_if_new_device(request, user, row)


def _is_project_user(user: AbstractBaseUser) -> bool:
    """Whether rows can point at ``user``: of the model our foreign key targets,
    and written to the database our table is routed to (a user read from a
    replica of it is one of ours)."""
    target = UserSession._meta.get_field("user").related_model
    return (
        isinstance(user, target) and router.db_for_write(target, instance=user) == _db_for_write()
    )


def adopt_session(request: HttpRequest, user: AbstractBaseUser) -> bool:
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
    if session.session_key is None or not _is_project_user(user):
        return True  # served as stock Django would; it cannot have a row
    row_id = adopted_row_id(session.session_key)
    rows = UserSession.objects.from_primary()
    if not rows.filter(pk=row_id).exists():
        if not is_server_side(session) and _adoption_ended(rows, user):
            return False
        try:
            with login_atomically(user), transaction.atomic(using=rows.db):
                row = _create_row(request, session, user, row_id, adopted=True)
                enforce_session_limit(user, row_id)
        except IntegrityError:
            if not rows.filter(pk=row_id).exists():
                raise  # not a concurrent adoption: a failure of the table itself
        else:
            _follow(request_state(request), row_id, session)
            session_started.send(sender=UserSession, session=row, request=request)
            return True
    created_at = rows.filter(pk=row_id).values_list("created_at", flat=True).first()
    started = int(created_at.timestamp()) if created_at is not None else None
    if not sync_row(session, row_id, activity=True, user=user, request=request, started=started):
        return False
    _follow(request_state(request), row_id, session)
    return True


def _adoption_ended(rows: Any, user: AbstractBaseUser) -> bool:
    """Whether a session of ``user`` adopted without a marker was revoked,
    signed out, or ended by its expiry or a timeout."""
    return bool(rows.filter(user_id=user.pk, adopted=True).finished().exists())


@sensitive_variables()
def sync_row(
    session: SessionBase,
    row_id: str,
    *,
    activity: bool,
    user: AbstractBaseUser | None = None,
    request: HttpRequest | None = None,
    started: int | None = None,
) -> bool:
    """Write the session's key and expiry (and activity) to its row, then
    stamp the session with the same expiry.

    False, writing nothing, when the row is no longer active: ended, claimed
    by a revoke, or past the end the row records or the timeouts set. The
    row decides, not the marker: a replayed cookie (one with no marker, or
    an old one) cannot carry a session past its end.
    """

    client = client_digest(request) if request is not None else None
    marker, expires_at = stamp(
        session,
        row_id,
        client=client,
        user_pk=user.pk if user is not None else None,
        started=started,
    )
    fields: dict[str, Any] = {"expires_at": expires_at}
    if activity:
        fields["last_activity_at"] = timezone.now()
        if request is not None:
            fields.update(last_seen(request))
    if key := stored_key(session):
        fields["session_key"] = key
        fields["session_key_digest"] = _key_digest_of(session)
    # A row claimed by a revoke in progress takes no more writes (``revocation``).
    now = timezone.now()
    rows = UserSession.objects.filter(
        pk=row_id, status=UserSession.Status.ACTIVE, revoke_batch__isnull=True, expires_at__gt=now
    )
    if (absolute := app_settings.ABSOLUTE_TIMEOUT) is not None:
        rows = rows.filter(created_at__gt=now - timedelta(seconds=absolute))
    if user is not None:
        rows = rows.filter(user_id=user.pk)
    if not rows.update(**fields):
        return False
    session[SESSION_MARKER] = marker
    return True


def _follow(state: RequestState | None, row_id: str, session: SessionBase) -> None:
    if state is not None:
        state.row_id, state.known_key, state.ended = row_id, session.session_key, False


def _db_for_write() -> str:
    return router.db_for_write(UserSession)


def end_session_row(row_id: str) -> None:
    if UserSession.objects.filter(pk=row_id, status=UserSession.Status.ACTIVE).update(
        status=UserSession.Status.ENDED, ended_at=timezone.now()
    ):
        record_sign_out_of_row(UserSession.objects.from_primary().filter(pk=row_id))


def end_session(request: HttpRequest) -> None:
    """Record a logout of the request's session."""
    session: SessionBase | None = getattr(request, "session", None)
    marker = read_marker(session) if session is not None else None
    if marker is None:
        return
    end_session_row(marker.row_id)
    state = request_state(request)
    if state is not None:
        state.ended = True


def is_authenticated_session(session: SessionBase) -> bool:
    return SESSION_KEY in session
