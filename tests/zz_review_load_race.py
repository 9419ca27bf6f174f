"""Review: cached_db's load() refills the cache from the DB; a revoke between
the DB read and the cache write leaves the session in the cache."""
from __future__ import annotations
from typing import Any
import pytest
from django.core.cache import caches

from django_sessionmgr.models import UserSession
from tests.helpers import clone, logged_in_client, session_cookie, stored_session_exists, whoami
from tests.revoke.test_cached_db_race import RevokeBeforeSessionWrite, racing_cache  # noqa: F401
from tests.revoke.test_cached_db_race import urlpatterns  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]


def test_load_race(racing_cache: Any, user: Any) -> None:
    client = logged_in_client(user)
    key = session_cookie(client)
    caches["default"].clear()  # evicted (LocMem culls past MAX_ENTRIES; a restart; ...)
    revoked: list[int] = []
    racing_cache.before_write = lambda: revoked.append(
        UserSession.objects.filter(user=user).revoke()
    )
    print("during:", whoami(client))  # a read-only request: load() misses the cache
    assert revoked == [1]
    print("row:", UserSession.objects.filter(user=user).values_list("status", flat=True)[0])
    print("stored after:", stored_session_exists(key))
    replay = clone(client)
    replay.cookies["sessionid"] = key
    print("replay:", whoami(replay))
    assert whoami(replay) is None
