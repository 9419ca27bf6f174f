"""Assertions every integration suite makes about the package it runs beside."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client

from django_sessionmgr.models import UserSession
from tests.conftest import make_client, whoami
from tests.core_helpers import current_row_id

#: Time a test takes between the session's save and the assertion.
SLACK = timedelta(seconds=5)


def active_rows(user: Any) -> list[UserSession]:
    return list(UserSession.objects.filter(user=user).active())


def row_of(client: Client) -> UserSession:
    row_id = current_row_id(client)
    assert row_id is not None, "the client's session has no row"
    return UserSession.objects.get(pk=row_id)


def assert_one_row_following(client: Client, user: Any) -> UserSession:
    """Exactly one active row for the login, it is the client's, and its expiry is the session's."""
    rows = active_rows(user)
    assert len(rows) == 1, rows
    row = row_of(client)
    assert row.pk == rows[0].pk
    assert abs(row.expires_at - client.session.get_expiry_date()) <= SLACK, (
        row.expires_at,
        client.session.get_expiry_date(),
    )
    return row


def assert_rotation_followed(client: Client, user: Any) -> None:
    """After ``cycle_key`` the same row is current and a revoke of it still ends the session."""
    before = row_of(client).pk
    old_key = client.session.session_key
    assert whoami_at(client, "/rotate/") == user.get_username()
    assert client.session.session_key != old_key
    assert row_of(client).pk == before
    assert_revoke_ends(client, user)


def whoami_at(client: Client, path: str) -> str | None:
    response = client.get(path)
    assert response.status_code == 200, response.content
    username: str | None = response.json()["user"]
    return username


def assert_revoke_ends(client: Client, user: Any) -> None:
    assert whoami(client) == user.get_username()
    assert UserSession.objects.filter(pk=row_of(client).pk).revoke() == 1
    assert whoami(client) is None


def assert_password_change_revokes_others(change_password: Any, user: Any, login: Any) -> None:
    """``login(client)`` signs a client in; ``change_password(client)`` changes it there."""
    this, other = login(make_client()), login(make_client(ip="198.51.100.7"))
    assert len(active_rows(user)) == 2
    change_password(this)
    assert whoami(other) is None
    assert whoami(this) == user.get_username()
    assert [row.pk for row in active_rows(user)] == [row_of(this).pk]
