"""What the tests share: engine switching, signing in, rows, faults, assertions.

Fixtures live in ``conftest.py``; everything here is a plain function or
constant, imported by name (``from tests.helpers import logged_in_client``).
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from django_sessionmgr.checks import MIDDLEWARE_PATH
from django_sessionmgr.markers import session_row_id
from django_sessionmgr.models import UserSession
from tests.services import redis_url

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
PASSWORD = "correct horse battery staple"

# Engines

ENGINES = ["db", "cached_db", "cache", "file", "signed_cookies"]
SERVER_SIDE_ENGINES = [e for e in ENGINES if e != "signed_cookies"]
#: The cache-backed engines again on Django's RedisCache: "<engine>-redis", and
#: signed cookies with their sign-out marks on it. Without REDIS_URL they are
#: skipped at collection (conftest.py); under CI=true a missing Redis fails them.
SERVER_SIDE_REDIS_ENGINES = ["cached_db-redis", "cache-redis"]
REDIS_ENGINES = [*SERVER_SIDE_REDIS_ENGINES, "signed_cookies-redis"]
ALL_ENGINES = ENGINES + REDIS_ENGINES


def use_engine(param: str, settings: Any, tmp_path: Any) -> Iterator[str]:
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


def on_every_engine(argnames: Sequence[str], cases: Sequence[Sequence[Any]]) -> Any:
    """Parametrize ``engine`` and ``argnames`` so that only the first case runs
    on every engine: the other cases vary what no engine touches (a setting's
    form, a count in a message), so they run once, on ``db``."""
    first, *rest = cases
    combos = [(engine, *first) for engine in ALL_ENGINES] + [("db", *case) for case in rest]
    return pytest.mark.parametrize(("engine", *argnames), combos, indirect=["engine"])


def stored_session_exists(session_key: str) -> bool:
    """Ask the configured engine's own store whether the session is still there."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return bool(store().exists(session_key))


# Clients and signing in


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


def clone(client: Client, **kwargs: Any) -> Client:
    """A new client (with freshly loaded middleware) holding the same cookies."""
    twin = make_client(**kwargs)
    for name, morsel in client.cookies.items():
        twin.cookies[name] = morsel.value
    return twin


def whoami(client: Client, path: str = "/whoami/") -> str | None:
    response = client.get(path)
    assert response.status_code == 200, response.content
    username: str | None = response.json()["user"]
    return username


async def awhoami(client: AsyncClient) -> str | None:
    response = await client.get("/async-whoami/")
    assert response.status_code == 200, response.content
    username: str | None = response.json()["user"]
    return username


async def alogin(client: AsyncClient, username: str) -> None:
    """Log ``client`` in through ``alogin`` (the test project's /async-login/)."""
    response = await client.post(
        "/async-login/",
        {"username": username, "password": PASSWORD},
        headers={"user-agent": FIREFOX},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"user": username}


def session_cookie(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def count_queries(client: Client, path: str) -> int:
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def stock_middleware() -> list[str]:
    """The test project's MIDDLEWARE without ours: what stock Django would run."""
    return [path for path in settings.MIDDLEWARE if path != MIDDLEWARE_PATH]


@contextmanager
def without_sessionmgr() -> Iterator[None]:
    """Serve requests made inside (by clients that first request inside) as stock Django."""
    with override_settings(MIDDLEWARE=stock_middleware()):
        yield


# Rows


def current_row_id(client: Client) -> str | None:
    """The public id of the ``UserSession`` the client's session cookie points at."""
    request = HttpRequest()
    request.session = client.session
    return session_row_id(request)


def row_of(client: Client) -> UserSession:
    """The client's own row."""
    row_id = current_row_id(client)
    assert row_id is not None, "the client's session has no row"
    return UserSession.objects.get(pk=row_id)


def active_rows(user: Any) -> list[UserSession]:
    return list(UserSession.objects.filter(user=user).active())


def make_row(user: Any, **fields: Any) -> UserSession:
    """A row written straight to the table, for states a browser can't reach
    quickly (no real session behind it); active for a day unless told."""
    fields.setdefault("expires_at", timezone.now() + timedelta(days=1))
    return UserSession.objects.create(user=user, **fields)


def make_rows(user: Any, count: int, *, keyed: bool = False, **fields: Any) -> list[UserSession]:
    """``count`` such rows in one query, each created a minute before the one
    made before it. ``keyed`` gives each a made-up session key, so that a
    revoke of them also goes to the session store."""
    now = timezone.now()
    return UserSession.objects.bulk_create(
        UserSession(
            user=user,
            created_at=now - timedelta(minutes=i + 1),
            expires_at=now + timedelta(days=1),
            **({"session_key": f"k{i}"} if keyed else {}),
            **fields,
        )
        for i in range(count)
    )


def make_staff(django_user_model: Any, username: str, *codenames: str, staff: bool = True) -> Any:
    """A user with exactly these permissions (codenames are unique in the test project)."""
    from django.contrib.auth.models import Permission

    member = django_user_model.objects.create_user(
        username, f"{username}@example.com", PASSWORD, is_staff=staff
    )
    member.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return member


# Real faults


def read_only(folder: Any, on: bool) -> None:
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


# What every integration suite asserts about the package it runs beside

#: Time a test takes between the session's save and the assertion.
SLACK = timedelta(seconds=5)


def assert_one_row_following(client: Client, user: Any) -> UserSession:
    """Exactly one active browser row for the login (token sessions have rows of
    their own), it is the client's, and its expiry is the session's."""
    rows = [row for row in active_rows(user) if row.kind == UserSession.Kind.SESSION]
    assert len(rows) == 1, rows
    row = row_of(client)
    assert row.pk == rows[0].pk
    assert abs(row.expires_at - client.session.get_expiry_date()) <= SLACK, (
        row.expires_at,
        client.session.get_expiry_date(),
    )
    return row


def assert_revoke_ends(client: Client, user: Any) -> None:
    assert whoami(client) == user.get_username()
    assert UserSession.objects.filter(pk=row_of(client).pk).revoke() == 1
    assert whoami(client) is None


def assert_rotation_followed(client: Client, user: Any) -> None:
    """After ``cycle_key`` the same row is current and a revoke of it still ends the session."""
    before = row_of(client).pk
    old_key = client.session.session_key
    assert whoami(client, "/rotate/") == user.get_username()
    assert client.session.session_key != old_key
    assert row_of(client).pk == before
    assert_revoke_ends(client, user)


def assert_password_change_revokes_others(change_password: Any, user: Any, login: Any) -> None:
    """``login(client)`` signs a client in; ``change_password(client)`` changes it there."""
    this, other = login(make_client()), login(make_client(ip="198.51.100.7"))
    assert len(active_rows(user)) == 2
    change_password(this)
    assert whoami(other) is None
    assert whoami(this) == user.get_username()
    assert [row.pk for row in active_rows(user)] == [row_of(this).pk]
