"""Settings for the test suite.

The database comes from ``DATABASE_URL`` (SQLite in memory by default), in
dj-database-url's syntax: ``sqlite:////abs/path``, ``postgres://...``,
``mysql://user:pass@host:port/name`` for MariaDB.
"""

import importlib.util
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

DATABASES = {"default": dj_database_url.config(default="sqlite://")}

# The MariaDB driver (mysqlclient) is not in the test group: it builds from
# source (the ``mariadb`` group; `make test` installs it for mysql:// URLs).
# Without it Django cannot even start, so the suite starts on SQLite in memory
# and tests/conftest.py skips every test with the reason (fails under CI=true).
MARIADB_DRIVER_MISSING = DATABASES["default"]["ENGINE"].endswith(
    ".mysql"
) and not importlib.util.find_spec("MySQLdb")
if MARIADB_DRIVER_MISSING:
    DATABASES = {"default": dj_database_url.parse("sqlite://")}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # Real tokens for the tests of requests not authenticated by the session.
    "rest_framework.authtoken",
    "django_sessionmgr",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_sessionmgr.middleware.UserSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_FILE_PATH = None  # the file engine uses a temp dir per test (see conftest)

STATIC_URL = "/static/"
LOGIN_URL = "/accounts/login/"

GEOIP_PATH = None
GEOIP_CITY = "GeoLite2-City-Test.mmdb"
GEOIP_COUNTRY = "GeoLite2-Country-Test.mmdb"
GEOIP_TEST_PATH = BASE_DIR / "data" / "geoip"

# As a project using the ``openapi`` extra configures it. drf-spectacular's
# decorators bind the schema class when the views are imported, so it has to
# be set here rather than overridden in a test.
if importlib.util.find_spec("drf_spectacular") is not None:
    REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
