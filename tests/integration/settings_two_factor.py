"""django-two-factor-auth (django-otp) beside the app, set up as its docs say."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

ROOT_URLCONF = "tests.integration.urls_two_factor"
INSTALLED_APPS = [
    *INSTALLED_APPS,
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "formtools",
    "two_factor",
]
_auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE = [
    *MIDDLEWARE[: _auth + 1],
    "django_otp.middleware.OTPMiddleware",
    *MIDDLEWARE[_auth + 1 :],
]
LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "/whoami/"
