"""django-hijack beside the app, set up as hijack's docs say."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

ROOT_URLCONF = "tests.integration.urls_hijack"
INSTALLED_APPS = [*INSTALLED_APPS, "hijack"]
MIDDLEWARE = [*MIDDLEWARE, "hijack.middleware.HijackUserMiddleware"]
