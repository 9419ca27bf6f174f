"""django-rest-knox beside the app, set up as knox's docs say."""

from tests import settings as base
from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

ROOT_URLCONF = "tests.integration.urls_knox"
# Knox replaces DRF's own tokens: its docs say to take rest_framework.authtoken out.
INSTALLED_APPS = [*(app for app in INSTALLED_APPS if app != "rest_framework.authtoken"), "knox"]
# Knox's TokenAuthentication by default; the browser keeps its session cookie.
REST_FRAMEWORK = {
    **getattr(base, "REST_FRAMEWORK", {}),
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}
