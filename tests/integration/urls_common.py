"""The probe views every integration suite uses, plus the app's own URLs."""

from django.urls import include, path

from tests import views

urlpatterns = [
    path("whoami/", views.whoami),
    path("async-whoami/", views.async_whoami),
    path("rotate/", views.rotate),
    path("set-expiry/", views.set_expiry),
    path("account/sessions/", include("django_sessionmgr.urls")),
    path("api/", include("django_sessionmgr.api.urls")),
]
