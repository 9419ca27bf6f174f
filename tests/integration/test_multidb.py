"""The app on a two-database project with a router: run by ``make test-integration``.

Users, sessions and this app's table are routed to ``accounts``; nothing of
the app may land on ``default``.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import connections

from django_sessionmgr.models import UserSession
from tests.helpers import (
    PASSWORD,
    assert_one_row_following,
    assert_password_change_revokes_others,
    assert_revoke_ends,
    assert_rotation_followed,
    logged_in_client,
    make_client,
    whoami,
)

pytestmark = pytest.mark.django_db(databases=["default", "accounts"])


def test_the_rows_live_beside_the_users(user: Any) -> None:
    client = logged_in_client(user)
    assert_one_row_following(client, user)
    assert UserSession.objects.db_manager("accounts").count() == 1
    tables = connections["default"].introspection.table_names()
    assert UserSession._meta.db_table not in tables


def test_rotation_revoke_and_password_change(user: Any) -> None:
    client = logged_in_client(user)
    assert_rotation_followed(client, user)

    def change(client: Any) -> None:
        response = client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "n3w pass w0rd!",
                "new_password2": "n3w pass w0rd!",
            },
        )
        assert response.status_code == 302, response.content

    assert_password_change_revokes_others(
        change, user, lambda c: logged_in_client(user, ip=c.defaults["REMOTE_ADDR"])
    )


def test_a_revoke_deletes_the_session_in_the_accounts_database(user: Any) -> None:
    client = logged_in_client(user)
    assert_revoke_ends(client, user)
    from django.contrib.sessions.models import Session

    assert Session.objects.db_manager("accounts").count() == 0


def test_adopt_walks_the_routed_session_table(user: Any) -> None:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    out = StringIO()
    call_command("sessionmgr_adopt", stdout=out)
    assert "Adopted 1 session(s)" in out.getvalue()
    replay = make_client()
    replay.cookies["sessionid"] = session.session_key
    assert whoami(replay) == "alice"
    assert UserSession.objects.count() == 1


def test_the_router_passes_the_check() -> None:
    ids = [m.id for m in run_checks() if (m.id or "").startswith("django_sessionmgr.")]
    assert ids == []
