"""django-axes with AxesBackend beside the app, set up as axes's docs say."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

ROOT_URLCONF = "tests.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "axes"]
# AxesMiddleware last, AxesBackend first: axes's documented order.
MIDDLEWARE = [*MIDDLEWARE, "axes.middleware.AxesMiddleware"]
# AxesBackend only checks for a lockout; ModelBackend signs in.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = 3
AXES_LOCKOUT_PARAMETERS = ["username"]
