"""djangorestframework-simplejwt with its ``token_blacklist``: one row per
refresh-token family.

A family starts at a login through simplejwt's ``TokenObtainPairView``: its
refresh token carries the claim ``sessionmgr_sid``, a random id of the family
that rotation keeps (simplejwt re-signs the same payload with a new ``jti``)
and that simplejwt copies into every access token. The row finds its family
through ``token_digest("jwt", sid)``. Everything hooks in through simplejwt's
own settings (``TOKEN_OBTAIN_SERIALIZER``, ``TOKEN_REFRESH_SERIALIZER``,
``TOKEN_BLACKLIST_SERIALIZER``, DRF's ``DEFAULT_AUTHENTICATION_CLASSES``);
setup and guarantees: docs/tokens.md ("simplejwt"). simplejwt is imported here only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jwt as pyjwt
from django.contrib.auth import get_user_model
from django.db import router
from django.db.models import QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import (
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from ..batches import batched
from ..endings import policy_end
from ..models import UserSession
from ..safety import contained
from ..token_clearers import register
from .core import TokenRefused, end_token_session, start_token_session, token_used
from .lookup import token_digests, unrecorded
from .vouching import family_serves, forget, replace_marks

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from rest_framework.request import Request

logger = logging.getLogger("django_sessionmgr")

#: A token simplejwt never made (not even a JWT): its answer to it is the
#: answer to a token of a stopped family.
NOT_A_TOKEN = "-"
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


class SessionmgrRefreshToken(RefreshToken):
    """simplejwt's refresh token, always of a family: a new one starts one,
    one from before the install gets its own. The claim is set at
    construction, so the ``OutstandingToken`` that ``for_user`` records
    already carries it (a revoke finds the family's tokens there), and the
    access tokens and rotated refresh tokens made from it copy it."""

    def __init__(self, token: Any = None, verify: bool = True) -> None:
        super().__init__(token, verify)
        if token is None:
            self[SID_CLAIM] = uuid.uuid4().hex
        elif (sid := family_id(self.payload)) is not None:
            self[SID_CLAIM] = sid


class SessionmgrTokenObtainPairSerializer(TokenObtainPairSerializer):
    """simplejwt's login; the new family's row records the request's device."""

    token_class = SessionmgrRefreshToken

    @sensitive_variables()
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)
        if (user := self.user) is None:  # a custom USER_AUTHENTICATION_RULE let it through
            return data
        refresh, access = family_of(data["refresh"]), family_of(data["access"])
        now = timezone.now()
        start_token_session(
            self.context.get("request"),
            user,
            KIND,
            refresh[SID_CLAIM],
            expires_at=_end(refresh["exp"], started=now, last_write=now),
            access_valid_until=datetime_from_epoch(access["exp"]),
        )
        return data


class SessionmgrTokenRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, refused once the family's row is no longer active
    (revoked, ended, or past ``ABSOLUTE_TIMEOUT`` / ``IDLE_TIMEOUT``)."""

    token_class = SessionmgrRefreshToken

    @sensitive_variables()
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return self._follow(attrs)
        except TokenError:
            # simplejwt's own answer to a token nobody made: a token refused for
            # any reason (revoked, ended, past a timeout) gets exactly that.
            super().validate({"refresh": NOT_A_TOKEN})
            raise  # not reached: simplejwt refuses NOT_A_TOKEN

    def _follow(self, attrs: dict[str, Any]) -> dict[str, str]:
        data = super().validate(attrs)
        claims = family_of(attrs["refresh"])
        if (sid := family_id(claims)) is None:
            return data  # no jti to name a family by (JTI_CLAIM None): as stock simplejwt
        claims[SID_CLAIM] = sid
        refresh = family_of(data.get("refresh", attrs["refresh"]))
        access = family_of(data["access"])
        request = self.context.get("request")
        if not contained(
            lambda: _extend(request, claims, refresh, access["exp"]),
            default=True,  # our failure never fails simplejwt's refresh
            what="follow a token refresh",
        ):
            _end_family(sid, UserSession.Status.EXPIRED)
            raise TokenError
        return data


class SessionmgrTokenBlacklistSerializer(TokenBlacklistSerializer):
    """simplejwt's logout: the family's row reads ``ended``, all its refresh
    tokens are blacklisted, and its access tokens are refused at once."""

    @sensitive_variables()
    def validate(self, attrs: dict[str, Any]) -> dict[Any, Any]:
        try:
            data = super().validate(attrs)
        except TokenError:
            # simplejwt's own answer to a token nobody made: one a revoke or an
            # earlier logout blacklisted gets exactly that.
            super().validate({"refresh": NOT_A_TOKEN})
            raise  # not reached: simplejwt refuses NOT_A_TOKEN
        claims = family_of(attrs["refresh"])
        if (sid := family_id(claims)) is not None:
            _end_family(sid, UserSession.Status.ENDED)
        return data


class SessionmgrJWTAuthentication(JWTAuthentication):
    """simplejwt's ``JWTAuthentication``; also refuses the access token of a
    family that was revoked, ended or expired, at one cache ``get`` between
    activity writes (``vouching``). The refusal is simplejwt's own answer to a
    token it cannot verify."""

    @sensitive_variables()
    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        sid = token.get(SID_CLAIM)
        if not isinstance(sid, str):
            return result  # a token from before the install: as stock simplejwt
        digests = token_digests(KIND, sid)
        try:
            serves = family_serves(digests, user.pk)
            if serves is None:  # no row: its login could not write one, or it was pruned
                serves = refreshable(sid, user.pk)
            if not serves:
                raise TokenRefused
            token_used(request, KIND, sid, user=user)
        except TokenRefused:
            forget(digests[0])
            # simplejwt's own answer to a token nobody made: a token of a
            # stopped family gets exactly that.
            self.get_validated_token(NOT_A_TOKEN.encode())
            raise  # not reached: simplejwt refuses NOT_A_TOKEN
        return result


def _extend(
    request: Request | None, claims: dict[str, Any], refresh: dict[str, Any], access_exp: int
) -> bool:
    """A refresh of the family ``claims`` names: its row follows the new
    tokens' expiries. False when the row is not active any more (revoked,
    ended, past its end or a timeout's). A family with no row (its login
    could not write one) gets one now."""
    sid = claims[SID_CLAIM]
    digests = token_digests(KIND, sid)
    rows = UserSession.objects.from_primary().filter(token_digest__in=digests, kind=KIND)
    fields = ("pk", "status", "created_at", "last_activity_at", "expires_at")
    now = timezone.now()
    if (found := rows.order_by().values_list(*fields).first()) is None:
        if (user := _user(claims.get(api_settings.USER_ID_CLAIM))) is not None:
            ends = _end(refresh["exp"], started=now, last_write=now)
            valid_until = datetime_from_epoch(access_exp)
            start_token_session(
                request, user, KIND, sid, ends, adopted=True, access_valid_until=valid_until
            )
        return True
    pk, status, created_at, last_activity_at, expires_at = found
    ends = min(expires_at, _end(claims["exp"], started=created_at, last_write=last_activity_at))
    if status != UserSession.Status.ACTIVE or ends <= now:
        return False
    updated = rows.filter(
        pk=pk, status=UserSession.Status.ACTIVE, revoke_batch__isnull=True
    ).update(
        expires_at=_end(refresh["exp"], started=created_at, last_write=now),
        access_valid_until=datetime_from_epoch(access_exp),
        last_activity_at=now,
    )
    return bool(updated)


def _end(refresh_exp: int, *, started: datetime, last_write: datetime) -> datetime:
    """A family's end: its refresh token's expiry, or a timeout's if sooner."""
    ends = datetime_from_epoch(refresh_exp)
    policy = policy_end(int(last_write.timestamp()), int(started.timestamp()))
    return ends if policy is None else min(ends, datetime_from_epoch(policy))


def _end_family(sid: str, status: str) -> None:
    """The package's own end of a family (logout, or a refresh refused past a
    timeout): the row ends, the rest of its refresh tokens are blacklisted,
    and its access tokens are refused at once. A failure is logged: it never
    fails simplejwt's own answer."""
    digests = token_digests(KIND, sid)
    end_token_session(KIND, sid, status=status)
    users: list[Any] = contained(
        lambda: _users_of_family(digests), default=[], what="read a token family", writes=False
    )
    contained(
        lambda: _blacklist(set(digests), users), default=None, what="blacklist a token family"
    )
    try:
        replace_marks(users, using=router.db_for_write(UserSession))
    except Exception as error:
        logger.error(
            "django-sessionmgr could not write a sign-out mark after a token logout (%s); "
            "its access tokens are accepted until they expire",
            type(error).__name__,
        )


def _users_of_family(digests: list[str]) -> list[Any]:
    return list(
        UserSession.objects.from_primary()
        .filter(token_digest__in=digests, kind=KIND)
        .values_list("user_id", flat=True)
        .distinct()
    )


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
        if wanted - _blacklist(wanted, users):
            sweep_families(users)
    replace_marks(families, using=rows.db)


@sensitive_variables()
def _blacklist(digests: set[str], users: list[Any]) -> set[str]:
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
    BlacklistedToken._default_manager.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in family], ignore_conflicts=True
    )
    return found


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
    for some in batched(doomed, USERS_AT_ONCE):
        BlacklistedToken._default_manager.bulk_create(
            [BlacklistedToken(token_id=pk) for pk in some], ignore_conflicts=True
        )
    if doomed:
        replace_marks({owners[pk] for pk in doomed}, using=router.db_for_write(UserSession))


def _sid_of(encoded: str) -> str | None:
    try:
        return family_id(family_of(encoded))
    except pyjwt.PyJWTError:
        return None


def _user(user_id: Any) -> AbstractBaseUser | None:
    if user_id is None:
        return None
    model = get_user_model()
    return model._default_manager.filter(**{api_settings.USER_ID_FIELD: user_id}).first()


def existing_tokens() -> Iterator[tuple[Any, str, datetime | None]]:
    """One (user pk, family id, expiry) per family among the live, not
    blacklisted refresh tokens simplejwt keeps, for ``sessionmgr_adopt_tokens``.
    Read user by user, latest first: one user's families in memory at a time."""
    outstanding = (
        OutstandingToken._default_manager.filter(
            user__isnull=False, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        )
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


def connect() -> None:
    """Register the revoke's clear step for ``jwt`` rows (``AppConfig.ready``)."""
    register(KIND, clear_families, sweep_families)
