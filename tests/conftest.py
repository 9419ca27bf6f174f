"""Shared fixtures: every behaviour runs on each stock session engine."""

from __future__ import annotations

from collections.abc import Iterator
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


#: The cache-backed engines run again on Django's RedisCache: "<engine>-redis".
#: Those params skip without REDIS_URL (and fail under CI=true); see tests/services.py.
REDIS_ENGINES = ["cached_db-redis", "cache-redis"]


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


@pytest.fixture(params=SERVER_SIDE_ENGINES + REDIS_ENGINES)
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
