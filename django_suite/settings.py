"""Settings for Django's own test suite (runtests.py --settings): its test_sqlite.

runtests.py builds INSTALLED_APPS and MIDDLEWARE itself; ``django_suite.run``
adds the app and its middleware the way the README says.
"""

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3"},
    "other": {"ENGINE": "django.db.backends.sqlite3"},
}
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
