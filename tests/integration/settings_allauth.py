"""django-allauth (account and mfa) beside the app, set up as allauth's docs say."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

ROOT_URLCONF = "tests.integration.urls_allauth"
INSTALLED_APPS = [*INSTALLED_APPS, "allauth", "allauth.account", "allauth.mfa"]
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_RATE_LIMITS = False
# Remember-me gives 3 days, not Django's 2 weeks, so a row that missed the
# set_expiry() shows.
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_SESSION_COOKIE_AGE = 3 * 24 * 3600
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
