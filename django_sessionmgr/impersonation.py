"""Staff acting as a user: django-hijack out of the box, any other package
through two calls.

When staff sign in as a user, the session's new row is marked as started by
them, and their own row is not ended: it waits, and the session returns to it
when they stop. Whatever is done while impersonating is recorded as done by
the real staff member. For a package other than django-hijack::

    from django_sessionmgr.impersonation import start_impersonation

    login(request, user)                      # the package signs staff in as the user
    start_impersonation(request, staff_user)  # right after, in the same request

and on the way back the package's own ``login(request, staff_user)`` is enough.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import UserSession
from .safety import contained
from .tracking import IMPERSONATOR_KEY, read_marker, request_state

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest


def start_impersonation(request: HttpRequest, impersonator: AbstractBaseUser) -> None:
    """Mark the session just logged in on ``request`` as started by ``impersonator``."""
    session = request.session
    marker = read_marker(session)
    if marker is None:
        return
    contained(
        lambda: UserSession.objects.filter(pk=marker.row_id).update(impersonated_by=impersonator),
        default=0,
        what="mark an impersonated session",
    )
    state = request_state(request)
    staff_row = state.replaced_row_id if state is not None else None
    if state is not None:
        state.replaced_row_id = None  # the staff member's row waits for the release
        # Invisible to the user's policies and devices: no MAX_SESSIONS revoke,
        # no new-device notice, no device cookie.
        state.past_limit = state.new_row = state.logged_in_user_pk = None
    session[IMPERSONATOR_KEY] = [staff_row, str(impersonator.pk)]


def acting_user(request: HttpRequest) -> Any:
    """The user who really acts on ``request``: the staff member while impersonating."""
    from django.contrib.auth import get_user_model

    user = request.user
    session = getattr(request, "session", None)
    entry = session.get(IMPERSONATOR_KEY) if session is not None else None
    if not isinstance(entry, list) or len(entry) != 2:
        return user
    model = get_user_model()
    return model._default_manager.filter(pk=entry[1]).first() or user


def hijack_started(sender: Any, hijacker: Any, hijacked: Any, request: Any, **kwargs: Any) -> None:
    start_impersonation(request, hijacker)
