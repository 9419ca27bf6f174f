"""``manage.py check`` names each misconfiguration with its exact id."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_sessionmgr.middleware import UserSessionMiddleware

OURS = "django_sessionmgr.middleware.UserSessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"


class ProjectSessionMiddleware(UserSessionMiddleware):
    """A project's own subclass counts as the middleware."""


def our_ids() -> list[str]:
    return [m.id for m in run_checks() if m.id and m.id.startswith("django_sessionmgr.")]


def test_the_test_project_passes() -> None:
    assert our_ids() == []
    call_command("check", stdout=StringIO())


def test_missing_middleware_is_e001(settings: Any) -> None:
    settings.MIDDLEWARE = [SESSIONS, AUTH]

    assert our_ids() == ["django_sessionmgr.E001"]
    with pytest.raises(SystemCheckError, match=r"django_sessionmgr\.E001"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_middleware_before_authentication_is_e002(settings: Any) -> None:
    settings.MIDDLEWARE = [SESSIONS, OURS, AUTH]

    assert our_ids() == ["django_sessionmgr.E002"]


def test_middleware_without_authentication_is_e002(settings: Any) -> None:
    settings.MIDDLEWARE = [SESSIONS, OURS]

    assert our_ids() == ["django_sessionmgr.E002"]


@pytest.mark.parametrize(
    "middleware",
    [
        [SESSIONS, AUTH, f"{__name__}.ProjectSessionMiddleware"],
        [SESSIONS, "tests.no_such_module.Middleware", AUTH, OURS],
    ],
    ids=["subclass", "unimportable-entry"],
)
def test_middleware_found_by_subclass_and_past_broken_entries(
    settings: Any, middleware: list[str]
) -> None:
    settings.MIDDLEWARE = middleware

    assert our_ids() == []


@pytest.mark.parametrize("value", [[], "ACTIVITY_UPDATE_INTERVAL=60", None])
def test_sessionmgr_not_a_dict_is_e003(settings: Any, value: Any) -> None:
    settings.SESSIONMGR = value

    assert our_ids() == ["django_sessionmgr.E003"]


@pytest.mark.parametrize(
    "key, value",
    [
        ("ACTIVITY_UPDATE_INTERVAL", "60"),
        ("ACTIVITY_UPDATE_INTERVAL", -1),
        ("ACTIVITY_UPDATE_INTERVAL", 1.5),
        ("TRUSTED_PROXY_COUNT", True),
        ("TRUSTED_PROXY_COUNT", -2),
        ("RETENTION_DAYS", 0),
        ("RETENTION_DAYS", None),
    ],
)
def test_bad_numbers_are_e004(settings: Any, key: str, value: Any) -> None:
    settings.SESSIONMGR = {key: value}

    messages = [m for m in run_checks() if m.id == "django_sessionmgr.E004"]
    assert our_ids() == ["django_sessionmgr.E004"]
    assert key in messages[0].msg
    assert messages[0].hint


@pytest.mark.parametrize(
    "key, value",
    [("REVOKE_ON_PASSWORD_CHANGE", "yes"), ("REVOKE_ON_PASSWORD_CHANGE", 1)],
)
def test_bad_booleans_are_e005(settings: Any, key: str, value: Any) -> None:
    settings.SESSIONMGR = {key: value}

    assert our_ids() == ["django_sessionmgr.E005"]


@pytest.mark.parametrize("value", ["partial", "Truncated", "", None, 24])
def test_unknown_ip_address_storage_is_e007(settings: Any, value: Any) -> None:
    settings.SESSIONMGR = {"IP_ADDRESS_STORAGE": value}

    messages = [m for m in run_checks() if m.id == "django_sessionmgr.E007"]
    assert our_ids() == ["django_sessionmgr.E007"]
    assert repr(value) in messages[0].msg
    assert "'truncated'" in messages[0].hint and "'none'" in messages[0].hint


@pytest.mark.parametrize("value", ["full", "truncated", "none"])
def test_ip_address_storage_modes_pass(settings: Any, value: str) -> None:
    settings.SESSIONMGR = {"IP_ADDRESS_STORAGE": value}

    assert our_ids() == []


def test_unknown_key_is_w001(settings: Any) -> None:
    settings.SESSIONMGR = {"ACTIVITY_INTERVAL": 5}

    messages = [m for m in run_checks() if m.id == "django_sessionmgr.W001"]
    assert our_ids() == ["django_sessionmgr.W001"]
    assert "ACTIVITY_INTERVAL" in messages[0].msg


def test_every_problem_is_reported_at_once(settings: Any) -> None:
    settings.SESSIONMGR = {"RETENTION_DAYS": "90", "REVOKE_ON_PASSWORD_CHANGE": "no", "X": 1}

    assert sorted(our_ids()) == [
        "django_sessionmgr.E004",
        "django_sessionmgr.E005",
        "django_sessionmgr.W001",
    ]


def test_a_full_valid_configuration_passes(settings: Any) -> None:
    settings.SESSIONMGR = {
        "ACTIVITY_UPDATE_INTERVAL": 0,
        "TRUSTED_PROXY_COUNT": 2,
        "REVOKE_ON_PASSWORD_CHANGE": False,
        "RETENTION_DAYS": 1,
        "IP_ADDRESS_STORAGE": "truncated",
    }

    assert our_ids() == []


def test_settings_are_read_live(settings: Any) -> None:
    from django_sessionmgr.conf import app_settings

    assert app_settings.RETENTION_DAYS == 90
    assert app_settings.ACTIVITY_UPDATE_INTERVAL == 60
    settings.SESSIONMGR = {"RETENTION_DAYS": 7, "ACTIVITY_UPDATE_INTERVAL": 5}
    assert app_settings.RETENTION_DAYS == 7
    assert app_settings.ACTIVITY_UPDATE_INTERVAL == 5
    settings.SESSIONMGR = ["not", "a", "dict"]  # E003 reports it; the defaults still apply
    assert app_settings.RETENTION_DAYS == 90


REDIS = "django.core.cache.backends.redis.RedisCache"
PRIMARY = "redis://10.0.0.1:6379/0"
PRIMARY_AND_REPLICA = [PRIMARY, "redis://10.0.0.2:6379/0"]


class ReadReplicaRouter:
    """Every read from a replica, every write to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"


@pytest.mark.parametrize("engine", ["db", "cached_db"])
def test_session_reads_from_a_replica_are_e011(settings: Any, engine: str) -> None:
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine}"
    settings.DATABASE_ROUTERS = [ReadReplicaRouter()]
    settings.CACHES = {"default": {"BACKEND": REDIS, "LOCATION": PRIMARY}}  # shared: no W002

    assert our_ids() == ["django_sessionmgr.E011"]


@pytest.mark.parametrize("engine", ["cache", "file", "signed_cookies"])
def test_engines_that_read_no_session_table_pass_a_replica_router(
    settings: Any, engine: str
) -> None:
    """The app's own reads go to the write alias: reading rows from a replica is fine."""
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine}"
    settings.DATABASE_ROUTERS = [ReadReplicaRouter()]
    settings.CACHES = {"default": {"BACKEND": REDIS, "LOCATION": PRIMARY}}  # shared: no W002

    assert our_ids() == []


