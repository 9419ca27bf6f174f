"""djangorestframework-simplejwt with its ``token_blacklist``: one row per
refresh-token family.

A family starts at a login through simplejwt's ``TokenObtainPairView``: its
refresh token carries the claim ``sessionmgr_sid``, a random id of the family
that rotation keeps (simplejwt re-signs the same payload with a new ``jti``)
and that simplejwt copies into every access token. The row finds its family
through ``token_digest("jwt", sid)``. Everything hooks in through simplejwt's
own settings (``TOKEN_OBTAIN_SERIALIZER``, ``TOKEN_REFRESH_SERIALIZER``,
``TOKEN_BLACKLIST_SERIALIZER``, DRF's ``DEFAULT_AUTHENTICATION_CLASSES``);
setup and guarantees: docs/tokens.md ("simplejwt"). Families and their blacklisting
are in ``jwt_families``; simplejwt is imported in these two modules only.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import router
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
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from ..endings import policy_end
from ..models import UserSession
from ..safety import contained
from ..token_clearers import register
from .core import TokenRefused, end_token_session, start_token_session, token_used
from .jwt_families import (
    KIND,
    SID_CLAIM,
    blacklist,
    clear_families,
    family_id,
    family_of,
    refreshable,
    sweep_families,
)
from .lookup import token_digests, token_rows
from .vouching import family_serves, forget, replace_marks

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from rest_framework.request import Request

logger = logging.getLogger("django_sessionmgr")

#: A token simplejwt never made (not even a JWT): its answer to it is the
#: answer to a token of a stopped family.
NOT_A_TOKEN = "-"


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
            token_used(request, KIND, sid, user=user, digests=digests)
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
    rows = token_rows(KIND, digests)
    fields = ("pk", "status", "created_at", "last_activity_at", "expires_at")
    now = timezone.now()
    if (found := rows.values_list(*fields).first()) is None:
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
    contained(lambda: blacklist(set(digests), users), default=None, what="blacklist a token family")
    try:
        replace_marks(users, using=router.db_for_write(UserSession))
    except Exception as error:
        logger.error(
            "django-sessionmgr could not write a sign-out mark after a token logout (%s); "
            "its access tokens are accepted until they expire",
            type(error).__name__,
        )


def _users_of_family(digests: list[str]) -> list[Any]:
    return list(token_rows(KIND, digests).values_list("user_id", flat=True).distinct())


def _user(user_id: Any) -> AbstractBaseUser | None:
    if user_id is None:
        return None
    model = get_user_model()
    return model._default_manager.filter(**{api_settings.USER_ID_FIELD: user_id}).first()


def connect() -> None:
    """Register the revoke's clear step for ``jwt`` rows (``AppConfig.ready``)."""
    register(KIND, clear_families, sweep_families)
