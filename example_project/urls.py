import os

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from django_sessionmgr.devices import accept_client_hints
from example_project.demo.views import home, worker

urlpatterns: list[URLPattern | URLResolver] = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    # Asks Chromium-based browsers for the client hints that name "Windows 11",
    # "macOS 15" or the Android phone's model; the login POST then carries them.
    path("accounts/login/", accept_client_hints(auth_views.LoginView.as_view()), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/sessions/", include("django_sessionmgr.urls")),  # HTML pages
    path("api/", include("django_sessionmgr.api.urls")),  # DRF endpoints
]

if apps.is_installed("drf_spectacular"):
    from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

    urlpatterns += [
        path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
        path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    ]

# For tests/servers/test_workers.py: which worker process served a request.
if os.environ.get("SESSIONMGR_TEST_PID_VIEW") == "1":
    urlpatterns.append(path("__worker__/", worker))
