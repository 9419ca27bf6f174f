"""Every session that still loads can be revoked, and a revoked one is never served again.

Each login-request case runs with and without an incoming session cookie, and
with ``login`` and ``alogin``, on every engine: a pairwise cut of those
(``tests/pairwise.py``), every engine meeting every other value at least once.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, Client
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from django_sessionmgr.exceptions import RevokeFailed
from django_sessionmgr.keys import SEALED_PREFIX, unseal
from django_sessionmgr.models import UserSession
from tests.helpers import (
    ALL_ENGINES,
    PASSWORD,
    logged_in_client,
    make_client,
    read_only,
    session_cookie,
    whoami,
)
from tests.pairwise import pairwise_parametrize
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

NEW_PASSWORD = "another correct horse"


def _after_login(request: HttpRequest, user: Any) -> None:
    """What third-party login flows do right after ``login()``."""
    then = request.POST.get("then", "")
    if then == "remember":  # allauth's remember-me
        request.session.set_expiry(int(request.POST.get("seconds", "600")))
    elif then == "rotate":
        request.session.cycle_key()
    elif then == "password":  # a password set during sign-up, kept signed in
        user.set_password(NEW_PASSWORD)
        user.save()
        update_session_auth_hash(request, user)


@csrf_exempt
def login_then(request: HttpRequest) -> JsonResponse:
    user = auth.authenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    assert user is not None
    auth.login(request, user)
    _after_login(request, user)
    return JsonResponse({"user": user.get_username()})


@csrf_exempt
async def alogin_then(request: HttpRequest) -> JsonResponse:
    user = await auth.aauthenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    assert user is not None
    await auth.alogin(request, user)
    await sync_to_async(_after_login)(request, user)
    return JsonResponse({"user": user.get_username()})


urlpatterns = [
    path("login-then/", login_then),
    path("alogin-then/", alogin_then),
    *project_urlpatterns,
]


def store_expiry(client: Client) -> datetime:
    """The session's real expiry, as its own engine reports it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_cookie(client))
    expiry: datetime = store.get_expiry_date()
    return expiry


async def post_login(client: Any, view: str, username: str, password: str, then: str) -> None:
    data = {"username": username, "password": password, "then": then}
    if isinstance(client, AsyncClient):
        response = await client.post(f"/{view}/", data)
    else:
        response = await sync_to_async(client.post)(f"/{view}/", data)
    assert response.status_code == 200, response.content


@pairwise_parametrize(
    ("engine", "view", "then", "with_cookie"),
    ALL_ENGINES,
    ["login-then", "alogin-then"],
    ["remember", "rotate", "password"],
    [False, True],
)
async def test_changes_after_login_are_followed(
    engine: str, user: Any, view: str, then: str, with_cookie: bool
) -> None:
    client = AsyncClient() if view == "alogin-then" else make_client()
    if with_cookie:
        # A cookie the site already gave this browser (an anonymous session).
        await sync_to_async(_anonymous_cookie)(client)
    await post_login(client, view, "alice", PASSWORD, then)

    row = await UserSession.objects.aget(user=user)
    assert row.status == UserSession.Status.ACTIVE
    assert abs((row.expires_at - await sync_to_async(store_expiry)(client)).total_seconds()) < 2
    if then == "remember":
        assert abs((row.expires_at - timezone.now()).total_seconds() - 600) < 5

    assert await sync_to_async(row.revoke)() is True
    assert await sync_to_async(_whoami_any)(client) is None


def _anonymous_cookie(client: Any) -> None:
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session["visited"] = True
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


def _whoami_any(client: Any) -> str | None:
    twin = make_client()
    for name, morsel in client.cookies.items():
        twin.cookies[name] = morsel.value
    return whoami(twin)


@pytest.mark.parametrize("view", ["login-then", "alogin-then"])
async def test_a_password_set_in_the_login_request_spares_that_session(
    engine: str, user: Any, view: str
) -> None:
    """``alogin()`` then a password change keeps the new session."""
    elsewhere = await sync_to_async(logged_in_client)(user)
    client = AsyncClient() if view == "alogin-then" else make_client()
    await post_login(client, view, "alice", PASSWORD, "password")

    assert await sync_to_async(_whoami_any)(client) == "alice"
    assert await sync_to_async(whoami)(elsewhere) is None
    statuses = sorted([row.status async for row in UserSession.objects.filter(user=user)])
    assert statuses == [UserSession.Status.ACTIVE, UserSession.Status.REVOKED]


