"""The DRF token URLs, and a project's own API password change (authenticated
by the request's key through the app's class, as the project configures)."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tests.integration.urls_drf_tokens import urlpatterns as token_urlpatterns


@api_view(["POST"])
@permission_classes([IsAuthenticated])
def change_password(request: Request) -> Response:
    user = request.user
    user.set_password(request.data["new_password"])
    user.save()
    return Response(status=204)


urlpatterns = [*token_urlpatterns, path("api/password/", change_password)]
