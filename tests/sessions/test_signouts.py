"""What a between-writes request costs, and the sign-out mark of signed cookies.

The async path must stay on the event loop: against stock Django with the
same async view, the middleware adds no thread hop on any engine, and no
query but a signed cookie's check (done in the hop that loads the user). The check of
a signed cookie is one ``get`` of its user's sign-out mark on a shared cache
(Redis here), the row read only when the mark cannot vouch; with
``LocMemCache`` the mark is never used.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asgiref.sync
import pytest
import pytest_asyncio
import time_machine
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection, connections
from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import path

from django_sessionmgr.exceptions import RevokeFailed
from django_sessionmgr.models import UserSession
from django_sessionmgr.signouts import mark_cache, mark_key, note_no_mark, read_mark
from tests.helpers import (
    PASSWORD,
    current_row_id,
    logged_in_client,
    make_client,
    session_cookie,
    stock_middleware,
    whoami,
)
from tests.real_servers import redis_url
from tests.revoke.test_every_live_session import own_redis  # noqa: F401 (a fixture)
from tests.urls import urlpatterns as project_urlpatterns

BETWEEN_WRITES = {"ACTIVITY_UPDATE_INTERVAL": 3600}


async def auser_whoami(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({"user": user.get_username() or None})


urlpatterns = [path("auser-whoami/", auser_whoami), *project_urlpatterns]


def replay(cookie: str) -> Client:
    client = make_client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


def redis_cache(location: str) -> dict[str, Any]:
    return {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    }


# The async path: thread hops and queries against stock Django.


@pytest_asyncio.fixture
async def close_worker_connections() -> AsyncIterator[None]:
    yield
    await sync_to_async(connections.close_all)()


async def cost(client: AsyncClient, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(thread hops, queries) of one ``auser-whoami`` request."""
    hops = []
    queries = []
    original = asgiref.sync.SyncToAsync.__call__

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(self.func)
        return await original(self, *args, **kwargs)

    def count_query(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    def counting() -> Any:
        # Every thread-sensitive call runs in one worker thread: count its queries there.
        wrapper = connection.execute_wrapper(count_query)
        wrapper.__enter__()
        return wrapper

    wrapper = await sync_to_async(counting)()
    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counted)
    try:
        response = await client.get("/auser-whoami/")
    finally:
        monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", original)
        await sync_to_async(wrapper.__exit__)(None, None, None)
    assert response.json() == {"user": "alice"}
    return len(hops), len(queries)


