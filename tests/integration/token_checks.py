"""What every token package's suite asserts: each way of revoking ends the
token at its next request, and nothing the app shows or logs holds it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_sessionmgr.models import UserSession
from django_sessionmgr.tokens.lookup import token_digest
from tests.helpers import PASSWORD, logged_in_client, make_staff, whoami

#: Every way a token session is revoked, from a browser, by a password change or by staff.
REVOKE_WAYS = ["delete", "revoke_others", "password_change", "staff_api", "command"]
NEW_PASSWORD = "n3w-Pw!x-long-enough"


def revoke(way: str, user: Any, row_id: str, django_user_model: Any) -> None:
    """Revoke the token session ``row_id`` of ``user`` the ``way`` given, through the
    app's own API, the password change view or the command."""
    if way == "command":
        call_command("sessionmgr_revoke", user.get_username(), stdout=StringIO())
    elif way == "staff_api":
        staff = make_staff(django_user_model, "carol", "view_usersession", "revoke_usersession")
        response = logged_in_client(staff).delete(f"/api/admin/sessions/{row_id}/")
        assert response.status_code == 204, response.content
    else:
        browser = logged_in_client(user)
        if way == "delete":
            response = browser.delete(f"/api/sessions/{row_id}/")
            assert response.status_code == 204, response.content
        elif way == "revoke_others":
            response = browser.post("/api/sessions/revoke-others/")
            assert response.status_code == 200 and response.json()["revoked"] == 1
        else:
            change_password(browser)
        assert whoami(browser) == user.get_username()  # the browser that acted goes on
    assert UserSession.objects.get(pk=row_id).status == "revoked"


def change_password(browser: Client) -> None:
    """The user changes the password through the project's own view (Django's)."""
    response = browser.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content


def assert_refused_as_unknown(call: Callable[[str], Any], token: str, unknown: str) -> None:
    """``token`` now gets exactly the answer an unknown token gets: 401, same body."""
    refused, stranger = call(token), call(unknown)
    assert refused.status_code == stranger.status_code == 401, refused.content
    assert refused.content == stranger.content


def secret_parts(kind: str, token: str, *identities: str) -> list[str]:
    """What must never be seen: the token, its ends, what identifies it and its digests."""
    parts = [token, token[:8], token[-8:]]
    for identity in (token, *identities):
        parts += [identity, token_digest(kind, identity)]
    return parts


def assert_nothing_shows(
    parts: list[str], user: Any, superuser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The user's lists, each row's detail, the staff API and the admin's
    pages of the rows, and every log line but the database's own SQL."""
    browser, staff = logged_in_client(user), logged_in_client(superuser)
    pages = [
        browser.get("/api/sessions/?status=all"),
        browser.get("/account/sessions/"),
        staff.get("/api/admin/sessions/"),
        staff.get("/admin/django_sessionmgr/usersession/"),
    ]
    for row_id in UserSession.objects.exclude(kind="session").values_list("pk", flat=True):
        pages += [
            browser.get(f"/api/sessions/{row_id}/"),
            staff.get(f"/api/admin/sessions/{row_id}/"),
            staff.get(f"/admin/django_sessionmgr/usersession/{row_id}/change/"),
        ]
    texts = [response.content.decode() for response in pages]
    assert all(response.status_code == 200 for response in pages), [p.status_code for p in pages]
    texts += [
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith("django.db.backends")
    ]
    for text in texts:
        for part in parts:
            assert part not in text


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The queries a request sent, without the savepoints of the test's transaction."""
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def queries_of(client: Client, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response.status_code, statements(queries)


def log_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
