from django.urls import include, path

from tests.urls import urlpatterns as project

urlpatterns = [*project, path("hijack/", include("hijack.urls"))]
