"""django-allauth headless: an app client's login is a Django session whose key
is the ``X-Session-Token``, so it has its row like a browser's.

- ``app_login``: whether a login is served by one of allauth's app-client
  views. allauth's ``app_view`` decorator marks the request
  (``request.allauth.headless.client == "app"``) before the view runs, for
  every app-client view (password, code, MFA, provider-token logins and
  signups), whatever the URL they are mounted at, and whether or not the
  request carries a token yet. The login's row is then ``app_session``.
- ``SessionTokenStrategy`` (``HEADLESS_TOKEN_STRATEGY``): allauth's own
  session-token strategy that, when an app's request brings its token, gives
  that session the checks a browser's request gets from the middleware: a
  session past the end recorded on its row is refused and its row reads
  ``expired``; activity is written at most once per
  ``ACTIVITY_UPDATE_INTERVAL``; a session whose row is over is refused where
  the store cannot say so (``cached_db`` under a sign-out mark cache). A
  refused session is deleted from the store and allauth answers as it does
  for an unknown token. A served session is the request's current one
  (``current_state``), so the app's own password change spares it; when its
  key rotates (a password change cycles it) and allauth hands the app its
  new token, the row follows the new key. A save of it that lands after a
  revoke deleted it is deleted again, as a browser's is.

A revoke, a password change from elsewhere and ``logout`` need nothing of
their own here: they end the row and delete the session from the store like
a browser's.
"""

from __future__ import annotations

import secrets
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from allauth.core import context as allauth_context
from allauth.headless.tokens.strategies.sessions import (
    SessionTokenStrategy as AllauthSessionTokenStrategy,
)
from django.contrib.auth import SESSION_KEY, get_user
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from ..conf import app_settings
from ..internals import replace_session_method
from ..markers import Marker, read_marker
from ..models import UserSession
from ..rows import end_row, record_activity, session_alive, sync_row
from ..safety import contained, logger
from ..saves import guard_save, save_can_resurrect
from ..signouts import mark_cache
from ..state import RequestState, current_state
from ..stores import is_server_side
from ..tracking import adopt_session

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest

KIND = UserSession.Kind.APP_SESSION
#: allauth's ``Client.APP`` (a ``str`` enum), as the app-client views mark the request.
APP_CLIENT = "app"
#: The header allauth's authentication classes read the token from.
TOKEN_HEADER = "X-Session-Token"

#: The token the request being served brought, and that request: allauth asks
#: the strategy for the token (with the request), then for its session (without).
_asking: ContextVar[tuple[str, weakref.ref[HttpRequest]] | None] = ContextVar(
    "sessionmgr_headless_asking", default=None
)


def app_login(request: HttpRequest) -> bool:
    """Whether the request is served by one of allauth headless' app-client views."""
    allauth = getattr(request, "allauth", None)
    headless = getattr(allauth, "headless", None)
    return getattr(headless, "client", None) == APP_CLIENT


class SessionTokenStrategy(AllauthSessionTokenStrategy):
    """allauth's ``SessionTokenStrategy``, checking the session behind an
    ``X-Session-Token`` as the middleware checks a browser's."""

    def get_session_token(self, request: HttpRequest) -> str | None:
        token: str | None = super().get_session_token(request)
        _asking.set((token, weakref.ref(request)) if token else None)
        return token

    def lookup_session(self, session_token: str) -> SessionBase | None:
        asking = _asking.get()
        _asking.set(None)
        session: SessionBase | None = super().lookup_session(session_token)
        if session is None:
            return None
        request = _request_bringing(session_token, asking)
        if not contained(
            lambda: may_go_on(request, session), default=True, what="check an app's session"
        ):
            session.delete()
            return None  # allauth's answer to an unknown token
        if (marker := read_marker(session)) is not None:
            _guard_save(session, marker.row_id)
        if request is not None and current_state.get() is not None:
            # The session serving the rest of the request, for receivers that
            # get none (a password change spares it); the middleware resets it.
            current_state.set(RequestState(session.session_key, session))
        return session

    def create_session_token(self, request: HttpRequest) -> str:
        """The token allauth hands the app when its session changed: after a
        key rotation (a password change cycles it), the row follows the new key,
        so that a revoke still reaches the session."""
        token: str = super().create_session_token(request)
        brought = super().get_session_token(request)
        marker = read_marker(request.session)
        if brought and token != brought and marker is not None:
            session = request.session
            if not contained(
                lambda: sync_row(session, marker.row_id, activity=False),
                default=True,
                what="follow an app's session key",
            ):
                session.delete()  # revoked while this request ran
        return token