async def async_client_for(cookie: str, middleware: list[str]) -> AsyncClient:
    client = AsyncClient()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    with override_settings(MIDDLEWARE=middleware):
        await client.get("/auser-whoami/")  # the handler loads its middleware now
    return client


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_worker_connections")
async def test_the_async_path_hops_only_for_the_database(
    engine: str, user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SESSIONMGR = BETWEEN_WRITES
    session = await sync_to_async(logged_in_client)(user)
    cookie = session_cookie(session)
    app = await async_client_for(cookie, settings.MIDDLEWARE)
    stock = await async_client_for(cookie, stock_middleware())
    # With a shared cache, the login's row write recorded the user's mark.
    marks = await sync_to_async(mark_cache)() is not None

    for _ in range(2):  # the second round with everything warm
        stock_hops, stock_queries = await cost(stock, monkeypatch)
        app_hops, app_queries = await cost(app, monkeypatch)

    signed = engine == "signed_cookies"
    # A cached_db session is checked against its mark too (a revoked session
    # written back into the cache must not load): one cache get, in a thread.
    assert app_hops == stock_hops + (engine == "cached_db" and marks)
    assert app_queries == stock_queries + (signed and not marks)  # the row, without a mark
    assert stock_queries >= 1  # the user, at least


# The mark on a shared cache (Redis).


@pytest.fixture
def signed_on_redis(settings: Any) -> Iterator[Any]:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.CACHES = redis_cache(redis_url())
    settings.SESSIONMGR = BETWEEN_WRITES
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


@pytest.fixture
def clock() -> Iterator[Any]:
    """Time that only moves forward, and can be moved on (a mark holds for whole seconds)."""
    with time_machine.travel(time.time(), tick=True) as traveller:
        yield traveller


def vouch_for(client: Client, clock: Any) -> None:
    """Bring the session to the steady state: written after its user's mark."""
    assert whoami(client) == "alice"  # no mark yet: the row is read and a mark added
    clock.shift(10)
    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert whoami(client) == "alice"  # an activity write, after the mark


def queries_of(client: Client) -> tuple[str | None, int]:
    with CaptureQueriesContext(connection) as queries:
        name = whoami(client)
    return name, len(queries)


@pytest.mark.django_db
def test_the_mark_vouches_for_a_session_written_after_it(
    signed_on_redis: Any, user: Any, clock: Any
) -> None:
    client = logged_in_client(user)
    with override_settings(MIDDLEWARE=stock_middleware()):
        stock = queries_of(replay(session_cookie(client)))
    assert stock == ("alice", 1)  # the user
    # The login's row write read (and made) the user's mark first: vouched for at once.
    assert read_mark(signed_on_redis, user.pk) is not None
    assert queries_of(client) == stock  # one cache get, no query
    assert queries_of(client) == stock

    signed_on_redis.clear()  # a lost mark: the row is read, and a new mark added
    assert queries_of(client) == ("alice", 2)
    assert read_mark(signed_on_redis, user.pk) is not None
    assert queries_of(client) == ("alice", 2)  # not the token its last write saw: still read
    vouch_for(client, clock)
    assert queries_of(client) == stock


def revoke_by_queryset(user: Any, victim: Client) -> None:
    UserSession.objects.filter(pk=current_row_id(victim)).revoke()


def revoke_by_self_service(user: Any, victim: Client) -> None:
    other = logged_in_client(user)
    assert other.post("/api/sessions/revoke-others/").json() == {"revoked": 1}


def revoke_by_staff_api(user: Any, victim: Client) -> None:
    staff = logged_in_client(superuser())
    assert staff.delete(f"/api/admin/sessions/{current_row_id(victim)}/").status_code == 204


def revoke_by_admin(user: Any, victim: Client) -> None:
    staff = logged_in_client(superuser())
    response = staff.post(
        "/admin/django_sessionmgr/usersession/",
        {"action": "revoke_sessions", "_selected_action": [current_row_id(victim)], "post": "yes"},
    )
    assert response.status_code == 302


def revoke_by_command(user: Any, victim: Client) -> None:
    call_command("sessionmgr_revoke", "alice", stdout=None)


def revoke_by_password_change(user: Any, victim: Client) -> None:
    user.set_password("a new password")
    user.save()


def revoke_by_session_limit(user: Any, victim: Client) -> None:
    with override_settings(SESSIONMGR={**BETWEEN_WRITES, "MAX_SESSIONS": 1}):
        logged_in_client(user)


def superuser() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "revoke",
    [
        revoke_by_queryset,
        revoke_by_self_service,
        revoke_by_staff_api,
        revoke_by_admin,
        revoke_by_command,
        revoke_by_password_change,
        revoke_by_session_limit,
    ],
)
def test_every_revoke_reaches_a_session_the_mark_vouched_for(
    signed_on_redis: Any, user: Any, clock: Any, revoke: Any
) -> None:
    victim = logged_in_client(user)
    vouch_for(victim, clock)
    stolen = session_cookie(victim)
    assert queries_of(replay(stolen)) == ("alice", 1)

    revoke(user, victim)

    assert whoami(replay(stolen)) is None
    assert UserSession.objects.get(pk=current_row_id(victim)).status == "revoked"


@pytest.mark.django_db
def test_a_replayed_cookie_after_logout_is_refused(
    signed_on_redis: Any, user: Any, clock: Any
) -> None:
    victim = logged_in_client(user)
    vouch_for(victim, clock)
    stolen = session_cookie(victim)

    victim.post("/accounts/logout/")

    assert whoami(replay(stolen)) is None


@pytest.mark.django_db
def test_a_request_filling_the_mark_never_overwrites_a_revokes(
    signed_on_redis: Any, user: Any, clock: Any
) -> None:
    victim = logged_in_client(user)
    vouch_for(victim, clock)
    stolen = session_cookie(victim)
    clock.shift(10)

    UserSession.objects.all().revoke()
    revoked_mark = read_mark(signed_on_redis, user.pk)
    # A request that read the row just before the revoke committed, and adds its mark now.
    clock.shift(10)
    note_no_mark(signed_on_redis, user.pk)

    assert read_mark(signed_on_redis, user.pk) == revoked_mark
    assert whoami(replay(stolen)) is None


@pytest.mark.django_db
def test_a_lost_mark_brings_back_the_row_read(signed_on_redis: Any, user: Any, clock: Any) -> None:
    victim = logged_in_client(user)
    vouch_for(victim, clock)
    stolen = session_cookie(victim)
    UserSession.objects.all().revoke()

    signed_on_redis.clear()  # evicted, or a restarted cache

    assert queries_of(replay(stolen))[0] is None
    assert read_mark(signed_on_redis, user.pk) is None  # a refused session adds no mark


