"""DRF's authtoken with the app's authentication class and obtain view."""

from tests.integration.settings_drf import *  # noqa: F403
from tests.integration.settings_drf import REST_FRAMEWORK

ROOT_URLCONF = "tests.integration.urls_drf_tokens"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "django_sessionmgr.tokens.drf.SessionmgrTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}
