"""A login on a ``utf8mb3`` table gets its row, whatever its user agent.

MariaDB and MySQL tables in ``utf8mb3`` (``utf8`` before MySQL 8 and
MariaDB 10.6) cannot hold a four-byte character: an emoji in a user agent
failed the login's INSERT, and a session that never gets a row can never be
revoked. A real MariaDB server (``MARIADB_URL``), on a fresh database whose
table is converted to ``utf8mb3``, as an older install's would be.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections

from django_sessionmgr.models import UserSession
from tests.helpers import FIREFOX, PASSWORD, logged_in_client, whoami
from tests.real_servers import in_the_mariadb_pass, mariadb_url

pytestmark = [pytest.mark.services, in_the_mariadb_pass]

ALIAS = "sessionmgr_utf8mb3"
#: A user agent with a character outside the Basic Multilingual Plane.
EMOJI_AGENT = f"{FIREFOX} \N{FOX FACE}"


class OneDatabase:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        return ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return ALIAS

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True


@pytest.fixture(scope="module")
def utf8mb3_database(django_db_blocker: Any) -> Iterator[str]:
    """A fresh MariaDB database, migrated, its app table in ``utf8mb3``."""
    import MySQLdb

    url = mariadb_url()
    name = f"sessionmgr_utf8mb3_{uuid.uuid4().hex[:12]}"
    config = dj_database_url.parse(urlunsplit(urlsplit(url)._replace(path=f"/{name}")))
    server = MySQLdb.connect(
        host=config["HOST"],
        port=int(config["PORT"]),
        user=config["USER"],
        password=config["PASSWORD"],
    )
    try:
        server.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        configured = connections.configure_settings({DEFAULT_DB_ALIAS: {}, ALIAS: config})
        connections.settings[ALIAS] = configured[ALIAS]
        with django_db_blocker.unblock():
            call_command("migrate", database=ALIAS, verbosity=0, interactive=False)
            with connections[ALIAS].cursor() as cursor:
                cursor.execute(
                    f"ALTER TABLE {UserSession._meta.db_table} CONVERT TO CHARACTER SET utf8mb3"
                )
        yield name
    finally:
        if ALIAS in connections.settings:
            connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


@pytest.mark.parametrize("engine", ["db", "signed_cookies"], indirect=True)
def test_a_login_with_an_emoji_user_agent_is_tracked_and_revocable(
    utf8mb3_database: str, engine: str, settings: Any, django_db_blocker: Any
) -> None:
    settings.DATABASE_ROUTERS = [OneDatabase()]
    with django_db_blocker.unblock():
        user = get_user_model()._default_manager.create_user(
            f"user-{uuid.uuid4().hex[:8]}", password=PASSWORD
        )
        client = logged_in_client(user, user_agent=EMOJI_AGENT)

        row = UserSession.objects.get(user_id=user.pk)
        assert row.status == UserSession.Status.ACTIVE
        # What a utf8mb3 column can hold: the emoji replaced, the rest kept.
        assert row.user_agent == f"{FIREFOX} \N{REPLACEMENT CHARACTER}"
        assert row.device_browser == "Firefox 128"
        assert whoami(client) == user.username

        assert UserSession.objects.filter(user_id=user.pk).revoke() == 1
        assert whoami(client) is None


@pytest.mark.parametrize("engine", ["db"], indirect=True)
def test_a_revoke_with_an_emoji_reason_revokes(
    utf8mb3_database: str, engine: str, settings: Any, django_db_blocker: Any
) -> None:
    """Staff may give any reason: one the table cannot hold as written is
    stored as it can be, and the revoke goes through."""
    settings.DATABASE_ROUTERS = [OneDatabase()]
    with django_db_blocker.unblock():
        user = get_user_model()._default_manager.create_user(
            f"user-{uuid.uuid4().hex[:8]}", password=PASSWORD
        )
        client = logged_in_client(user)

        sessions = UserSession.objects.filter(user_id=user.pk)
        assert sessions.revoke(reason="Phone stolen \N{MOBILE PHONE}") == 1
        assert sessions.get().revoke_reason == "Phone stolen \N{REPLACEMENT CHARACTER}"
        assert whoami(client) is None