def test_a_session_past_its_recorded_expiry_is_refused_and_reads_expired(
    engine: str, user: Any
) -> None:
    """The row's expiry is the session's end on every engine."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        client.get("/set-expiry/?seconds=120")
        traveller.shift(50)  # before the next activity write is due
        assert whoami(client) == "alice"
        traveller.shift(71)
        assert whoami(client) is None
        row = UserSession.objects.get()
        assert row.effective_status == UserSession.Status.EXPIRED
        assert not UserSession.objects.active().exists()


def test_signed_cookie_expiry_is_enforced_by_the_server(settings: Any, user: Any) -> None:
    """A replayed signed cookie past its custom expiry is refused."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        client.get("/set-expiry/?seconds=60")
        replay = session_cookie(client)
        traveller.shift(61)
        attacker = make_client()
        attacker.cookies[settings.SESSION_COOKIE_NAME] = replay
        assert whoami(attacker) is None


def test_a_pre_install_signed_cookie_is_adopted_once(settings: Any, user: Any) -> None:
    """Replays of one unmarked cookie map to one row; revoked, it is refused."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    old = SessionStore()  # as stock Django signed it in, before the install
    old[SESSION_KEY] = str(user.pk)
    old[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    old[HASH_SESSION_KEY] = user.get_session_auth_hash()
    old.save()
    cookie = old.session_key

    for _ in range(3):
        replay = make_client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
        assert whoami(replay) == "alice"
    row = UserSession.objects.get()
    row.revoke()

    replay = make_client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert whoami(replay) is None
    assert UserSession.objects.count() == 1


def test_keys_at_rest_are_sealed_where_the_table_is_the_only_copy(
    engine: str, user: Any, settings: Any
) -> None:
    client = logged_in_client(user)
    stored = UserSession.objects.values_list("session_key", flat=True).get()
    if engine in ("cache", "file"):
        assert stored.startswith(SEALED_PREFIX)
        assert session_cookie(client) not in stored
        assert unseal(stored) == session_cookie(client)
        # A rotated SECRET_KEY still opens the rows written before it.
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "a-brand-new-secret-key-for-this-test"
        assert UserSession.objects.all().revoke() == 1
        assert whoami(client) is None
    elif engine in ("db", "cached_db"):
        assert stored == session_cookie(client)
    else:
        assert stored == ""


def test_keys_sealed_under_a_forgotten_secret_stay_closed(settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    from django_sessionmgr.keys import seal

    sealed = seal("k" * 32)
    settings.SECRET_KEY = "another-secret-entirely-for-this-test"
    settings.SECRET_KEY_FALLBACKS = []
    assert unseal(sealed) is None
    assert unseal(SEALED_PREFIX + "!!!") is None


def test_a_failed_file_delete_raises_and_the_retry_reaches_the_same_sessions(
    session_folder: Path, user: Any
) -> None:
    """A store cleanup that fails, for real: a session folder that refuses deletes."""
    clients = [logged_in_client(user) for _ in range(2)]
    folder = session_folder
    assert all((folder / f"sessionid{session_cookie(c)}").exists() for c in clients)
    read_only(folder, True)
    try:
        with pytest.raises(RevokeFailed):
            UserSession.objects.all().revoke()
        assert set(UserSession.objects.values_list("status", flat=True)) == {"active"}
        assert [whoami(client) for client in clients] == ["alice", "alice"]
    finally:
        read_only(folder, False)
    assert UserSession.objects.all().revoke() == 2
    assert [whoami(client) for client in clients] == [None, None]


def test_a_revoke_during_a_login_request_wins(engine: str, user: Any) -> None:
    """The row is revoked between login() and the session's save: still gone."""
    from django_sessionmgr.signals import session_started

    def revoke_at_once(sender: Any, session: UserSession, **kwargs: Any) -> None:
        UserSession.objects.filter(pk=session.pk).revoke()

    session_started.connect(revoke_at_once, dispatch_uid="test-revoke-at-once")
    client = make_client()
    try:
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        # Stock Django answers 400 when a request's session was deleted under it.
        assert response.status_code in (302, 400)
    finally:
        session_started.disconnect(dispatch_uid="test-revoke-at-once")
    assert whoami(client) is None


