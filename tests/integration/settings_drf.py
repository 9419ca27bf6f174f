"""DRF with TokenAuthentication and SessionAuthentication both enabled."""

from tests import settings as base
from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.integration.urls_drf"
# rest_framework.authtoken is already in the base settings.
REST_FRAMEWORK = {
    **getattr(base, "REST_FRAMEWORK", {}),
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}
