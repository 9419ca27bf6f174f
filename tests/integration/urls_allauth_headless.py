"""allauth's headless API under ``_allauth/`` and its browser pages under
``allauth/``, beside the test project's own login and password change views
(``/accounts/``), the app's API, and a project's DRF view authenticated by
allauth's own ``XSessionTokenAuthentication``."""

from typing import Any

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.urls import include, path
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tests.urls import urlpatterns as project


@api_view(["GET"])
@authentication_classes([XSessionTokenAuthentication])
@permission_classes([IsAuthenticated])
def app_api_whoami(request: Request) -> Any:
    return Response({"user": request.user.get_username()})


urlpatterns = [
    *project,
    path("allauth/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("app-api/whoami/", app_api_whoami),
]
