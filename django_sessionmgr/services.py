"""What a user or a staff member can do to sessions, once, for every way in.

The HTML pages (``views.py``), both APIs (``api/``), the admin and the
commands are adapters: they find out who acts and which session serves the
request, call one of these, and turn the outcome (or ``CurrentSession``,
``RevokeFailed``) into their own answer. Every revoke ends in
``UserSessionQuerySet.revoke``, the one bulk path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import router
from django.utils.translation import gettext_lazy as _

from .models import RevokeReason, UserSession
from .queries import UserSessionQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

#: The answer to a wrong password where one is asked before signing out
#: other sessions (``REAUTH_FOR_REVOKE_OTHERS``), on the pages and the API.
WRONG_PASSWORD = _("That password is not correct.")
#: What the pages and the admin say when ``RevokeFailed`` reaches them.
STORE_NOT_ANSWERING = _(
    "Signing out failed: the session store is not answering, so nothing "
    "was changed. Please try again in a moment."
)
#: The same, as the API words it (``detail``, with the code ``store_unavailable``).
STORE_NOT_ANSWERING_API = _(
    "The session store is not answering, so nothing was signed out. Try again in a moment."
)


class CurrentSession(Exception):
    """The session asked for is the one making the request: sign out instead."""


def sessions_of(user: AbstractBaseUser) -> UserSessionQuerySet:
    """Every session ``user`` sees as their own, whatever its status."""
    return UserSession.objects.of_owner(user)


def others(sessions: UserSessionQuerySet, current: str | None) -> UserSessionQuerySet:
    """``sessions`` without the one serving the request (``current`` is its row id)."""
    return sessions.sparing(current)


def revoke_one(
    session: UserSession,
    *,
    current: str | None,
    by: AbstractBaseUser | None,
    reason: str = RevokeReason.USER,
) -> bool:
    """Sign out one session, never the one making the request (``current``);
    return whether it was active.

    ``by`` is who acts: the user, the staff member impersonating them, or
    staff. The reason defaults to a user signing out their own session.
    """
    if current is not None and str(session.pk) == current:
        raise CurrentSession
    return session.revoke(by=by, reason=reason)


def own_others(
    sessions: UserSessionQuerySet, *, current: str | None, owner: AbstractBaseUser
) -> UserSessionQuerySet:
    """What "sign out all other sessions" ends: ``sessions`` (the owner's, as
    the pages list them) and, as for every "all sessions of U"
    (``UserSessionQuerySet.signed_in_as_or_by``), every session in which the
    owner is the real actor while impersonating someone; never the current one."""
    everywhere = sessions | UserSession.objects.impersonations_by([owner.pk])
    return others(everywhere.with_impersonations_by([owner.pk]), current)


def revoke_own_others(
    sessions: UserSessionQuerySet,
    *,
    current: str | None,
    by: AbstractBaseUser,
    owner: AbstractBaseUser,
) -> int:
    """A user signs out every session of theirs but this one (``own_others``);
    return how many."""
    return own_others(sessions, current=current, owner=owner).revoke(
        by=by, reason=RevokeReason.USER
    )


def revoke_as_staff(
    sessions: UserSessionQuerySet,
    *,
    current: str | None,
    by: AbstractBaseUser | None,
    reason: str,
) -> tuple[int, bool]:
    """Staff sign out ``sessions``, never the one they act from.

    Returns how many were revoked, and whether the staff member's own active
    session was among ``sessions`` and left out (the answer says so).
    """
    kept_current = current is not None and sessions.filter(pk=current).active().exists()
    return others(sessions, current).revoke(by=by, reason=reason), kept_current


def rename(session: UserSession, name: str) -> None:
    """Give ``session`` the label its owner chose ("" for none: the device's
    name shows instead). Writes only the name, so a revoke or an activity
    write running meanwhile keeps what it wrote; any status may be renamed."""
    using = router.db_for_write(UserSession, instance=session)
    session.name = UserSession.storable_text(name, using)
    UserSession.objects.using(using).filter(pk=session.pk).update(name=session.name)
