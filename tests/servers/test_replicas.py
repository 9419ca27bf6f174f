"""Reads routed to a replica never serve a revoked session.

A real PostgreSQL hot standby (``POSTGRES_REPLICA_URL``) and a real Redis
replica (``REDIS_REPLICA_URL``), both from ``scripts/services.sh``. The
standby's replay is paused while a session is revoked on the primary, so the
standby still says the session's row is active and its stored session
exists: whatever the app reads from there is stale.

The database is a fresh one created on the primary (physical replication
copies it to the standby); rows are committed, so no test transaction wraps
these tests. Django's aliases for the two servers are added for this module
only.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections

from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_client_changed
from tests.helpers import PASSWORD, clone, logged_in_client, make_client, whoami
from tests.real_servers import (
    once_per_run,
    postgres_replica_url,
    postgres_url,
    redis_replica_url,
    redis_url,
)

pytestmark = [pytest.mark.services, once_per_run]

PRIMARY, STANDBY = "sessionmgr_primary", "sessionmgr_standby"
#: Bound on every wait for a replica.
DEADLINE_SECONDS = 30


class ReplicaRouter:
    """A project's read-replica router: every write to the primary, every read
    from the standby, but the session engine's own reads (``session_reads``)."""

    def __init__(self, session_reads: str = PRIMARY) -> None:
        self.session_reads = session_reads

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.session_reads if model is Session else STANDBY

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


class Replication:
    """The primary and its paused-or-not standby, through plain connections
    (not Django's): the standby's own ``postgres`` database takes the
    replay controls, so dropping the test database never waits on them."""

    def __init__(self, primary: Any, standby: Any) -> None:
        self.primary, self.standby = primary, standby

    def catch_up(self) -> None:
        """Wait until the standby replayed everything the primary wrote."""
        (lsn,) = self.primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not self.standby.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)

    def pause(self) -> None:
        """No record the primary writes from now on is replayed until ``resume``."""
        self.catch_up()
        self.standby.execute("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self.standby.execute("SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def replication(django_db_blocker: Any) -> Iterator[Replication]:
    """A fresh database on the primary, migrated, seen through both servers."""
    import psycopg

    server, standby_server = postgres_url(), postgres_replica_url()
    name = f"sessionmgr_replica_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    configured = connections.configure_settings(
        {
            DEFAULT_DB_ALIAS: {},
            PRIMARY: dj_database_url.parse(_with_database(server, name)),
            STANDBY: dj_database_url.parse(_with_database(standby_server, name)),
        }
    )
    control = Replication(
        psycopg.connect(server, autocommit=True),
        psycopg.connect(_with_database(standby_server, "postgres"), autocommit=True),
    )
    try:
        control.resume()  # after a run that was killed while paused
        for alias in (PRIMARY, STANDBY):
            connections.settings[alias] = configured[alias]
        with django_db_blocker.unblock():
            call_command("migrate", database=PRIMARY, verbosity=0, interactive=False)
        control.catch_up()
        yield control
    finally:
        control.resume()
        for alias in (PRIMARY, STANDBY):
            if alias in connections.settings:
                connections[alias].close()
                del connections[alias]
                del connections.settings[alias]
        control.standby.close()
        control.primary.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        control.primary.close()


@pytest.fixture
def routed(
    replication: Replication, settings: Any, django_db_blocker: Any
) -> Iterator[Replication]:
    """Reads routed to the standby; replay resumed after the test, whatever happens."""
    settings.DATABASE_ROUTERS = [ReplicaRouter()]
    with django_db_blocker.unblock():
        try:
            yield replication
        finally:
            replication.resume()


def _user(replication: Replication) -> Any:
    """A user of the test's own, on the standby too (it is read from there)."""
    user = (
        get_user_model()
        ._default_manager.db_manager(PRIMARY)
        .create_user(f"user-{uuid.uuid4().hex[:8]}", password=PASSWORD)
    )
    replication.catch_up()
    return user


def _standby_status(row_id: Any) -> str:
    return str(UserSession.objects.using(STANDBY).values_list("status", flat=True).get(pk=row_id))


