"""Keeping a ``UserSession`` row true to its Django session.

The row's id and the time of its last activity write travel inside the
session data (under ``SESSION_MARKER``), which is loaded with the session
anyway. That gives a stable identity across ``cycle_key()`` and lets the
middleware decide whether to write without a query.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from .devices import USER_AGENT_MAX_LENGTH, parse_user_agent
from .network import get_client_ip, locate_ip
from .signals import session_started
from .stores import is_server_side

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest

    from .models import UserSession

#: Session data key holding ``[row id, unix time of the last activity write]``.
SESSION_MARKER = "_sessionmgr"

#: The row of the session serving the current request, so a password change
#: made by that request can spare it. ``NO_ROW`` while the middleware serves a
#: request without one; ``None`` outside the middleware (scripts, ``Client.login``),
#: where no session is "current" and a login must not make one so.
current_session_id: ContextVar[str | None] = ContextVar("sessionmgr_current", default=None)
NO_ROW = ""


@dataclass
class RequestState:
    """What the middleware saw when the request came in."""

    row_id: str | None
    session_key: str | None
    expiry: Any
    ended: bool = False


def read_marker(session: SessionBase) -> tuple[str, int] | None:
    marker = session.get(SESSION_MARKER)
    if (
        isinstance(marker, list)
        and len(marker) == 2
        and isinstance(marker[0], str)
        and isinstance(marker[1], int)
    ):
        return marker[0], marker[1]
    return None


def session_row_id(request: HttpRequest) -> str | None:
    """The public id of the ``UserSession`` behind this request, if any."""
    session: SessionBase | None = getattr(request, "session", None)
    marker = read_marker(session) if session is not None else None
    return marker[0] if marker else None


def write_marker(session: SessionBase, row_id: str, now: int) -> None:
    session[SESSION_MARKER] = [row_id, now]


def stored_key(session: SessionBase) -> str:
    """The key to keep on the row: only engines with a server-side store have one."""
    if not is_server_side(session):
        return ""
    return session.session_key or ""


def _device_fields(request: HttpRequest) -> dict[str, Any]:
    meta = getattr(request, "META", None) or {}
    raw = meta.get("HTTP_USER_AGENT", "")
    user_agent = raw if isinstance(raw, str) else ""
    user_agent = "".join(ch for ch in user_agent[:USER_AGENT_MAX_LENGTH] if ch.isprintable())
    device = parse_user_agent(user_agent)
    ip = get_client_ip(request)
    city, country = locate_ip(ip)
    return {
        "ip_address": ip,
        "user_agent": user_agent,
        "device_browser": device.browser,
        "device_os": device.os,
        "device_family": device.device,
        "device_type": device.type,
        "location_city": city,
        "location_country": country,
    }


def start_session(request: HttpRequest, user: AbstractBaseUser) -> UserSession | None:
    """Record a login: reuse the session's row if it has one for this user, else create one."""
    from .models import UserSession

    session: SessionBase | None = getattr(request, "session", None)
    if session is None:
        return None
    now = timezone.now()
    marker = read_marker(session)
    state: RequestState | None = getattr(request, "_sessionmgr", None)
    if state is not None and state.row_id and (marker is None or marker[0] != state.row_id):
        # The session that came in was flushed to log another user in.
        end_session_row(state.row_id)
    server_side = is_server_side(session)
    if server_side and session.session_key is None:
        # login() flushed the session; give it its key now so the row has it.
        session.save()
    if marker is not None:
        reused = UserSession.objects.filter(
            pk=marker[0], user_id=user.pk, status=UserSession.Status.ACTIVE
        ).update(
            session_key=session.session_key if server_side else "",
            last_activity_at=now,
            expires_at=session.get_expiry_date(),
        )
        if reused:
            write_marker(session, marker[0], int(time.time()))
            if state is not None:
                state.row_id, state.session_key = marker[0], session.session_key
            return None
    row = UserSession.objects.create(
        user_id=user.pk,
        session_key=stored_key(session),
        created_at=now,
        last_activity_at=now,
        expires_at=session.get_expiry_date(),
        **_device_fields(request),
    )
    write_marker(session, str(row.pk), int(time.time()))
    if state is not None:
        state.row_id, state.session_key, state.ended = str(row.pk), session.session_key, False
    if current_session_id.get() is not None:
        current_session_id.set(str(row.pk))
    session_started.send(sender=UserSession, session=row, request=request)
    return row


def end_session_row(row_id: str) -> None:
    from .models import UserSession

    UserSession.objects.filter(pk=row_id, status=UserSession.Status.ACTIVE).update(
        status=UserSession.Status.ENDED, ended_at=timezone.now()
    )


def end_session(request: HttpRequest) -> None:
    """Record a logout of the request's session."""
    session: SessionBase | None = getattr(request, "session", None)
    marker = read_marker(session) if session is not None else None
    if marker is None:
        return
    end_session_row(marker[0])
    state: RequestState | None = getattr(request, "_sessionmgr", None)
    if state is not None:
        state.ended = True


def is_authenticated_session(session: SessionBase) -> bool:
    return SESSION_KEY in session