def test_expiry_in_json_is_the_real_end(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    client.get("/set-expiry/?seconds=900")
    [item] = client.get("/api/sessions/").json()["results"]
    expires = datetime.fromisoformat(item["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - datetime.now(UTC)).total_seconds() - 900) < 5
    assert timedelta(seconds=0) < expires - timezone.now()


@pytest.fixture
def own_redis(tmp_path: Any) -> Any:
    """A Redis server of this test's own, so it can be stopped and started again."""
    import shutil
    import socket
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        from tests.real_servers import _missing

        _missing("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        process: Any = None

        def start(self) -> None:
            self.process = subprocess.Popen(
                [
                    *(binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
                    *("--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path)),
                ],
                stdout=subprocess.DEVNULL,
            )
            for _ in range(100):
                with socket.socket() as client:
                    if client.connect_ex(("127.0.0.1", port)) == 0:
                        return
                time.sleep(0.05)
            raise RuntimeError("redis-server did not start")

        def stop(self) -> None:
            self.process.terminate()
            self.process.wait(10)

    server = Server()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.mark.parametrize("name", ["cache", "cached_db"])
def test_a_revoke_with_redis_down_raises_and_the_retry_finishes_it(
    name: str, own_redis: Any, settings: Any, user: Any
) -> None:
    """A store cleanup that fails, for real: the Redis server stopped, then started again."""
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
        }
    }
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{name}"
    clients = [logged_in_client(user) for _ in range(2)]
    own_redis.stop()  # its append-only file keeps the sessions for the restart
    with pytest.raises(RevokeFailed):
        UserSession.objects.all().revoke()
    assert set(UserSession.objects.values_list("status", flat=True)) == {"active"}
    caches["default"].close()
    own_redis.start()
    assert [whoami(client) for client in clients] == ["alice", "alice"]
    assert UserSession.objects.all().revoke() == 2
    assert set(UserSession.objects.values_list("status", flat=True)) == {"revoked"}
    assert [whoami(client) for client in clients] == [None, None]


def test_the_api_answers_503_when_the_store_is_down_and_the_retry_finishes(
    own_redis: Any, settings: Any, user: Any
) -> None:
    """Real fault: Redis stopped. The caller signs in with basic auth, so only
    the revoke needs the store. Nothing is revoked; the retry reaches the session."""
    import base64

    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    victim = logged_in_client(user)
    row = UserSession.objects.get()
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    api = make_client(HTTP_AUTHORIZATION=f"Basic {credentials}")

    own_redis.stop()
    response = api.delete(f"/api/sessions/{row.pk}/")
    assert response.status_code == 503
    assert response.json()["code"] == "store_unavailable"
    row.refresh_from_db()
    assert row.status == UserSession.Status.ACTIVE

    caches["default"].close()
    own_redis.start()
    assert whoami(victim) == "alice"
    assert api.delete(f"/api/sessions/{row.pk}/").status_code == 204
    assert whoami(victim) is None


def test_the_page_says_when_signing_out_failed(session_folder: Path, user: Any) -> None:
    """Real fault: the file engine's folder refuses deletes. The page shows a
    message, nothing is revoked, and the retry signs the others out."""
    me = logged_in_client(user)
    other = logged_in_client(user)
    folder = session_folder
    read_only(folder, True)
    try:
        response = me.post("/account/sessions/revoke-others/", follow=True)
    finally:
        read_only(folder, False)
    assert response.status_code == 200
    from django.contrib.messages import ERROR

    assert [m.level for m in response.context["messages"]] == [ERROR]
    assert whoami(other) == "alice"
    assert UserSession.objects.active().count() == 2

    me.post("/account/sessions/revoke-others/")
    assert whoami(other) is None
    assert whoami(me) == "alice"


def test_the_admin_says_when_signing_out_failed(
    session_folder: Path, user: Any, django_user_model: Any
) -> None:
    """Real fault, as above, through the admin action: a message, nothing revoked."""
    from django.contrib.messages import ERROR

    victim = logged_in_client(user)
    root = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    staff = logged_in_client(root)
    row = UserSession.objects.get(user=user)
    folder = session_folder
    read_only(folder, True)
    try:
        response = staff.post(
            "/admin/django_sessionmgr/usersession/",
            {"action": "revoke_sessions", "_selected_action": [str(row.pk)], "post": "yes"},
            follow=True,
        )
    finally:
        read_only(folder, False)
    assert response.status_code == 200
    assert ERROR in [m.level for m in response.context["messages"]]
    assert whoami(victim) == "alice"
    row.refresh_from_db()
    assert row.status == UserSession.Status.ACTIVE
