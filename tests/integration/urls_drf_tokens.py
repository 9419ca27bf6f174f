"""The app's obtain view, a view for the app's token authentication and one
for DRF's stock class (to measure what the app adds to a token request)."""

from django.urls import path
from rest_framework.authentication import TokenAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_sessionmgr.tokens.drf import obtain_auth_token
from tests.integration.urls_drf import urlpatterns as drf_urlpatterns


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def token_whoami(request: Request) -> Response:
    return Response({"user": request.user.get_username()})


@api_view(["GET"])
@authentication_classes([TokenAuthentication])
@permission_classes([IsAuthenticated])
def stock_whoami(request: Request) -> Response:
    return Response({"user": request.user.get_username()})


urlpatterns = [
    *drf_urlpatterns,
    path("api-token-auth/", obtain_auth_token),
    path("token-whoami/", token_whoami),
    path("stock-whoami/", stock_whoami),
]
