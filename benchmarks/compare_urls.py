"""URLs of the benchmark: the same two views for everyone, plus each competitor's list page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import authenticate, login
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.csrf import csrf_exempt


def page(request: HttpRequest) -> HttpResponse:
    """The authenticated request every competitor serves: who is signed in."""
    return HttpResponse(request.user.get_username())


@csrf_exempt
def sign_in(request: HttpRequest) -> HttpResponse:
    user = authenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse(status=400)
    login(request, user)
    return HttpResponse(user.get_username())


urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("page/", page),
    path("login/", sign_in),
]
if settings.COMPETITOR == "sessionmgr":
    urlpatterns += [
        path("account/sessions/", include("django_sessionmgr.urls")),
        path("api/", include("django_sessionmgr.api.urls")),
    ]
elif settings.COMPETITOR == "user_sessions":
    urlpatterns += [path("", include("user_sessions.urls", "user_sessions"))]
elif settings.COMPETITOR == "allauth":
    urlpatterns += [path("accounts/", include("allauth.urls"))]
