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

from django.contrib.auth import get_user_model
from django.db import transaction

from .markers import read_marker
from .models import UserSession
from .rows import active_and_unclaimed, end_row
from .safety import contained
from .state import (
    IMPERSONATOR_KEY,
    ImpersonationEntry,
    impersonation_stack,
    request_state,
    stored_stack,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest


def start_impersonation(request: HttpRequest, impersonator: AbstractBaseUser) -> None:
    """Mark the session just logged in on ``request`` as started by ``impersonator``.

    The real actor is always the root of a chain: when staff member A,
    impersonating B, goes on to impersonate C, C's row names A, as does the
    session's impersonation stack, so every revoke of A's sessions reaches
    it. A row already marked is never re-marked, and an impersonation of
    oneself (or a ``login()`` that kept the user) changes nothing.
    """
    session = request.session
    marker = read_marker(session)
    if marker is None or str(impersonator.pk) == str(getattr(request.user, "pk", None)):
        return
    state = request_state(request)
    if state is not None and not state.flushed:
        return  # login() kept the same user: no new impersonation
    staff_row = state.replaced_row_id if state is not None else None
    # The stack as it was before login() flushed the session (the middleware
    # keeps it), else the one still in the session data.
    stack = (state.stack_before_flush if state is not None else None) or impersonation_stack(
        session.get(IMPERSONATOR_KEY)
    )
    root = stack[0].user_pk if stack else _marked_by(staff_row) or str(impersonator.pk)
    contained(
        lambda: (
            UserSession.objects.filter(pk=marker.row_id, impersonated_by__isnull=True)
            .exclude(user_id=root)
            .update(impersonated_by=root)
        ),
        default=0,
        what="mark an impersonated session",
    )
    if staff_row is not None and not _still_active(staff_row):
        # The session it came from was revoked while this request ran (a
        # "sign out everywhere" of the staff member): this one ends too.
        end_row(marker.row_id)
        session.flush()
        if state is not None:
            state.replaced_row_id = state.past_limit = state.new_login = None
            state.logged_in_user_pk = None
        return
    if state is not None:
        state.replaced_row_id = None  # the staff member's row waits for the release
        # Invisible to the user's policies and devices: no MAX_SESSIONS revoke,
        # no new-device notice, no device cookie.
        state.past_limit = state.new_login = state.logged_in_user_pk = None
    session[IMPERSONATOR_KEY] = stored_stack(
        [*stack, ImpersonationEntry(staff_row, str(impersonator.pk))]
    )


def _still_active(row_id: str) -> bool:
    """Whether the hijacker's session is active and no revoke has claimed it.

    Read after this session was marked, with a lock on that row: a revoke of
    all the staff member's sessions claims it before their impersonations.
    So either it claimed it first (this read waits for that revoke to commit,
    then sees the claim), or its claim waits for this request's transaction,
    and then finds this session marked. A failure to read counts as revoked.
    """

    def locked_read() -> bool:
        rows = UserSession.objects.from_primary()
        with transaction.atomic(using=rows.db):
            active = rows.select_for_update().filter(active_and_unclaimed(), pk=row_id)
            return bool(list(active.values_list("pk", flat=True)))

    return contained(locked_read, default=False, what="check an impersonation's staff session")


def _marked_by(row_id: str | None) -> str | None:
    """The real actor recorded on the row a hijacker was using, if it is an impersonation."""
    if row_id is None:
        return None
    pk = contained(
        lambda: (
            UserSession.objects.filter(pk=row_id).values_list("impersonated_by", flat=True).first()
        ),
        default=None,
        what="read an impersonation",
        writes=False,
    )
    return str(pk) if pk is not None else None


def acting_user(request: HttpRequest) -> Any:
    """The user who really acts on ``request``: while impersonating, the root
    of the chain (the bottom entry of the session's impersonation stack)."""
    user = request.user
    session = getattr(request, "session", None)
    stack = impersonation_stack(session.get(IMPERSONATOR_KEY)) if session is not None else []
    if not stack:
        return user
    model = get_user_model()
    return model._default_manager.filter(pk=stack[0].user_pk).first() or user


def hijack_started(sender: Any, hijacker: Any, hijacked: Any, request: Any, **kwargs: Any) -> None:
    start_impersonation(request, hijacker)