@pytest.mark.parametrize(
    "engine", ["db", "cached_db", "cache", "file", "signed_cookies"], indirect=True
)
def test_a_revoke_wins_while_the_standby_lags(routed: Replication, engine: str) -> None:
    """Reads of the rows (and users) come from the standby: still the revoke on
    the primary ends the session at once. The revoke clears the store of
    exactly the rows its UPDATE marked (read back from the primary), a signed
    cookie's row is read from the primary, and so is the row that says why."""
    user = _user(routed)
    client = logged_in_client(user)
    assert whoami(client) == user.username
    row = UserSession.objects.using(PRIMARY).get(user_id=user.pk)

    routed.pause()
    assert UserSession.objects.filter(user_id=user.pk).revoke() == 1
    assert _standby_status(row.pk) == "active"  # the standby has not seen it

    answer = clone(client).get("/api/sessions/")
    assert answer.status_code in (401, 403)
    assert answer.json()["code"] == "session_revoked"  # the row as written says why
    assert whoami(client) is None
    assert UserSession.objects.using(PRIMARY).get(pk=row.pk).status == "revoked"


@pytest.mark.parametrize("engine", ["db", "signed_cookies"], indirect=True)
def test_a_session_from_before_the_install_is_adopted_and_revocable_while_the_standby_lags(
    routed: Replication, engine: str, settings: Any
) -> None:
    """A session signed in before the install gets its row although its user
    was read from the standby, and a replay of its original cookie after the
    revoke finds that row on the primary (the standby has none yet)."""
    user = _user(routed)
    routed.pause()
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    session.save()
    client = make_client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    replay = clone(client)

    assert whoami(client) == user.username
    assert UserSession.objects.using(PRIMARY).filter(user_id=user.pk, status="active").exists()
    assert UserSession.objects.filter(user_id=user.pk).revoke() == 1

    assert whoami(replay) is None


@pytest.mark.parametrize("engine", ["signed_cookies-redis"], indirect=True)
def test_a_logout_marks_its_user_while_the_standby_lags(
    routed: Replication, engine: str, settings: Any
) -> None:
    """A signed cookie's logout writes its user's sign-out mark, reading the
    user of the row from the primary: the standby has no row yet. A replay of
    the cookie, within the activity interval and written after the user's
    previous mark, is refused."""
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 5}
    user = _user(routed)
    routed.pause()  # the row is on the primary only
    client = logged_in_client(user)
    assert whoami(client) == user.username  # no mark yet: the row is read, and a mark added
    time.sleep(6)  # past the interval, and past that mark's two seconds of skew
    assert whoami(client) == user.username  # an activity write, later than that mark
    replay = clone(client)

    response = client.post("/accounts/logout/")
    assert response.status_code in (200, 302)
    assert UserSession.objects.using(PRIMARY).get(user_id=user.pk).status == "ended"

    assert whoami(replay) is None


def test_a_session_limit_counts_sessions_the_standby_has_not_seen(
    routed: Replication, settings: Any
) -> None:
    """``MAX_SESSIONS`` counts the user's sessions where the login inserts."""
    settings.SESSIONMGR = {"MAX_SESSIONS": 1}
    user = _user(routed)
    routed.pause()
    first = logged_in_client(user)
    second = logged_in_client(user)

    assert whoami(first) is None
    assert whoami(second) == user.username


def test_staff_revoke_a_session_the_standby_has_not_seen(
    routed: Replication, settings: Any
) -> None:
    """The staff API's bulk revoke finds the ids where rows are written."""
    staff = _user(routed)
    staff.is_staff = staff.is_superuser = True
    staff.save(using=PRIMARY)
    user = _user(routed)  # and the standby sees both
    staff_client = logged_in_client(staff)
    routed.pause()
    client = logged_in_client(user)
    row = UserSession.objects.using(PRIMARY).get(user_id=user.pk)

    response = staff_client.post(
        "/api/admin/sessions/revoke/",
        json.dumps({"ids": [str(row.pk)]}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"revoked": 1}
    assert whoami(client) is None


def test_a_revoked_row_read_from_the_standby_says_so(routed: Replication) -> None:
    """``UserSession.revoke()`` refreshes the instance from the primary."""
    user = _user(routed)
    logged_in_client(user)
    routed.catch_up()
    row = UserSession.objects.get(user_id=user.pk)  # from the standby
    routed.pause()

    assert row.revoke()
    assert row.status == UserSession.Status.REVOKED


def test_a_session_seen_elsewhere_is_told_while_the_standby_lags(
    routed: Replication, settings: Any
) -> None:
    """A change of address is compared with the row as written."""
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 0}
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    user = _user(routed)
    routed.pause()
    client = logged_in_client(user, ip="203.0.113.9")
    session_client_changed.connect(receiver)
    try:
        assert whoami(clone(client, ip="198.51.100.7")) == user.username
    finally:
        session_client_changed.disconnect(receiver)

    assert len(received) == 1
    assert received[0]["previous_ip_address"] == "203.0.113.9"
    assert received[0]["session"].user_id == user.pk


