import os
from importlib.util import find_spec

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from example_project.demo.views import home, worker

urlpatterns: list[URLPattern | URLResolver] = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
]

# temporary until urls land: mount the app's pages once their modules exist.
if find_spec("django_sessionmgr.urls"):
    urlpatterns.append(path("account/sessions/", include("django_sessionmgr.urls")))
if find_spec("django_sessionmgr.api") and find_spec("django_sessionmgr.api.urls"):
    urlpatterns.append(path("api/", include("django_sessionmgr.api.urls")))

# For tests/test_multiprocess.py: which worker process served a request.
if os.environ.get("SESSIONMGR_TEST_PID_VIEW") == "1":
    urlpatterns.append(path("__worker__/", worker))
