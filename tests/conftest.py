"""Fixtures; the plain helpers they use are in ``tests/helpers.py``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

from tests.helpers import (
    ALL_ENGINES,
    PASSWORD,
    REDIS_ENGINES,
    SERVER_SIDE_ENGINES,
    SERVER_SIDE_REDIS_ENGINES,
    use_engine,
)
from tests.real_servers import HOW_TO_START, MARIADB_DRIVER_MISSING, mariadb_driver_missing

#: Fixtures through which a test reaches the test database (pytest-django
#: refuses any other way in).
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
    "admin_user",
    "admin_client",
}


def touches_the_database(item: pytest.Item) -> bool:
    """The test database, or a database server of the test's own (``services``)."""
    return any(item.get_closest_marker(name) for name in ("django_db", "services")) or bool(
        DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``no_database`` every item that cannot reach the test database
    (no ``django_db`` mark, no database fixture): the CI passes on PostgreSQL
    and MariaDB leave those out (``-m "not no_database"``), since a test that
    never opens the database finds nothing new there; the SQLite pass runs them.

    Without REDIS_URL, skip every item that needs it (the "<engine>-redis"
    params, tests/sessions/test_redis_engines.py) here, with one reason, before any of
    its fixtures run. Under CI=true nothing is skipped here: a missing Redis
    fails those items (tests/real_servers.py).

    On MariaDB without its driver (mysqlclient, the ``mariadb`` dependency
    group) every test needs it: they all skip with the reason, and under
    CI=true the run stops with it instead."""
    for item in items:
        if not touches_the_database(item):
            item.add_marker(pytest.mark.no_database)
    if mariadb_driver_missing():
        if os.environ.get("CI") == "true":
            pytest.exit(f"CI=true but {MARIADB_DRIVER_MISSING}", returncode=1)
        skip_all = pytest.mark.skip(reason=MARIADB_DRIVER_MISSING)
        for item in items:
            item.add_marker(skip_all)
        return
    if os.environ.get("REDIS_URL") or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(reason=f"REDIS_URL is not set; {HOW_TO_START}")
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec else {}
        if "redis_engine" in getattr(item, "fixturenames", ()) or any(
            params.get(name) in REDIS_ENGINES for name in ("engine", "server_engine")
        ):
            item.add_marker(skip)


@pytest.fixture(params=ALL_ENGINES)
def engine(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> Iterator[str]:
    """Switch ``SESSION_ENGINE`` to each stock engine in turn (for tests whose
    outcome the engine can change; see helpers.on_every_engine)."""
    yield from use_engine(request.param, settings, tmp_path)


@pytest.fixture(params=SERVER_SIDE_ENGINES + SERVER_SIDE_REDIS_ENGINES)
def server_engine(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> Iterator[str]:
    """Only the engines that keep sessions on the server."""
    yield from use_engine(request.param, settings, tmp_path)


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest_asyncio.fixture
async def close_worker_connections() -> AsyncIterator[None]:
    """Close what the ORM opened in asgiref's worker thread, so the test DB can be dropped."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def session_folder(settings: Any, tmp_path: Any) -> Iterator[Any]:
    """The file engine on a folder of this test's own (Django's file store
    keeps the first folder it was given for the process: reset that, and
    put the old one back after)."""
    from django.contrib.sessions.backends.file import SessionStore

    folder = tmp_path / "sessions"
    folder.mkdir()
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.file"
    settings.SESSION_FILE_PATH = str(folder)
    previous = SessionStore.__dict__.get("_storage_path")
    SessionStore._storage_path = str(folder)  # type: ignore[attr-defined]
    yield folder
    if previous is None:
        del SessionStore._storage_path  # type: ignore[attr-defined]
    else:
        SessionStore._storage_path = previous  # type: ignore[attr-defined]


@pytest.fixture
def sites_installed(settings: Any) -> Iterator[None]:
    """``django.contrib.sites`` in ``INSTALLED_APPS`` for one test.

    Changing the app list runs ``AdminConfig.ready()`` again, whose
    autodiscovery registers ``SiteAdmin`` on the shared admin site; it is
    taken off again, or every later admin page would list an app that is
    no longer installed."""
    from django.contrib import admin

    registered = set(admin.site._registry)
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.sites"]
    yield
    for model in set(admin.site._registry) - registered:
        admin.site.unregister(model)


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Each test starts in the default language, whatever an earlier one activated."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
