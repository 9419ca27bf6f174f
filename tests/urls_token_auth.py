"""The test project's URLs, with the self-service API behind a token
authentication class that does what the app's token classes do on success:
name the token session in ``RequestState.token_row_id``.

``Authorization: Token <secret>`` finds the row whose ``token_digest`` is the
secret's SHA-256 (a digest for these tests only); ``Token user:<username>`` is a
token that has no session row (a package's token from before the install).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import include, path
from rest_framework.authentication import (
    BaseAuthentication,
    BasicAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.routers import SimpleRouter

from django_sessionmgr.api.views import UserSessionViewSet
from django_sessionmgr.models import UserSession
from django_sessionmgr.state import request_state

from .urls import urlpatterns as project_urlpatterns


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class RowTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        words = get_authorization_header(request).decode().split()
        if len(words) != 2 or words[0] != "Token":
            return None
        secret = words[1]
        if secret.startswith("user:"):
            user = get_user_model()._default_manager.filter(username=secret[5:]).first()
            if user is None:
                raise AuthenticationFailed("Invalid token.")
            return user, None
        row = (
            UserSession.objects.active()
            .filter(token_digest=digest_of(secret))
            .select_related("user")
            .first()
        )
        if row is None:
            raise AuthenticationFailed("Invalid token.")
        state = request_state(request._request)
        assert state is not None  # the middleware runs on every request
        state.token_row_id = str(row.pk)
        return row.user, None

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class TokenSessionViewSet(UserSessionViewSet):
    authentication_classes = [RowTokenAuthentication, SessionAuthentication, BasicAuthentication]


router = SimpleRouter()
router.register("sessions", TokenSessionViewSet, basename="session")

urlpatterns = [path("token-api/", include(router.urls)), *project_urlpatterns]
