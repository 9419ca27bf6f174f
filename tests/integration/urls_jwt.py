"""simplejwt's own views as its docs mount them, and a view behind each authentication class."""

from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
)

from django_sessionmgr.state import request_state
from django_sessionmgr.tokens.jwt import SessionmgrJWTAuthentication
from tests.urls import urlpatterns as project


class AppWhoami(APIView):
    """Who the token is, and which row the request was served as (the current session)."""

    authentication_classes = [SessionmgrJWTAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        state = request_state(request._request)
        row = state.token_row_id if state is not None else None
        return Response({"user": request.user.get_username(), "row": row})


class StockWhoami(AppWhoami):
    authentication_classes = [JWTAuthentication]


urlpatterns = [
    *project,
    path("api/token/", TokenObtainPairView.as_view()),
    path("api/token/refresh/", TokenRefreshView.as_view()),
    path("api/token/blacklist/", TokenBlacklistView.as_view()),
    path("jwt/whoami/", AppWhoami.as_view()),
    path("jwt/stock-whoami/", StockWhoami.as_view()),
]
