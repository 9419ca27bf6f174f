"""``cached_db`` writes the database, then the cache: a revoke that deletes
both in between must not leave the session in the cache.

The cache below runs the revoke at exactly that moment, in the request's
own thread, so the interleaving is the same on every run; the threads of
test_concurrency.py meet it only now and then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, JsonResponse
from django.urls import path

from django_sessionmgr.models import UserSession
from tests.helpers import clone, logged_in_client, session_cookie, stored_session_exists, whoami
from tests.real_servers import redis_url
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]


class RevokeBeforeSessionWrite:
    """A cache that, once armed, runs a callable right before its next write
    of a ``cached_db`` session (mixed into a real backend below)."""

    before_write: ClassVar[Callable[[], Any] | None] = None

    def set(self, key: Any, *args: Any, **kwargs: Any) -> None:
        hook = RevokeBeforeSessionWrite.before_write
        if hook is not None and "sessions.cached_db" in str(key):
            RevokeBeforeSessionWrite.before_write = None
            hook()
        super().set(key, *args, **kwargs)  # type: ignore[misc]


class LocalRacingCache(RevokeBeforeSessionWrite, LocMemCache):
    """Local to the process: no sign-out marks."""


class SharedRacingCache(RevokeBeforeSessionWrite, RedisCache):
    """Shared: the sign-out marks live there."""


def write(request: HttpRequest) -> JsonResponse:
    request.session["written"] = True
    return JsonResponse({"user": request.user.get_username() or None})


urlpatterns = [path("write/", write), *project_urlpatterns]


@pytest.fixture(params=["local", "shared"])
def racing_cache(request: pytest.FixtureRequest, settings: Any) -> Any:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    if request.param == "local":
        settings.CACHES = {"default": {"BACKEND": f"{__name__}.LocalRacingCache"}}
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": f"{__name__}.SharedRacingCache",
                "LOCATION": redis_url(),
            }
        }
    caches["default"].clear()
    yield RevokeBeforeSessionWrite
    RevokeBeforeSessionWrite.before_write = None
    caches["default"].clear()


def test_a_revoke_between_the_database_and_the_cache_write_stays(
    racing_cache: Any, user: Any
) -> None:
    """Without the sign-out marks (a process-local cache), the save is
    followed by a check of the row, which deletes the session again; with
    them (a shared cache), the session's next request is refused."""
    client = logged_in_client(user)
    key = session_cookie(client)
    revoked: list[int] = []
    racing_cache.before_write = lambda: revoked.append(
        UserSession.objects.filter(user=user).revoke()
    )

    client.get("/write/")

    assert revoked == [1]  # the revoke ran between the two writes
    if not isinstance(caches["default"], RedisCache):
        assert not stored_session_exists(key)
    replay = clone(client)
    replay.cookies["sessionid"] = key
    assert whoami(replay) is None


def test_a_revoke_between_a_cache_miss_and_its_refill_is_refused(
    racing_cache: Any, user: Any
) -> None:
    """``load()`` refills the cache from the database after a miss: a revoke
    in between leaves the session in the cache. On a shared cache the
    sign-out marks refuse it at its next request. (A process-local cache has
    no marks: ``manage.py check`` warns, W002, and docs/engines.md states the
    window, up to the next activity write.)"""
    if not isinstance(caches["default"], RedisCache):
        pytest.skip("a process-local cache: the documented window (W002)")
    client = logged_in_client(user)
    key = session_cookie(client)
    caches["default"].delete(f"django.contrib.sessions.cached_db{key}")  # evicted
    revoked: list[int] = []
    racing_cache.before_write = lambda: revoked.append(
        UserSession.objects.filter(user=user).revoke()
    )

    whoami(client)  # misses the cache, reads the database, refills the cache

    assert revoked == [1]
    replay = clone(client)
    replay.cookies["sessionid"] = key
    assert whoami(replay) is None
