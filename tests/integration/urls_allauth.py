from django.urls import include, path

from tests.integration.urls_common import urlpatterns as common

urlpatterns = [
    *common,
    path("accounts/", include("allauth.urls")),
]