def _guard_save(session: SessionBase, row_id: str) -> None:
    """allauth saves the app's session after its view: one a revoke deleted
    meanwhile stays deleted. ``cache`` and ``file`` would write it back (the
    save is followed by a check of the row); ``db`` refuses the save
    (``UpdateError``), which allauth would answer with a 500."""
    if save_can_resurrect(session):
        guard_save(session, row_id)
    save = session.save

    def save_unless_deleted(must_create: bool = False) -> None:
        try:
            save(must_create=must_create)
        except UpdateError:
            logger.info("An app's session was deleted while its request ran: it stays signed out")

    replace_session_method(session, "save", save_unless_deleted)


def _request_bringing(
    session_token: str, asking: tuple[str, weakref.ref[HttpRequest]] | None
) -> HttpRequest | None:
    """The request that brought ``session_token``: the one that asked the
    strategy for it (allauth's own views); else the request allauth's
    middleware is serving, when its header holds that token (allauth's DRF and
    Ninja authentication classes read the header themselves)."""
    if asking is not None and asking[0] == session_token:
        return asking[1]()
    request: HttpRequest | None = allauth_context.request
    brought = request.headers.get(TOKEN_HEADER) if request is not None else None
    if brought and secrets.compare_digest(brought, session_token):
        return request
    return None


def may_go_on(request: HttpRequest | None, session: SessionBase) -> bool:
    """Whether an app's session may be served (writing its activity when due).

    Decided from the marker without a query, as for a browser. A signed-in
    session without a marker (from before the install) gets its row, as the
    middleware gives a browser's. Without the request (a lookup outside
    allauth's own views and classes), no activity is written.
    """
    marker = read_marker(session)
    if marker is None:
        return request is None or _adopt(request, session)
    now = int(time.time())
    if marker.expiry is not None and now >= marker.expiry:
        end_row(marker.row_id, UserSession.Status.EXPIRED)
        return False
    if request is not None and _activity_due(marker, now):
        with _serving(request, session):
            return record_activity(request, marker)
    if not is_server_side(session) or (
        isinstance(session, CachedDBStore) and mark_cache() is not None
    ):
        return session_alive(marker, session.get(SESSION_KEY))
    return True


def _adopt(request: HttpRequest, session: SessionBase) -> bool:
    """An app's session without a marker: its ``app_session`` row now, under
    the same rules as a browser's (``tracking.adopt_session``); False when it
    must be refused (its row was ended)."""
    if session.get(SESSION_KEY) is None:
        return True  # not signed in: nothing to record
    with _serving(request, session):
        user = get_user(request)  # checks the session's auth hash, as allauth will
        if not user.is_authenticated:
            return True  # allauth answers as it would
        if not adopt_session(request, user, kind=KIND):
            return False
    # Saved now, whoever serves the rest of the request: its next request
    # finds the marker without a query.
    session.save()
    return True


def _activity_due(marker: Marker, now: int) -> bool:
    interval = app_settings.ACTIVITY_UPDATE_INTERVAL
    expiry = marker.expiry
    return expiry is None or now - marker.written >= interval or expiry - now <= interval


@contextmanager
def _serving(request: HttpRequest, session: SessionBase) -> Iterator[None]:
    """``request.session`` is the app's session for the activity write, as
    allauth makes it right after the lookup."""
    own: Any = request.session
    request.session = session
    try:
        yield
    finally:
        request.session = own
