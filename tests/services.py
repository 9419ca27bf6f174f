"""Real PostgreSQL and Redis servers for the tests that need them.

``scripts/services.sh start`` starts both on loopback and prints the
``DATABASE_URL`` and ``REDIS_URL`` to export. Tests that start their own
servers on a fresh database take the PostgreSQL server from ``POSTGRES_URL``
(falling back to ``DATABASE_URL``), so they also run while the suite itself
runs on SQLite. Without them those tests skip
with the reason; under ``CI=true`` a missing service fails the test instead,
so CI can never pass by skipping what it was meant to prove.
"""

from __future__ import annotations

import os

import dj_database_url
import pytest

HOW_TO_START = 'start them with: eval "$(scripts/services.sh start)"'


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(f"{reason}; {HOW_TO_START}")


def redis_url() -> str:
    """``REDIS_URL`` of a Redis server that answers, or skip (fail under CI)."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        _missing("REDIS_URL is not set")
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
