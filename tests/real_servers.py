"""Real PostgreSQL, Redis and MariaDB servers for the tests that need them.

``scripts/services.sh start`` starts them on loopback, with a hot standby of
the PostgreSQL server and a replica of the Redis server, and prints the
``DATABASE_URL``, ``REDIS_URL``, ``MARIADB_URL``, ``POSTGRES_REPLICA_URL`` and
``REDIS_REPLICA_URL`` to export. Tests that start their own
servers on a fresh database take the PostgreSQL server from ``POSTGRES_URL``
(falling back to ``DATABASE_URL``), so they also run while the suite itself
runs on SQLite. Without them those tests skip
with the reason; under ``CI=true`` a missing service fails the test instead,
so CI can never pass by skipping what it was meant to prove.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import pytest

HOW_TO_START = 'start them with: eval "$(scripts/services.sh start)"'


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(f"{reason}; {HOW_TO_START}")


def _own_database(url: str) -> str:
    """``url`` with a Redis database of this pytest-xdist worker's own: tests
    clear the cache they use, which must not wipe another worker's sessions.
    Worker ``gwN`` takes the database N + 1 after the URL's (modulo Redis's 16)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + 1 + int(worker[2:])) % 16}"))


def redis_url() -> str:
    """``REDIS_URL`` of a Redis server that answers, or skip (fail under CI);
    under pytest-xdist, in a database of the worker's own."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        _missing("REDIS_URL is not set")
    url = _own_database(url)
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        _missing(f"Redis at REDIS_URL does not answer ({error})")
    return url


def postgres_url() -> str:
    """URL of a PostgreSQL server that answers, or skip (fail under CI)."""
    url = os.environ.get("POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    engine = dj_database_url.parse(url)["ENGINE"] if url else ""
    if engine != "django.db.backends.postgresql":
        _missing("neither POSTGRES_URL nor DATABASE_URL names a PostgreSQL database")
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as error:
        _missing(f"PostgreSQL at that URL does not answer ({error})")
    return url


def postgres_replica_url() -> str:
    """``POSTGRES_REPLICA_URL`` of a hot standby that answers, or skip (fail under CI)."""
    url = os.environ.get("POSTGRES_REPLICA_URL", "")
    if not url:
        _missing("POSTGRES_REPLICA_URL is not set")
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            standby = connection.execute("SELECT pg_is_in_recovery()").fetchone()
    except psycopg.Error as error:
        _missing(f"PostgreSQL at POSTGRES_REPLICA_URL does not answer ({error})")
    if not standby or not standby[0]:
        _missing("PostgreSQL at POSTGRES_REPLICA_URL is not a standby")
    return url


def redis_replica_url() -> str:
    """``REDIS_REPLICA_URL`` of a Redis replica that answers, or skip (fail under CI)."""
    url = os.environ.get("REDIS_REPLICA_URL", "")
    if not url:
        _missing("REDIS_REPLICA_URL is not set")
    import redis

    try:
        role = redis.Redis.from_url(url, socket_connect_timeout=2).role()
    except redis.RedisError as error:
        _missing(f"Redis at REDIS_REPLICA_URL does not answer ({error})")
    if role[0] not in (b"slave", "slave"):
        _missing("Redis at REDIS_REPLICA_URL is not a replica")
    return url


def mariadb_url() -> str:
    """``MARIADB_URL`` of a MariaDB server that answers, or skip (fail under CI)."""
    url = os.environ.get("MARIADB_URL", "")
    if not url:
        _missing("MARIADB_URL is not set")
    import MySQLdb

    config = dj_database_url.parse(url)
    try:
        MySQLdb.connect(
            host=config["HOST"],
            port=int(config["PORT"]),
            user=config["USER"],
            password=config["PASSWORD"],
            connect_timeout=3,
        ).close()
    except MySQLdb.Error as error:
        _missing(f"MariaDB at MARIADB_URL does not answer ({error})")
    return url


def _suite_on_sqlite() -> bool:
    url = os.environ.get("DATABASE_URL", "")
    return not url or url.startswith("sqlite")


#: For tests that start servers on a database of their own: they prove the
#: same whatever the suite's database, so they run in the SQLite pass only.
once_per_run = pytest.mark.skipif(
    not _suite_on_sqlite(),
    reason="runs its own servers on a database of its own: once, in the SQLite pass",
)

#: For tests of MariaDB itself on a database of their own: they run in the
#: MariaDB pass, the one whose environment has the driver.
in_the_mariadb_pass = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("mysql"),
    reason="a test of MariaDB itself: runs in the MariaDB pass (DATABASE_URL=mysql://...)",
)


MARIADB_DRIVER_MISSING = (
    "DATABASE_URL names MariaDB/MySQL but the mysqlclient driver is not installed "
    "(it is not in the test group: it builds from source). Install it with "
    "`pip install --group mariadb` (needs default-libmysqlclient-dev, pkg-config and a "
    "C compiler); `make test` does so itself when DATABASE_URL starts with mysql://"
)


def mariadb_driver_missing() -> bool:
    """Whether ``DATABASE_URL`` names MariaDB/MySQL and its driver is absent
    (tests/settings.py then starts on SQLite, only for every test to skip)."""
    from django.conf import settings

    return bool(getattr(settings, "MARIADB_DRIVER_MISSING", False))
