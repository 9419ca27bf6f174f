"""Settings for one competitor of ``benchmarks/compare.py``, chosen by environment.

``BENCH_COMPETITOR``: ``stock`` (plain Django), ``sessionmgr``, ``user_sessions``
(django-user-sessions) or ``allauth`` (allauth's usersessions, activity tracking
on). ``BENCH_DATABASE_URL``: the database. Everything else is identical, so a
difference in the numbers is the competitor's own cost.
"""

from __future__ import annotations

import os

from example_project.settings import database_from_url

COMPETITOR = os.environ.get("BENCH_COMPETITOR", "stock")

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "benchmarks.compare_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Logins measure session bookkeeping, not password hashing.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

DATABASES = {"default": database_from_url(os.environ.get("BENCH_DATABASE_URL", "sqlite://"))}
# Persistent connections, as in production; reconnecting would dwarf the differences.
DATABASES["default"]["CONN_MAX_AGE"] = None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.db"

if COMPETITOR == "sessionmgr":
    INSTALLED_APPS += ["rest_framework", "django_sessionmgr"]
    MIDDLEWARE.insert(4, "django_sessionmgr.middleware.UserSessionMiddleware")
elif COMPETITOR == "user_sessions":
    INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.sessions")] = "user_sessions"
    MIDDLEWARE[0] = "user_sessions.middleware.SessionMiddleware"
    SESSION_ENGINE = "user_sessions.backends.db"
elif COMPETITOR == "allauth":
    INSTALLED_APPS += [
        "django.contrib.humanize",
        "allauth",
        "allauth.account",
        "allauth.usersessions",
    ]
    MIDDLEWARE += [
        "allauth.account.middleware.AccountMiddleware",
        "allauth.usersessions.middleware.UserSessionsMiddleware",
    ]
    USERSESSIONS_TRACK_ACTIVITY = True
elif COMPETITOR != "stock":
    raise ValueError(f"unknown BENCH_COMPETITOR {COMPETITOR!r}")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
STATIC_URL = "/static/"
LOGIN_URL = "/login/"
# A failing page must say why: the run stops on any non-200 answer.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
