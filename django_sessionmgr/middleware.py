"""``UserSessionMiddleware``: keeps each request's ``UserSession`` row true.

It costs nothing until the request reads the user or the session: the user
is wrapped lazily, and the response step looks only at a session that was
accessed. Once the user is read, it is checked against the session's row
(see ``usercheck``); a session that may not go on is served as anonymous.

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
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject

from .conf import django_settings
from .devices import warm_up
from .internals import (
    auser_has_loaded,
    replace_session_method,
    session_data_loaded,
    unwrap_lazy,
    wrap_lazy_loader,
)
from .markers import expiry_changed, read_marker
from .models import UserSession
from .notifications import notify_if_new_device, remember_device
from .policies import revoke_past_limit
from .rows import end_row, sync_row
from .safety import contained
from .saves import guard_save, save_can_resurrect, saves_only_activity, tolerate_save, will_save
from .state import (
    IMPERSONATOR_KEY,
    RequestState,
    current_state,
    impersonation_stack,
)
from .stores import is_server_side
from .usercheck import plan_check, run_check, run_check_in_thread

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest, HttpResponseBase

    User = AbstractBaseUser | AnonymousUser

FOLLOW = "record what the request did to its session"

#: ``contained`` in the request's worker thread, built once (not per request).
contained_in_thread = sync_to_async(contained)


def _unwrapped(user: Any) -> Any:
    """The user behind a lazy object of another middleware (evaluating it)."""
    if user.is_authenticated:
        user = unwrap_lazy(user)
    return user


def _remember_row(session: SessionBase, state: RequestState) -> None:
    """Before a flush: note the row and impersonation stack the loaded data names."""
    state.flushed = True
    if not session_data_loaded(session):
        return
    if state.row_id is None:
        marker = read_marker(session)
        state.row_id = marker.row_id if marker else None
    state.stack_before_flush = (
        impersonation_stack(session.get(IMPERSONATOR_KEY)) or state.stack_before_flush
    )


def _tracked_flush(flush: Callable[[], None], session: SessionBase, state: RequestState) -> None:
    _remember_row(session, state)
    flush()


async def _tracked_aflush(
    aflush: Callable[[], Awaitable[None]], session: SessionBase, state: RequestState
) -> None:
    _remember_row(session, state)
    await aflush()


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
        login, state.new_login = state.new_login, None
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
            warm_up()  # a login form or a login, maybe: have the user-agent resolver ready
            return state  # no cookie: nothing to check until a login creates a row
        # Learn the row of a session that ``login()`` or a stale auth hash
        # flushes, from data already loaded, so that row can be ended.
        replace_session_method(
            session, "flush", partial(_tracked_flush, session.flush, session, state)
        )
        replace_session_method(
            session, "aflush", partial(_tracked_aflush, session.aflush, session, state)
        )
        # Django's own lazy user, not read yet, is checked as it loads: no
        # second lazy wrapper to pay for on every attribute read.
        load = wrap_lazy_loader(
            user, lambda own_load: partial(self._checked_user, request, state, own_load)
        )
        if load is None:
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
        if request.session is not state.session:
            served: User = load()  # a view serves another session: see ``request_state``
            return served
        if state.checked_user is not None:
            return state.checked_user
        user = load()
        if state.checking is not None and state.checking == threading.get_ident():
            # Read from inside the check's own work (a ``pre_save`` receiver
            # of the row it writes, say): the user as loaded, not a second check.
            return user  # type: ignore[no-any-return]
        work = plan_check(request, state, user)
        if work is not None and not run_check(state, work):
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
        if request.session is not state.session:
            served: User = await auser()  # a view serves another session: see ``request_state``
            return served
        if state.checked_user is not None:
            return state.checked_user
        session: SessionBase = request.session
        if not is_server_side(session) and not auser_has_loaded(request):
            return await checked_user_in_thread(self, request, state, load)
        user = await auser()
        work = plan_check(request, state, user)
        if work is not None and not await run_check_in_thread(state, work):
            if is_server_side(session):
                await session.aflush()
            else:
                session.flush()  # a signed cookie: nothing to delete, no I/O
            return self._serve_anonymous(request, state)
        state.checked_user = user
        return user  # type: ignore[no-any-return]

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
            return partial(_end_then, replaced, later)
        if session is None or not session.accessed or state.ended:
            return None
        marker = state.marker
        if (
            marker is None
            or session.modified
            or state.before_activity is not None
            or django_settings.SESSION_SAVE_EVERY_REQUEST
        ):
            # Changed since the user check read it, or to be saved: read it again.
            marker = read_marker(session)
            if marker is None:
                if state.row_id is not None:
                    # Flushed without a logout signal (e.g. a stale auth hash).
                    return partial(end_row, state.row_id)
                return None
            if save_can_resurrect(session) and will_save(session):
                guard_save(session, marker.row_id)
            if saves_only_activity(session, state):
                tolerate_save(session)
            # Compared, not sealed: sealing the key is for writing it, not for every response.
            if (
                is_server_side(session)
                and session.session_key is not None
                and session.session_key != state.known_key
            ):
                return partial(_sync_or_flush, session, marker.row_id, rotated=True)
        # Else as the user check left it: only a policy setting can have moved the expiry.
        if expiry_changed(session, marker):
            return partial(_sync_or_flush, session, marker.row_id, rotated=False)
        return None


#: The sync path's check (the user, then its row) in the request's worker thread.
checked_user_in_thread = sync_to_async(UserSessionMiddleware._checked_user)


# The way out: following the session once the view has run.


def _end_then(row_id: str, later: Callable[[], Any] | None) -> None:
    end_row(row_id)
    if later is not None:
        later()


def _sync_or_flush(session: SessionBase, row_id: str, *, rotated: bool) -> None:
    """Write the session's new key (``rotated``) or expiry to its row; flush
    the session when the row no longer lets it go on."""
    marker = read_marker(session)
    if marker is not None and marker.expiry is not None and time.time() >= marker.expiry:
        # Past its end, though this request never read the user: a key
        # rotation or a new expiry must not write the session a new marker.
        end_row(row_id, UserSession.Status.EXPIRED)
        session.flush()
        return
    # A new key the row could not learn (the database failed) is out of every
    # revoke's reach: it fails closed. A new expiry alone goes on without.
    sync = partial(sync_row, session, row_id, activity=False)
    if not contained(sync, default=not rotated, what="record a session's new key"):
        # Revoked while this request ran: the key it rotated to would
        # otherwise outlive the revoke.
        session.flush()
