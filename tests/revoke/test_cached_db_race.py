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
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, JsonResponse
from django.urls import path

from django_sessionmgr.models import UserSession
from tests.helpers import clone, logged_in_client, session_cookie, stored_session_exists, whoami
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]


class RevokeBeforeSessionWrite(LocMemCache):
    """A local-memory cache that, once armed, runs a callable right before
    its next write of a ``cached_db`` session."""

    before_write: ClassVar[Callable[[], Any] | None] = None

    def set(self, key: Any, *args: Any, **kwargs: Any) -> None:
        hook = type(self).before_write
        if hook is not None and "sessions.cached_db" in str(key):
            type(self).before_write = None
            hook()
        super().set(key, *args, **kwargs)


def write(request: HttpRequest) -> JsonResponse:
    request.session["written"] = True
    return JsonResponse({"user": request.user.get_username() or None})


urlpatterns = [path("write/", write), *project_urlpatterns]


@pytest.fixture
def racing_cache(settings: Any) -> Any:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.RevokeBeforeSessionWrite"}}
    yield RevokeBeforeSessionWrite
    RevokeBeforeSessionWrite.before_write = None


def test_a_revoke_between_the_database_and_the_cache_write_stays(
    racing_cache: Any, user: Any
) -> None:
    client = logged_in_client(user)
    key = session_cookie(client)
    revoked: list[int] = []
    racing_cache.before_write = lambda: revoked.append(
        UserSession.objects.filter(user=user).revoke()
    )

    client.get("/write/")

    assert revoked == [1]  # the revoke ran between the two writes
    assert not stored_session_exists(key)
    replay = clone(client)
    replay.cookies["sessionid"] = key
    assert whoami(replay) is None
