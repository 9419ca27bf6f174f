"""django-rest-knox with the app's authentication class (knox's own, extended)."""

from tests.integration.settings_knox import *  # noqa: F403
from tests.integration.settings_knox import REST_FRAMEWORK

ROOT_URLCONF = "tests.integration.urls_knox_tokens"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "django_sessionmgr.tokens.knox.SessionmgrKnoxAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}
