"""The cache-backed engines on a real Redis server, through Django's own RedisCache.

Every test using the ``engine``/``server_engine`` fixtures already runs on Redis
as ``cache-redis`` and ``cached_db-redis``; these tests look inside Redis to
prove the sessions really live there and really leave it on revoke.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.core.cache import caches

from django_sessionmgr.models import UserSession
from django_sessionmgr.stores import store_class
from tests.helpers import logged_in_client, whoami
from tests.real_servers import redis_url

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["cache", "cached_db"])
def redis_engine(request: pytest.FixtureRequest, settings: Any) -> Any:
    url = redis_url()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    caches["default"].clear()
    yield redis.Redis.from_url(url)
    caches["default"].clear()


def _in_redis(server: redis.Redis, session_key: str) -> bool:
    return bool(
        server.exists(caches["default"].make_key(store_class().cache_key_prefix + session_key))
    )


def test_sessions_live_in_redis_and_leave_it_on_revoke(redis_engine, user):
    keep = logged_in_client(user)
    gone = logged_in_client(user, user_agent="curl/8")
    gone_key = gone.cookies["sessionid"].value
    assert _in_redis(redis_engine, gone_key)

    assert UserSession.objects.filter(user_agent="curl/8").revoke(reason="test") == 1

    assert not _in_redis(redis_engine, gone_key)
    assert whoami(gone) is None
    assert whoami(keep) == "alice"
    assert _in_redis(redis_engine, keep.cookies["sessionid"].value)


def test_bulk_revoke_deletes_every_key_from_redis(redis_engine, user):
    clients = [logged_in_client(user, user_agent=f"agent-{n}") for n in range(30)]
    keys = [client.cookies["sessionid"].value for client in clients]
    assert all(_in_redis(redis_engine, key) for key in keys)

    assert UserSession.objects.filter(user=user).revoke() == 30

    assert not any(_in_redis(redis_engine, key) for key in keys)
    assert all(whoami(client) is None for client in clients[:3])
