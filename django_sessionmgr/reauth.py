"""Re-authentication before "sign out all other sessions" (OWASP ASVS 3.7.1).

With ``SESSIONMGR["REAUTH_FOR_REVOKE_OTHERS"] = N``, a user who signed in (or
re-entered the password) more than ``N`` seconds ago, in the session making
the request, must enter the password first: someone holding a stolen cookie
cannot sign the owner out everywhere else and keep the account. The page asks
in its form; the API answers 403 ``{"code": "reauthentication_required"}``
until the request's JSON body carries ``"password"``.

The password is checked through ``authenticate()``, so the project's backends
and their lockouts (django-axes) and ``user_login_failed`` apply: the form is
no better a guessing oracle than the login page.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.contrib.auth import authenticate

from .conf import app_settings
from .markers import read_marker

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

#: Session data key: unix time the password was last re-entered here.
REAUTH_KEY = "_sessionmgr_reauth"


def authenticated_at(request: HttpRequest) -> int | None:
    """When the password was last proven in the request's session: its sign-in
    (the marker's login time) or a later re-authentication."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    marker = read_marker(session)
    proven = [marker.started] if marker is not None and marker.started is not None else []
    again = session.get(REAUTH_KEY)
    if isinstance(again, int) and not isinstance(again, bool):
        proven.append(again)
    return max(proven, default=None)


def password_needed(request: HttpRequest, *, by_session: bool = True) -> bool:
    """Whether "sign out all others" must ask for the password first.

    ``by_session`` is False when the session did not authenticate the request
    (an API token): its login time then says nothing about this request.
    """
    window = app_settings.REAUTH_FOR_REVOKE_OTHERS
    if window is None:
        return False
    proven = authenticated_at(request) if by_session else None
    return proven is None or time.time() - proven > window


def confirm_password(request: HttpRequest, user: AbstractBaseUser, password: Any) -> bool:
    """Whether ``password`` is ``user``'s; remembered in the session when it is."""
    if not isinstance(password, str) or not password:
        return False
    found = authenticate(request, username=user.get_username(), password=password)
    if found is None or found.pk != user.pk:
        return False
    session = getattr(request, "session", None)
    if session is not None:
        session[REAUTH_KEY] = int(time.time())
    return True
