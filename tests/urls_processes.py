"""The test project's URLs, and a view that writes to the session (tests/settings_processes.py)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from tests.urls import urlpatterns as project_urlpatterns


def write(request: HttpRequest) -> JsonResponse:
    """Read the user, then change their session: what most views that keep state do."""
    user = request.user.get_username() or None
    if user is not None:
        request.session["writes"] = request.session.get("writes", 0) + 1
    return JsonResponse({"user": user})


urlpatterns = [path("write/", write), *project_urlpatterns]
