from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls

from tests.urls import urlpatterns as project

urlpatterns = [*project, path("", include(two_factor_urls))]