@pytest.mark.parametrize("engine", ["cache", "cached_db", "signed_cookies"])
@pytest.mark.parametrize(
    "location",
    [PRIMARY_AND_REPLICA, ",".join(PRIMARY_AND_REPLICA), ";".join(PRIMARY_AND_REPLICA)],
)
def test_a_session_cache_reading_from_redis_replicas_is_e012(
    settings: Any, engine: str, location: Any
) -> None:
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine}"
    settings.CACHES = {"default": {"BACKEND": REDIS, "LOCATION": location}}

    assert our_ids() == ["django_sessionmgr.E012"]


def test_django_redis_reading_from_replicas_is_e012(settings: Any) -> None:
    """django-redis spreads reads the same way (checked from the settings alone)."""
    from django_sessionmgr.checks import check_session_reads

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": PRIMARY_AND_REPLICA}
    }

    assert [m.id for m in check_session_reads()] == ["django_sessionmgr.E012"]


@pytest.mark.parametrize(
    ("engine", "location"),
    [
        ("cache", PRIMARY),
        ("cache", [PRIMARY]),
        ("db", PRIMARY_AND_REPLICA),  # the sessions and rows are read from the database
        ("file", PRIMARY_AND_REPLICA),
    ],
)
def test_one_redis_location_or_an_engine_without_the_cache_passes(
    settings: Any, engine: str, location: Any
) -> None:
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine}"
    settings.CACHES = {"default": {"BACKEND": REDIS, "LOCATION": location}}

    assert our_ids() == []


@pytest.mark.parametrize(
    ("engine", "backend"),
    [
        ("tests.no_such_module", REDIS),
        ("django.contrib.sessions.backends.cache", "tests.no_such_module.Cache"),
    ],
)
def test_a_broken_engine_or_cache_is_left_to_django(
    settings: Any, engine: str, backend: str
) -> None:
    """Django's own checks and first request name those; the replica check stays silent."""
    from django_sessionmgr.checks import check_session_reads

    settings.SESSION_ENGINE = engine
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": PRIMARY_AND_REPLICA}}

    assert check_session_reads() == []


# The notice's base URL, re-authentication and the notice's wording.


@pytest.mark.parametrize(
    "value",
    ["example.com", "ftp://x.test", "https://", "https://x.test/?a=1", "https://x.test/app/", 7],
)
def test_a_bad_site_url_is_e013(settings: Any, value: Any) -> None:
    settings.SESSIONMGR = {"SITE_URL": value}

    assert our_ids() == ["django_sessionmgr.E013"]


@pytest.mark.parametrize("value", ["https://example.com", "http://localhost:8000/"])
def test_a_site_url_passes(settings: Any, value: str) -> None:
    settings.SESSIONMGR = {"SITE_URL": value, "NOTIFY_NEW_DEVICE": True}

    assert our_ids() == []


def test_new_device_notices_without_a_base_url_are_w003(settings: Any) -> None:
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True}

    [message] = [m for m in run_checks() if m.id == "django_sessionmgr.W003"]
    assert our_ids() == ["django_sessionmgr.W003"]
    assert "SITE_URL" in message.hint and "Host" in message.hint


@pytest.mark.usefixtures("sites_installed")
def test_the_sites_framework_is_a_base_url(settings: Any) -> None:
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True}

    assert "django_sessionmgr.W003" not in our_ids()


@pytest.mark.parametrize("value", [0, -5, "300", 1.5, True])
def test_a_bad_reauth_window_is_e009(settings: Any, value: Any) -> None:
    settings.SESSIONMGR = {"REAUTH_FOR_REVOKE_OTHERS": value}

    assert our_ids() == ["django_sessionmgr.E009"]


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_bad_free_text_switch_is_e005(settings: Any, value: Any) -> None:
    settings.SESSIONMGR = {"NOTICE_SHOWS_FREE_TEXT_REASON": value}

    assert our_ids() == ["django_sessionmgr.E005"]


def test_the_new_settings_pass_when_valid(settings: Any) -> None:
    settings.SESSIONMGR = {
        "SITE_URL": "https://example.com",
        "REAUTH_FOR_REVOKE_OTHERS": 300,
        "NOTICE_SHOWS_FREE_TEXT_REASON": True,
    }

    assert our_ids() == []
