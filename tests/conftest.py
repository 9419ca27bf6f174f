"""Shared fixtures: every behaviour runs on each stock session engine."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from tests.services import redis_url

ENGINES = ["db", "cached_db", "cache", "file", "signed_cookies"]
SERVER_SIDE_ENGINES = [e for e in ENGINES if e != "signed_cookies"]

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
PASSWORD = "correct horse battery staple"


#: The cache-backed engines run again on Django's RedisCache: "<engine>-redis", and
#: signed cookies with their sign-out marks on it. Those params skip without
#: REDIS_URL (and fail under CI=true); see tests/services.py.
SERVER_SIDE_REDIS_ENGINES = ["cached_db-redis", "cache-redis"]
REDIS_ENGINES = [*SERVER_SIDE_REDIS_ENGINES, "signed_cookies-redis"]


def _use_engine(param: str, settings: Any, tmp_path: Any) -> Iterator[str]:
    """Configure the engine (and its cache) named by ``param``; yield its short name."""
    name, _, cache = param.partition("-")
    if cache == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url(),
            }
        }
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{name}"
    settings.SESSION_FILE_PATH = str(tmp_path)
    caches["default"].clear()
    yield name
    caches["default"].clear()


@pytest.fixture(params=ENGINES + REDIS_ENGINES)
def engine(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> Iterator[str]:
    """Switch ``SESSION_ENGINE`` to each stock engine in turn."""
    yield from _use_engine(request.param, settings, tmp_path)


@pytest.fixture(params=SERVER_SIDE_ENGINES + SERVER_SIDE_REDIS_ENGINES)
def server_engine(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> Iterator[str]:
    """Only the engines that keep sessions on the server."""
    yield from _use_engine(request.param, settings, tmp_path)


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


def make_client(user_agent: str = FIREFOX, ip: str = "203.0.113.9", **extra: Any) -> Client:
    return Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip, **extra)


def logged_in_client(user: Any, **kwargs: Any) -> Client:
    """A client that logged in through the real login view."""
    client = make_client(**kwargs)
    response = client.post(
        "/accounts/login/", {"username": user.get_username(), "password": PASSWORD}
    )
    assert response.status_code == 302, response.content
    return client


def whoami(client: Client) -> str | None:
    response = client.get("/whoami/")
    assert response.status_code == 200
    username: str | None = response.json()["user"]
    return username


def stored_session_exists(session_key: str) -> bool:
    """Ask the configured engine's own store whether the session is still there."""
    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore
    return bool(store().exists(session_key))


@pytest.fixture
def session_folder(settings: Any, tmp_path: Any) -> Iterator[Any]:
    """The file engine on a folder of this test's own (Django's file store
    keeps the first folder it was given for the process: reset that, and
    put the old one back after)."""
    from django.contrib.sessions.backends.file import SessionStore

    folder = tmp_path / "sessions"
    folder.mkdir()
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.file"
    settings.SESSION_FILE_PATH = str(folder)
    previous = SessionStore.__dict__.get("_storage_path")
    SessionStore._storage_path = str(folder)  # type: ignore[attr-defined]
    yield folder
    if previous is None:
        del SessionStore._storage_path  # type: ignore[attr-defined]
    else:
        SessionStore._storage_path = previous  # type: ignore[attr-defined]


def _read_only(folder: Any, on: bool) -> None:
    """Make ``folder`` refuse deletes for real: chattr +i for root, chmod otherwise."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if on else "-i", str(folder)], check=True)
    else:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR if on else stat.S_IRWXU)


@contextmanager
def failing(table: str, operation: str) -> Iterator[None]:
    """Make every ``operation`` (INSERT, UPDATE, DELETE) on ``table`` fail, for
    real, with a trigger in the database itself."""
    from django.db import connection

    name = f"sessionmgr_fail_{operation.lower()}"
    quoted = connection.ops.quote_name(table)
    if connection.vendor == "sqlite":
        create = [
            f"CREATE TRIGGER {name} BEFORE {operation} ON {quoted} "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        ]
        drop = [f"DROP TRIGGER {name}"]
    elif connection.vendor == "postgresql":
        create = [
            f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {name} BEFORE {operation} ON {quoted} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
        drop = [f"DROP TRIGGER {name} ON {quoted}", f"DROP FUNCTION {name}()"]
    else:  # MariaDB / MySQL
        create = [
            f"CREATE TRIGGER {name} BEFORE {operation} ON {quoted} FOR EACH ROW "
            "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'"
        ]
        drop = [f"DROP TRIGGER {name}"]
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in drop:
                cursor.execute(statement)


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Each test starts in the default language, whatever an earlier one activated."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
