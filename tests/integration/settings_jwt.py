"""djangorestframework-simplejwt with its token_blacklist, set up as
docs/tokens.md ("simplejwt") says."""

from tests import settings as base
from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

ROOT_URLCONF = "tests.integration.urls_jwt"
INSTALLED_APPS = [
    *INSTALLED_APPS,
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
]
# simplejwt reads these when its modules are imported: they cannot be overridden in a test.
SIMPLE_JWT = {
    "SIGNING_KEY": "tests-only-a-signing-key-of-at-least-32-bytes",
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "TOKEN_OBTAIN_SERIALIZER": "django_sessionmgr.tokens.jwt.SessionmgrTokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "django_sessionmgr.tokens.jwt.SessionmgrTokenRefreshSerializer",
    "TOKEN_BLACKLIST_SERIALIZER": "django_sessionmgr.tokens.jwt.SessionmgrTokenBlacklistSerializer",
}
# The app's authentication class by default (the app's own API included); the
# browser keeps its session cookie. tests/integration/urls_jwt.py also mounts a
# view behind simplejwt's stock class.
REST_FRAMEWORK = {
    **getattr(base, "REST_FRAMEWORK", {}),
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "django_sessionmgr.tokens.jwt.SessionmgrJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}
