"""Settings for the example project: a plain Django site with django-sessionmgr.

Environment:
- ``DATABASE_URL``: any URL dj-database-url reads, e.g. ``sqlite:////abs/path``,
  ``postgres://user:pass@host:port/name`` or ``mysql://user:pass@host:port/name``
  (default: SQLite at example_project/db.sqlite3)
- ``SESSION_ENGINE``: a stock engine, by short name (``db``, ``cached_db``,
  ``cache``, ``file``, ``signed_cookies``) or dotted path (default: ``db``)
- ``REDIS_URL``: the default cache on Redis, ``redis://host:port/db``, through
  Django's own ``RedisCache`` (default: local memory); the ``cache`` and
  ``cached_db`` session engines keep sessions there
- ``DJANGO_DEBUG`` (default on) and ``DJANGO_SECRET_KEY``
- ``DJANGO_EMAIL_BACKEND`` (default: the console backend, which prints the
  new-device email in the terminal) and ``DJANGO_EMAIL_FILE_PATH`` for the
  file backend (default: example_project/sent_emails/)
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import dj_database_url

import django_sessionmgr

PROJECT_DIR = Path(__file__).resolve().parent
BASE_DIR = PROJECT_DIR.parent


def database_from_url(url: str) -> dict[str, Any]:
    """A DATABASES entry from a URL (dj-database-url; the benchmarks use it too)."""
    return dict(dj_database_url.parse(url))


def session_engine(name: str) -> str:
    return name if "." in name else f"django.contrib.sessions.backends.{name}"


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-project-only")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") != "0"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "example_project.demo",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_sessionmgr",
]

# The API schema and an offline Swagger UI (the `demo` extra installs both).
if importlib.util.find_spec("drf_spectacular_sidecar") is not None:
    INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]
    REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    SPECTACULAR_SETTINGS = {
        "TITLE": "django-sessionmgr demo API",
        "DESCRIPTION": "Your sessions, and (for staff) everyone's.",
        "VERSION": django_sessionmgr.__version__,
        # Served from static files: no CDN needed.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_sessionmgr.middleware.UserSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
ASGI_APPLICATION = "example_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{PROJECT_DIR / 'db.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if redis_url := os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }

SESSION_ENGINE = session_engine(os.environ.get("SESSION_ENGINE", "db"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# A login from a browser the account has not used sends the new-device email
# (docs/notifications.md). The demo prints it in the terminal that runs
# `make demo`; DJANGO_EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend
# writes it to EMAIL_FILE_PATH instead.
SESSIONMGR = {
    "NOTIFY_NEW_DEVICE": True,
    # Where the new-device email's link points (never the request's Host).
    "SITE_URL": "http://" + os.environ.get("DEMO_ADDR", "127.0.0.1:8000"),
}
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_FILE_PATH = os.environ.get("DJANGO_EMAIL_FILE_PATH", str(PROJECT_DIR / "sent_emails"))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = "sessions@example.com"

# MaxMind's test databases: they locate the IPs seed_demo logs in from.
GEOIP_PATH = PROJECT_DIR / "geoip"
GEOIP_CITY = "GeoLite2-City-Test.mmdb"
GEOIP_COUNTRY = "GeoLite2-Country-Test.mmdb"
