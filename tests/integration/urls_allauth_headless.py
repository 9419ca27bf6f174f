"""allauth's headless API under ``_allauth/`` and its browser pages under
``allauth/``, beside the test project's own login and password change views
(``/accounts/``) and the app's API."""

from django.urls import include, path

from tests.urls import urlpatterns as project

urlpatterns = [
    *project,
    path("allauth/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
]
