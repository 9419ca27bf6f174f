"""Knox's views as in urls_knox, a view for the app's knox authentication
and knox's stock class beside it (``knox/whoami/``), to measure what the app adds."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tests.integration.urls_knox import urlpatterns as knox_urlpatterns


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def token_whoami(request: Request) -> Response:
    return Response({"user": request.user.get_username()})


urlpatterns = [*knox_urlpatterns, path("knox/app-whoami/", token_whoami)]
