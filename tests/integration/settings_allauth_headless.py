"""django-allauth headless (app and browser clients) beside the app, with the
app's session-token strategy, on top of the allauth set-up of ``settings_allauth``."""

from tests.integration.settings_allauth import *  # noqa: F403
from tests.integration.settings_allauth import INSTALLED_APPS

ROOT_URLCONF = "tests.integration.urls_allauth_headless"
INSTALLED_APPS = [*INSTALLED_APPS, "allauth.headless"]
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_TOKEN_STRATEGY = "django_sessionmgr.tokens.allauth_headless.SessionTokenStrategy"
