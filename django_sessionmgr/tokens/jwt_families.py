"""simplejwt's refresh tokens by family: a token's family id (the claim
``sessionmgr_sid``), the family's live refresh tokens in simplejwt's
``OutstandingToken``, and their blacklisting, which is what a revoke does to a
``jwt`` row (its clear step, and the sweep of families no row records)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import jwt as pyjwt
from django.db import router
from django.db.models import QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from ..batches import batched
from ..models import UserSession
from .lookup import token_digests, unrecorded
from .vouching import replace_marks

#: The claim naming a token's family.
SID_CLAIM = "sessionmgr_sid"
#: Namespace of the family ids of refresh tokens from before the install.
LEGACY_FAMILIES = uuid.UUID("5d0c1b8e-3f0a-4a55-9d2c-7f3e8a61b2c4")
KIND = UserSession.Kind.JWT
#: Users whose outstanding tokens one query of the clearer reads.
USERS_AT_ONCE = 500


@sensitive_variables()
def family_of(encoded: str) -> dict[str, Any]:
    """The claims of a token simplejwt has just verified or made, or stored:
    read again without a second signature check or blacklist query."""
    claims: dict[str, Any] = pyjwt.decode(encoded, options={"verify_signature": False})
    return claims


def family_id(claims: dict[str, Any]) -> str | None:
    """The family of a token's claims: its ``sessionmgr_sid``; for a refresh
    token from before the install, an id derived from its ``jti`` (so its
    row, its later tokens and ``sessionmgr_adopt_tokens`` agree); None for
    an access token from before the install."""
    sid = claims.get(SID_CLAIM)
    if isinstance(sid, str):
        return sid
    jti = claims.get(api_settings.JTI_CLAIM)
    if claims.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh" or not isinstance(jti, str):
        return None
    return uuid.uuid5(LEGACY_FAMILIES, jti).hex


def clear_families(rows: QuerySet[UserSession]) -> None:
    """The revoke's clear step for ``jwt`` rows: every outstanding refresh
    token of their families blacklisted (simplejwt's own views refuse them),
    then their users' sign-out marks replaced (their access tokens are refused
    at once by ``SessionmgrJWTAuthentication``). Raises on failure.

    When a row's family is not found among its user's live refresh tokens,
    its digest was written under a ``SECRET_KEY`` since dropped from
    ``SECRET_KEY_FALLBACKS`` (or its tokens have expired): the revoke fails
    closed, and the users' families that no active row records are
    blacklisted too, that one among them."""
    families: dict[Any, set[str]] = {}
    for user_id, digest in rows.order_by().values_list("user_id", "token_digest"):
        families.setdefault(user_id, set()).add(digest)
    for users in batched(list(families), USERS_AT_ONCE):
        wanted = set().union(*(families[user] for user in users))
        if wanted - blacklist(wanted, users):
            sweep_families(users)
    replace_marks(families, using=rows.db)


@sensitive_variables()
def blacklist(digests: set[str], users: list[Any]) -> set[str]:
    """Blacklist the live, not yet blacklisted refresh tokens of ``users``
    whose family digest is among ``digests`` (the family is read from the
    token simplejwt stored; its digest is never compared outside this);
    return the digests found."""
    found: set[str] = set()
    family = []
    for pk, encoded in _live_tokens(users).values_list("pk", "token").iterator():
        if (sid := _sid_of(encoded)) is not None and (
            matched := digests.intersection(token_digests(KIND, sid))
        ):
            found |= matched
            family.append(pk)
    _blacklist(family)
    return found


def _blacklist(token_pks: list[Any]) -> None:
    """simplejwt's blacklist entries for these outstanding tokens (those
    already blacklisted are left as they are)."""
    BlacklistedToken._default_manager.bulk_create(
        (BlacklistedToken(token_id=pk) for pk in token_pks),
        batch_size=BLACKLIST_AT_ONCE,
        ignore_conflicts=True,
    )


#: Blacklist entries one INSERT writes.
BLACKLIST_AT_ONCE = 500


def _live_tokens(users: Any) -> QuerySet[OutstandingToken]:
    """The refresh tokens of ``users`` (None: everyone's) that simplejwt would
    still refresh: unexpired and not blacklisted."""
    live = OutstandingToken._default_manager.order_by().filter(
        user__isnull=False, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    return live if users is None else live.filter(user_id__in=users)


@sensitive_variables()
def refreshable(sid: str, user_pk: Any) -> bool:
    """Whether simplejwt would still refresh a token of the family ``sid``
    of the user ``user_pk``: an access token of a family with no row is
    served (and adopted) only then, never after its family was stopped."""
    tokens = _live_tokens([user_pk]).values_list("token", flat=True)
    return any(_sid_of(encoded) == sid for encoded in tokens.iterator())


@sensitive_variables()
def sweep_families(users: Any) -> None:
    """The sweeper: blacklist the live refresh tokens of ``users`` (None:
    everyone's) whose family no active row records (from before the install
    and unused since, say), then their users' sign-out marks replaced."""
    outstanding = _live_tokens(users)
    owners: dict[Any, Any] = {}

    def families() -> Iterator[tuple[Any, str]]:
        for pk, user_id, encoded in outstanding.values_list("pk", "user_id", "token").iterator():
            if (sid := _sid_of(encoded)) is not None:
                owners[pk] = user_id
                yield pk, sid

    doomed = unrecorded(KIND, families())
    _blacklist(doomed)
    if doomed:
        replace_marks({owners[pk] for pk in doomed}, using=router.db_for_write(UserSession))


def _sid_of(encoded: str) -> str | None:
    try:
        return family_id(family_of(encoded))
    except pyjwt.PyJWTError:
        return None


def existing_tokens() -> Iterator[tuple[Any, str, datetime | None]]:
    """One (user pk, family id, expiry) per family among the live, not
    blacklisted refresh tokens simplejwt keeps, for ``sessionmgr_adopt_tokens``.
    Read user by user, latest first: one user's families in memory at a time."""
    outstanding = (
        _live_tokens(None)
        .order_by("user_id", "-expires_at")
        .values_list("user_id", "token", "expires_at")
    )
    user: Any = None
    seen: set[str] = set()
    for user_pk, encoded, expires_at in outstanding.iterator():
        if user_pk != user:
            user, seen = user_pk, set()
        if (sid := _sid_of(encoded)) is not None and sid not in seen:
            seen.add(sid)
            yield user_pk, sid, expires_at
