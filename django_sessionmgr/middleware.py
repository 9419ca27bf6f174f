"""``UserSessionMiddleware``: keeps each request's ``UserSession`` row true.

It costs nothing until the request reads the user or the session: the user
is wrapped lazily, and the response step looks only at a session that was
accessed. Once the user is read, the session's marker (see ``tracking``)
decides, without a query, whether:

- the session is past the expiry recorded on its row: it is refused, so the
  row never says "expired" about a session that still loads;
- an activity write is due (at most once per ``ACTIVITY_UPDATE_INTERVAL``);
- the engine keeps no server-side store (signed cookies), so the user's
  sign-out mark in the shared cache (see ``signouts``), or else one indexed
  read, tells whether the session was revoked.

On the way out it follows what the request did after loading or logging in
(``cycle_key``, ``set_expiry``, ``update_session_auth_hash``), whatever the
cookie state when the request came in. Under the ``cache`` and ``file``
engines, whose save writes unconditionally, the session's final save is
followed by a check of the row: a revoke that ran while the request was in
flight then deletes what the save wrote, so nothing brings it back.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.db import connections, router
from django.utils.functional import SimpleLazyObject, empty

from .conf import app_settings, per_request
from .models import UserSession, column
from .notices import announce, explain_dead_cookie, explain_refused
from .notifications import notify_if_new_device, remember_device
from .policies import ended_by_policy, revoke_past_limit
from .safety import contained, logger
from .signouts import mark_cache, note_no_mark, read_mark, record_sign_out_of_row, vouches
from .stores import is_server_side
from .tracking import (
    IMPERSONATOR_KEY,
    SESSION_MARKER,
    Marker,
    RequestState,
    adopt_session,
    client_changed,
    client_digest,
    current_state,
    end_session_row,
    expiry_changed,
    impersonation_stack,
    is_authenticated_session,
    read_marker,
    request_state,
    sync_row,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache import BaseCache
    from django.http import HttpRequest, HttpResponseBase

    User = AbstractBaseUser | AnonymousUser

ACTIVE = "active"
CHECK = "check a session's row"
FOLLOW = "record what the request did to its session"

#: ``contained`` in the request's worker thread, built once (not per request).
contained_in_thread = sync_to_async(contained)


@lru_cache(maxsize=8)
def _active_row_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(UserSession._meta.db_table)
    pk, status = quote(column("id")), quote(column("status"))
    batch = quote(column("revoke_batch"))
    return f"SELECT 1 FROM {table} WHERE {pk} = %s AND {status} = %s AND {batch} IS NULL"


def row_is_active(row_id: str) -> bool:
    """Whether the row is active and no revoke has claimed it.

    One primary-key read, from the database the row is written to (a replica
    that lags would still call a revoked row active). Raw SQL: on every
    request of a signed-cookie session, building the ORM query would cost
    more than running it."""
    alias = router.db_for_write(UserSession)
    connection = connections[alias]
    pk = UserSession._meta.pk.get_db_prep_value(uuid.UUID(row_id), connection)
    with connection.cursor() as cursor:
        cursor.execute(_active_row_sql(alias), [pk, ACTIVE])
        return cursor.fetchone() is not None


def expire_row(row_id: str) -> None:
    """The row reads ``expired``. Another copy of the session (an older or a
    newer cookie of it) must not go on being vouched for by its user's
    sign-out mark: the mark is replaced, as for a logout."""
    if UserSession.objects.filter(pk=row_id, status=UserSession.Status.ACTIVE).update(
        status=UserSession.Status.EXPIRED
    ):
        record_sign_out_of_row(UserSession.objects.from_primary().filter(pk=row_id))


def session_alive(marker: Marker, user_pk: Any) -> bool:
    """Whether a session the store cannot end for sure still has an active
    row: from its user's sign-out mark when that vouches for it (see
    ``signouts``), else one primary-key read."""
    cache = mark_cache() if user_pk is not None else None
    missing = False
    if cache is not None:
        try:
            mark = read_mark(cache, user_pk)
        except Exception as error:
            logger.warning(
                "django-sessionmgr could not read a sign-out mark (%s); reading the row",
                type(error).__name__,
            )
        else:
            if vouches(mark, marker.mark):
                return True
            missing = mark is None
    if not row_is_active(marker.row_id):
        return False
    if missing:
        note_no_mark(cast("BaseCache", cache), user_pk)
    return True


def _unwrapped(user: Any) -> Any:
    """The user behind a lazy object of another middleware (evaluating it)."""
    if user.is_authenticated:
        user = getattr(user, "_wrapped", user)
    return user


def _remember_row(session: SessionBase, state: RequestState) -> None:
    """Before a flush: note the row and impersonation stack the loaded data names."""
    state.flushed = True
    if not hasattr(session, "_session_cache"):
        return
    if state.row_id is None:
        marker = read_marker(session)
        state.row_id = marker.row_id if marker else None
    state.resume = impersonation_stack(session.get(IMPERSONATOR_KEY)) or state.resume


def _tracked_flush(flush: Callable[[], None], session: SessionBase, state: RequestState) -> None:
    _remember_row(session, state)
    flush()


async def _tracked_aflush(
    aflush: Callable[[], Awaitable[None]], session: SessionBase, state: RequestState
) -> None:
    _remember_row(session, state)
    await aflush()


def _run_check(state: RequestState, plan: partial[bool]) -> bool:
    """Run a user check's database work, marking the thread that runs it."""
    state.checking = threading.get_ident()
    try:
        return contained(plan, default=True, what=CHECK, writes=_writes(plan))
    finally:
        state.checking = None


