"""DRF with TokenAuthentication and SessionAuthentication both enabled."""

from tests import settings as base
from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

ROOT_URLCONF = "tests.integration.urls_drf"
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]
REST_FRAMEWORK = {
    **getattr(base, "REST_FRAMEWORK", {}),
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}