@pytest.mark.django_db
def test_with_the_cache_down_the_row_decides(
    own_redis: Any,  # noqa: F811
    settings: Any,
    user: Any,
    clock: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.CACHES = redis_cache(own_redis.url)
    settings.SESSIONMGR = BETWEEN_WRITES
    revoked, kept = logged_in_client(user), logged_in_client(user)
    vouch_for(revoked, clock)
    vouch_for(kept, clock)
    UserSession.objects.filter(pk=current_row_id(revoked)).revoke()

    own_redis.stop()
    caches["default"].close()

    assert whoami(revoked) is None
    assert queries_of(kept) == ("alice", 2)  # the row, read
    assert "could not read a sign-out mark" in caplog.text
    # A revoke that cannot write its mark fails, and leaves the rows as they were.
    with pytest.raises(RevokeFailed):
        UserSession.objects.all().revoke()
    assert UserSession.objects.get(pk=current_row_id(kept)).status == "active"
    assert whoami(kept) == "alice"


@pytest.mark.django_db
@pytest.mark.parametrize("skew", [30, -30, 3600])
def test_a_revoke_wins_whatever_the_writing_servers_clock(
    signed_on_redis: Any, user: Any, skew: int
) -> None:
    """The marks compare tokens, not times: a session last written by a server
    whose clock runs ahead (or behind) is still refused after a later revoke,
    with no activity write in between."""
    victim = logged_in_client(user)
    skewed = time_machine.travel(time.time() + skew, tick=True)
    with skewed, override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert whoami(victim) == "alice"  # an activity write on the skewed server
    stolen = session_cookie(victim)
    assert queries_of(replay(stolen)) == ("alice", 1)  # vouched for by its mark

    UserSession.objects.filter(pk=current_row_id(victim)).revoke()

    assert whoami(replay(stolen)) is None


@pytest.fixture
def cached_db_on_redis(settings: Any) -> Iterator[Any]:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CACHES = redis_cache(redis_url())
    settings.SESSIONMGR = BETWEEN_WRITES
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


@pytest.mark.django_db
def test_a_cached_db_session_written_back_into_the_cache_after_a_revoke_is_refused(
    cached_db_on_redis: Any, user: Any
) -> None:
    """A request that read a cached_db session just before a revoke can write
    it back into the cache after the revoke cleared it (a slow cache write):
    the sign-out mark refuses it, and the refusal deletes it."""
    from django.contrib.sessions.backends.cached_db import SessionStore

    victim = logged_in_client(user)
    key = session_cookie(victim)
    late_write = dict(SessionStore(session_key=key).load())  # read before the revoke
    assert queries_of(victim) == ("alice", 1)  # the user; the mark vouches, no row read

    UserSession.objects.filter(pk=current_row_id(victim)).revoke()
    assert cached_db_on_redis.get(SessionStore.cache_key_prefix + key) is None
    # The late write lands.
    cached_db_on_redis.set(SessionStore.cache_key_prefix + key, late_write, 3600)

    assert whoami(victim) is None
    assert cached_db_on_redis.get(SessionStore.cache_key_prefix + key) is None


# A process-local cache never holds the mark.


@pytest.mark.django_db
def test_a_process_local_cache_is_never_trusted(settings: Any, user: Any, clock: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.SESSIONMGR = BETWEEN_WRITES
    assert "LocMemCache" in settings.CACHES["default"]["BACKEND"]
    assert mark_cache() is None
    victim = logged_in_client(user)
    vouch_for(victim, clock)
    stolen = session_cookie(victim)

    assert queries_of(replay(stolen)) == ("alice", 2)  # the row, every time
    with CaptureQueriesContext(connection) as revoke_queries:
        UserSession.objects.all().revoke()
    # No users to mark: no read of the revoked sessions' users.
    users_read = 'SELECT DISTINCT "django_sessionmgr_usersession"."user_id"'
    assert not any(users_read in query["sql"] for query in revoke_queries)
    assert read_mark(caches["default"], user.pk) is None

    assert whoami(replay(stolen)) is None


def test_mark_keys_are_safe_for_any_primary_key() -> None:
    assert mark_key(42) == "django_sessionmgr:signout:42"
    uuid_key = "7f1c0e4e-2a4b-4f57-9a4c-0d6a1b2c3d4e"
    assert mark_key(uuid_key).endswith(uuid_key)
    odd = mark_key("an email@example.com with spaces" * 5)
    assert " " not in odd and len(odd) < 100