def _engine_checks() -> list[str]:
    return [message.id for message in run_checks() if message.id.startswith("django_sessionmgr")]


@pytest.mark.parametrize("engine", ["db", "cached_db"], indirect=True)
def test_check_refuses_session_reads_from_the_standby(
    routed: Replication, engine: str, settings: Any
) -> None:
    """A router that sends the session model's reads to the standby fails the
    check (E011): Django's engine loads a revoked, deleted session from there."""
    assert (
        "django_sessionmgr.E011" not in _engine_checks()
    )  # ReplicaRouter reads them from the primary

    settings.DATABASE_ROUTERS = [ReplicaRouter(session_reads=STANDBY)]
    assert "django_sessionmgr.E011" in _engine_checks()

    # What the check prevents: the standby still has the deleted session.
    user = _user(routed)
    client = logged_in_client(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    routed.pause()
    assert UserSession.objects.filter(user_id=user.pk).revoke() == 1
    assert not Session.objects.using(PRIMARY).filter(session_key=key).exists()
    assert Session.objects.using(STANDBY).filter(session_key=key).exists()
    assert whoami(client) == user.username


# Redis: Django's RedisCache with several LOCATION entries writes to the first and
# reads from the others.


@pytest.fixture
def redis_pair() -> Iterator[tuple[str, str]]:
    """URLs of the Redis primary and its replica (same database number); the
    replica follows the primary again after the test."""
    import redis

    primary = redis_url()
    replica = urlunsplit(urlsplit(redis_replica_url())._replace(path=urlsplit(primary).path))
    follower = redis.Redis.from_url(replica)
    info = follower.info("replication")
    leader = (info["master_host"], info["master_port"])
    try:
        yield primary, replica
    finally:
        follower.replicaof(*leader)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while follower.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "the Redis replica did not follow again"
            time.sleep(0.05)


def _redis_caught_up(primary: str, replica: str) -> None:
    import redis

    leader, follower = redis.Redis.from_url(primary), redis.Redis.from_url(replica)
    offset = leader.info("replication")["master_repl_offset"]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while follower.info("replication")["slave_repl_offset"] < offset:
        assert time.monotonic() < deadline, "the Redis replica did not catch up"
        time.sleep(0.05)


@pytest.mark.django_db
@pytest.mark.parametrize("engine_name", ["cache", "cached_db", "signed_cookies"])
def test_check_refuses_a_session_cache_that_reads_from_a_redis_replica(
    redis_pair: tuple[str, str], engine_name: str, settings: Any
) -> None:
    """The session (or sign-out mark) cache as a RedisCache with a replica
    among its LOCATION entries fails the check (E012), in either way of writing them."""
    primary, replica = redis_pair
    backend = "django.core.cache.backends.redis.RedisCache"
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine_name}"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": primary}}
    assert "django_sessionmgr.E012" not in _engine_checks()
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": [primary, replica]}}
    assert "django_sessionmgr.E012" in _engine_checks()
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": f"{primary};{replica}"}}
    assert "django_sessionmgr.E012" in _engine_checks()


@pytest.mark.django_db
def test_what_the_redis_replica_check_prevents(
    redis_pair: tuple[str, str], settings: Any, django_user_model: Any
) -> None:
    """With replication stopped during the revoke, the cache engine loads the
    revoked session from the replica: why E012 is an error, not a warning."""
    import redis

    primary, replica = redis_pair
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": [primary, replica],
        }
    }
    assert "django_sessionmgr.E012" in _engine_checks()
    user = django_user_model.objects.create_user("redis-replica", password=PASSWORD)
    client = logged_in_client(user)
    _redis_caught_up(primary, replica)
    assert whoami(client) == user.username

    redis.Redis.from_url(replica).replicaof("NO", "ONE")
    assert UserSession.objects.filter(user=user).revoke() == 1
    assert whoami(client) == user.username
