from django.urls import include, path
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from tests.urls import urlpatterns as project


@api_view(["GET"])
def api_whoami(request: Request) -> Response:
    return Response({"user": request.user.get_username() or None, "auth": bool(request.auth)})


urlpatterns = [
    *project,
    path("api-whoami/", api_whoami),
    path("api-auth/", include("rest_framework.urls")),
]