#: ``_run_check`` in the request's worker thread, built once.
run_check_in_thread = sync_to_async(_run_check)


def _data(session: SessionBase) -> dict[str, Any]:
    """The session data but the app's marker (already loaded: no I/O)."""
    return {key: value for key, value in session.items() if key != SESSION_MARKER}


def _writes(plan: partial[bool]) -> bool:
    """Whether the plan writes (and so needs a savepoint inside a transaction)."""
    return plan.func is not UserSessionMiddleware._still_active


def _save_can_resurrect(session: SessionBase) -> bool:
    """Whether the engine's save rewrites a deleted session (Django's ``db``
    engine refuses to: its save is an UPDATE that fails on a deleted row)."""
    return is_server_side(session) and not isinstance(session, DBStore)


class UserSessionMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        state = self._begin(request)
        token = current_state.set(state)
        try:
            response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
            if work := self._finish(request, state):
                contained(work, default=None, what=FOLLOW)
            if state.logged_in_user_pk is not None:
                self._after_login(request, state)
                remember_device(request, response)
            return response
        finally:
            current_state.reset(token)

    async def __acall__(self, request: HttpRequest) -> Any:
        state = self._begin(request)
        token = current_state.set(state)
        try:
            response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
            if work := self._finish(request, state):
                await contained_in_thread(work, default=None, what=FOLLOW)
            if state.logged_in_user_pk is not None:
                await sync_to_async(self._after_login)(request, state)
                remember_device(request, response)
            return response
        finally:
            current_state.reset(token)

    @staticmethod
    def _after_login(request: HttpRequest, state: RequestState) -> None:
        """Apply ``MAX_SESSIONS`` and tell about a sign-in from a new device,
        unless staff are impersonating."""
        login, state.new_row = state.new_row, None
        excess, state.past_limit = state.past_limit, None
        session = getattr(request, "session", None)
        if login is None or state.ended or session is None or IMPERSONATOR_KEY in session:
            return
        if excess:
            contained(partial(revoke_past_limit, excess), default=0, what="apply MAX_SESSIONS")
        notify_if_new_device(request, *login)

    def _begin(self, request: HttpRequest) -> RequestState:
        """Wrap ``request.user`` and ``request.auser``; read nothing yet."""
        session: SessionBase | None = getattr(request, "session", None)
        key = session.session_key if session is not None else None
        state = RequestState(key, session)
        request._sessionmgr = state  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if session is None or key is None or user is None:
            return state  # no cookie: nothing to check until a login creates a row
        # Learn the row of a session that ``login()`` or a stale auth hash
        # flushes, from data already loaded, so that row can be ended.
        session.flush = partial(_tracked_flush, session.flush, session, state)  # type: ignore[method-assign]
        session.aflush = partial(_tracked_aflush, session.aflush, session, state)  # type: ignore[method-assign]
        # Django's own lazy user, not read yet, is checked as it loads: no
        # second lazy wrapper to pay for on every attribute read. Its
        # attributes are read past ``LazyObject``'s own attribute lookup.
        attributes = (
            object.__getattribute__(user, "__dict__") if type(user) is SimpleLazyObject else {}
        )
        if attributes.get("_wrapped", None) is empty:
            load = attributes["_setupfunc"]
            attributes["_setupfunc"] = partial(self._checked_user, request, state, load)
        else:
            load = partial(_unwrapped, user)
            request.user = SimpleLazyObject(  # type: ignore[assignment]
                partial(self._checked_user, request, state, load)
            )
        auser = getattr(request, "auser", None)
        if auser is not None:
            request.auser = partial(  # type: ignore[assignment]
                self._achecked_user, request, state, auser, load
            )
        return state

    # The user, checked against the session's row.

    def _checked_user(
        self, request: HttpRequest, state: RequestState, load: Callable[[], Any]
    ) -> User:
        if state.checked_user is not None:
            return state.checked_user  # type: ignore[no-any-return]
        user = load()
        if state.checking is not None and state.checking == threading.get_ident():
            # Read from inside the check's own work (a ``pre_save`` receiver
            # of the row it writes, say): the user as loaded, not a second check.
            return user  # type: ignore[no-any-return]
        plan = self._plan(request, state, user)
        if plan is not None and not _run_check(state, plan):
            return self._refuse(request, state)
        state.checked_user = user
        return user  # type: ignore[no-any-return]

    async def _achecked_user(
        self,
        request: HttpRequest,
        state: RequestState,
        auser: Callable[[], Awaitable[Any]],
        load: Callable[[], Any],
    ) -> User:
        """Stays on the event loop between activity writes: the session loads
        through its async API (``auser()``); only database work (an activity
        write) goes to a thread.

        A signed cookie needs a read on every request (its sign-out mark or its
        row): the user is then loaded the sync way (stock ``get_user``, what
        ``auser()`` does in async) and checked in that same thread hop, rather
        than in stock's hop for the user plus one of ours.
        """
        if state.checked_user is not None:
            return state.checked_user  # type: ignore[no-any-return]
        session: SessionBase = request.session
        if not is_server_side(session) and not hasattr(request, "_acached_user"):
            return await checked_user_in_thread(self, request, state, load)
        user = await auser()
        plan = self._plan(request, state, user)
        if plan is not None and not await run_check_in_thread(state, plan):
            if is_server_side(session):
                await session.aflush()
            else:
                session.flush()  # a signed cookie: nothing to delete, no I/O
            return self._serve_anonymous(request, state)
        state.checked_user = user
        return user  # type: ignore[no-any-return]

    def _plan(self, request: HttpRequest, state: RequestState, user: Any) -> partial[bool] | None:
        """Decide from the session data alone; return the database work, if any.

        The work returns False when the session must be refused.
        """
        session: SessionBase = request.session
        marker = read_marker(session)
        if marker is None:
            if user.is_authenticated and is_authenticated_session(session):
                return partial(adopt_session, request, user)
            if is_server_side(session) and session.session_key is None and not session.keys():
                # The cookie's session is gone from the store: was it ended?
                return partial(explain_dead_cookie, request, state)
            return None
        row_id, last_write, expiry = marker.row_id, marker.written, marker.expiry
        state.row_id, state.marker = row_id, marker
        now = int(time.time())
        if expiry is not None and now >= expiry:
            return partial(self._expire, request, marker)
        interval = app_settings.ACTIVITY_UPDATE_INTERVAL
        due = expiry is None or now - last_write >= interval or expiry - now <= interval
        if due:
            if not session.modified:
                state.before_activity = _data(session)
            return partial(self._activity, request, marker)
        if not is_server_side(session) or (
            isinstance(session, CachedDBStore) and mark_cache() is not None
        ):
            return partial(self._still_active, request, state, marker, user)
        return None

    @staticmethod
    def _activity(request: HttpRequest, marker: Marker) -> bool:
        """The activity write; it also notices a change of address or browser."""
        session: SessionBase = request.session
        previous = None
        if marker.client and marker.client != client_digest(request):
            previous = (
                UserSession.objects.from_primary()
                .filter(pk=marker.row_id)
                .values("last_ip_address", "ip_address", "user_agent")
                .first()
            )
        if not sync_row(session, marker.row_id, activity=True, request=request):
            return False
        if previous is not None:
            client_changed(request, marker.row_id, dict(previous))
        return True

    @staticmethod
    def _still_active(request: HttpRequest, state: RequestState, marker: Marker, user: Any) -> bool:
        if session_alive(marker, user.pk if user.is_authenticated else None):
            return True
        explain_refused(request, state, marker.row_id)
        return False

    @staticmethod
    def _expire(request: HttpRequest, marker: Marker) -> bool:
        """The session reached the end recorded on its row: the row reads
        ``expired``, and the page says why when a policy ended it."""
        expire_row(marker.row_id)
        state = request_state(request)
        if (reason := ended_by_policy(marker)) and state is not None:
            announce(request, state, ("session_expired", reason))
        elif state is not None:
            explain_refused(request, state, marker.row_id)
        return False

    @staticmethod
    def _refuse(request: HttpRequest, state: RequestState) -> AnonymousUser:
        """Serve a revoked, expired or vanished session's request as anonymous."""
        request.session.flush()
        return UserSessionMiddleware._serve_anonymous(request, state)

    @staticmethod
    def _serve_anonymous(request: HttpRequest, state: RequestState) -> AnonymousUser:
        anonymous = AnonymousUser()
        request.user = anonymous

        async def auser() -> AnonymousUser:
            return anonymous

        request.auser = auser
        state.ended = True
        state.checked_user = anonymous
        return anonymous

    # The way out.

    def _finish(self, request: HttpRequest, state: RequestState) -> Callable[[], Any] | None:
        """Follow what the request did to its session; return the database work, if any."""
        session: SessionBase | None = getattr(request, "session", None)
        if state.replaced_row_id is not None:
            # A login replaced the session that came in; no impersonation kept it.
            replaced, state.replaced_row_id = state.replaced_row_id, None
            later = self._finish(request, state)
            return partial(self._end_then, replaced, later)
        if session is None or not session.accessed or state.ended:
            return None
        marker = state.marker
        if (
            marker is None
            or session.modified
            or state.before_activity is not None
            or per_request.SESSION_SAVE_EVERY_REQUEST
        ):
            # Changed since the user check read it, or to be saved: read it again.
            marker = read_marker(session)
            if marker is None:
                if state.row_id is not None:
                    # Flushed without a logout signal (e.g. a stale auth hash).
                    return partial(end_session_row, state.row_id)
                return None
            if _save_can_resurrect(session) and self._will_save(session):
                self._guard_save(session, marker.row_id)
            if self._saves_only_activity(session, state):
                self._tolerate_save(session)
            # Compared, not sealed: sealing the key is for writing it, not for every response.
            if (
                is_server_side(session)
                and session.session_key is not None
                and session.session_key != state.known_key
            ):
                return partial(self._sync_or_flush, session, marker.row_id)
        # Else as the user check left it: only a policy setting can have moved the expiry.
        if expiry_changed(session, marker):
            return partial(self._sync_or_flush, session, marker.row_id)
        return None

    @staticmethod
    def _end_then(row_id: str, later: Callable[[], Any] | None) -> None:
        end_session_row(row_id)
        if later is not None:
            later()

    @staticmethod
    def _sync_or_flush(session: SessionBase, row_id: str) -> None:
        marker = read_marker(session)
        if marker is not None and marker.expiry is not None and time.time() >= marker.expiry:
            # Past its end, though this request never read the user: a key
            # rotation or a new expiry must not stamp the session anew.
            expire_row(row_id)
            session.flush()
            return
        if not sync_row(session, row_id, activity=False):
            # Revoked while this request ran: the key it rotated to would
            # otherwise outlive the revoke.
            session.flush()

    @staticmethod
    def _saves_only_activity(session: SessionBase, state: RequestState) -> bool:
        """Whether the response saves the session only for the app's marker."""
        return (
            state.before_activity is not None
            and is_server_side(session)
            and not per_request.SESSION_SAVE_EVERY_REQUEST
            and _data(session) == state.before_activity
        )

    @staticmethod
    def _tolerate_save(session: SessionBase) -> None:
        """Stock Django would not have saved this session at all: a store that
        fails now must not cost the response. The next request writes again."""
        save = session.save

        def tolerant_save(must_create: bool = False) -> None:
            try:
                save(must_create=must_create)
            except UpdateError:
                raise  # deleted under the request: stock Django answers this itself
            except Exception as error:
                logger.warning(
                    "django-sessionmgr could not save a session's activity (%s); "
                    "the response goes on",
                    type(error).__name__,
                )

        session.save = tolerant_save  # type: ignore[method-assign]

    @staticmethod
    def _will_save(session: SessionBase) -> bool:
        return (
            session.modified or per_request.SESSION_SAVE_EVERY_REQUEST
        ) and not session.is_empty()

    @staticmethod
    def _guard_save(session: SessionBase, row_id: str) -> None:
        """Check the row right after ``SessionMiddleware`` saves the session.

        Any revoke that marked the row before this check finds it revoked here;
        one that marks it after the check deletes the store after this save.
        Either way the revoked session stays gone.
        """
        save = session.save

        def guarded_save(must_create: bool = False) -> None:
            save(must_create=must_create)
            if not contained(
                partial(row_is_active, row_id), default=True, what=CHECK, writes=False
            ):
                session.delete()

        session.save = guarded_save  # type: ignore[method-assign]


#: The sync path's check (the user, then its row) in the request's worker thread.
checked_user_in_thread = sync_to_async(UserSessionMiddleware._checked_user)
