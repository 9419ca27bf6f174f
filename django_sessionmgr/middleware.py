"""``UserSessionMiddleware``: keeps each request's ``UserSession`` row true.

Per authenticated request it:

- refuses revoked sessions on engines with no server-side store (signed
  cookies) with one indexed read; server-side stores are deleted on revoke,
  so those sessions arrive here already anonymous;
- writes ``last_activity_at`` at most once per ``ACTIVITY_UPDATE_INTERVAL``,
  deciding from the marker in the session data (no query in between);
- follows key rotation (``cycle_key``, ``update_session_auth_hash``) and
  expiry changes (``set_expiry``) made while serving the request;
- adopts an authenticated session that has no row yet.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.db import connections, router
from django.utils import timezone

from .conf import app_settings
from .stores import is_server_side
from .tracking import (
    NO_ROW,
    RequestState,
    current_session_id,
    end_session_row,
    is_authenticated_session,
    read_marker,
    start_session,
    stored_key,
    write_marker,
)

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest, HttpResponseBase

EXPIRY_KEY = "_session_expiry"
#: Row statuses a session that still loads may have.
LIVE_STATUSES = ("active", "expired")


@lru_cache(maxsize=8)
def _live_row_sql(alias: str) -> str:
    from .models import UserSession

    quote = connections[alias].ops.quote_name
    table, pk, status = quote(UserSession._meta.db_table), quote("id"), quote("status")
    return f"SELECT 1 FROM {table} WHERE {pk} = %s AND {status} IN (%s, %s)"


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
        # Scope the current row to this request (a login without a session
        # cookie included), so it never leaks into the thread's next request.
        token = current_session_id.set(NO_ROW)
        try:
            if not self._has_session(request):
                return self.get_response(request)
            self.process_request(request)
            response = cast("HttpResponseBase", self.get_response(request))
            self.process_response(request, response)
            return response
        finally:
            current_session_id.reset(token)

    async def __acall__(self, request: HttpRequest) -> Any:
        token = current_session_id.set(NO_ROW)
        try:
            if not self._has_session(request):
                return await cast("Awaitable[HttpResponseBase]", self.get_response(request))
            await sync_to_async(self.process_request)(request)
            response = await cast("Awaitable[HttpResponseBase]", self.get_response(request))
            await sync_to_async(self.process_response)(request, response)
            return response
        finally:
            current_session_id.reset(token)

    @staticmethod
    def _has_session(request: HttpRequest) -> bool:
        """Anonymous visitors without a session cookie cost nothing."""
        session = getattr(request, "session", None)
        return session is not None and session.session_key is not None

    def process_request(self, request: HttpRequest) -> None:
        session: SessionBase = request.session
        marker = read_marker(session)
        state = RequestState(
            row_id=marker[0] if marker else None,
            session_key=session.session_key,
            expiry=session.get(EXPIRY_KEY),
        )
        request._sessionmgr = state  # type: ignore[attr-defined]
        if marker is None:
            if is_authenticated_session(session) and request.user.is_authenticated:
                start_session(request, request.user)  # adopt a session from before install
            return
        row_id, last_write = marker
        current_session_id.set(row_id)
        now = int(time.time())
        due = now - last_write >= app_settings.ACTIVITY_UPDATE_INTERVAL
        if due:
            alive = self._record_activity(session, row_id)
            if alive:
                write_marker(session, row_id, now)
        elif not is_server_side(session):
            alive = self._is_active(row_id)
        else:
            return
        if not alive:
            self._refuse(request, state)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> None:
        state: RequestState | None = getattr(request, "_sessionmgr", None)
        if state is None or state.row_id is None or state.ended:
            return
        session: SessionBase = request.session
        marker = read_marker(session)
        if marker is None:
            # Flushed without a logout signal (e.g. a stale auth hash).
            end_session_row(state.row_id)
            return
        key_changed = stored_key(session) not in ("", state.session_key)
        if key_changed or session.get(EXPIRY_KEY) != state.expiry:
            alive = self._record_activity(session, marker[0], activity=False)
            if not alive:
                # Revoked while this request ran: the key it rotated to would
                # otherwise outlive the revoke until the next activity write.
                session.flush()

    @staticmethod
    def _record_activity(session: SessionBase, row_id: str, activity: bool = True) -> bool:
        """Sync the row with the session; False when the row is no longer active."""
        from .models import UserSession

        # A session that still loads is alive, even if a cleanup already
        # guessed "expired" from a lagging expires_at: bring it back.
        fields: dict[str, Any] = {
            "expires_at": session.get_expiry_date(),
            "status": UserSession.Status.ACTIVE,
        }
        if activity:
            fields["last_activity_at"] = timezone.now()
        if key := stored_key(session):
            fields["session_key"] = key
        updated = UserSession.objects.filter(pk=row_id, status__in=LIVE_STATUSES).update(**fields)
        return bool(updated)

    @staticmethod
    def _is_active(row_id: str) -> bool:
        """One primary-key read. Raw SQL: on every request of a signed-cookie
        session, building the ORM query would cost more than running it."""
        from .models import UserSession

        alias = router.db_for_read(UserSession)
        connection = connections[alias]
        pk = UserSession._meta.pk.get_db_prep_value(uuid.UUID(row_id), connection)
        with connection.cursor() as cursor:
            cursor.execute(_live_row_sql(alias), [pk, *LIVE_STATUSES])
            return cursor.fetchone() is not None

    @staticmethod
    def _refuse(request: HttpRequest, state: RequestState) -> None:
        """Serve a revoked (or vanished) session's request as anonymous."""
        request.session.flush()
        request.user = AnonymousUser()

        async def anonymous() -> AnonymousUser:
            return AnonymousUser()

        request.auser = anonymous
        state.ended = True
        current_session_id.set(NO_ROW)
