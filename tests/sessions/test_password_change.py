"""A password change revokes the user's other sessions, sparing the one that made it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from django_sessionmgr.models import UserSession
from tests.helpers import (
    PASSWORD,
    current_row_id,
    logged_in_client,
    make_client,
    session_cookie,
    stored_session_exists,
    whoami,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def change_password(client: Any) -> None:
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content


def test_password_change_revokes_the_other_sessions(
    engine: str, user: Any, other_user: Any
) -> None:
    changer = logged_in_client(user)
    others = [logged_in_client(user), logged_in_client(user)]
    bob = logged_in_client(other_user)
    changer_row = current_row_id(changer)
    other_cookies = [session_cookie(client) for client in others]

    change_password(changer)

    assert whoami(changer) == "alice"
    assert current_row_id(changer) == changer_row
    assert [
        str(pk)
        for pk in UserSession.objects.active().filter(user=user).values_list("pk", flat=True)
    ] == [changer_row]
    revoked = UserSession.objects.filter(user=user, status=UserSession.Status.REVOKED)
    assert revoked.count() == 2
    assert {row.revoke_reason for row in revoked} == {"password_change"}
    assert all(row.revoked_at and row.revoked_by is None for row in revoked)
    for client, cookie in zip(others, other_cookies, strict=True):
        assert whoami(client) is None
        if engine != "signed_cookies":
            assert not stored_session_exists(cookie)
    assert whoami(bob) == "bob"
    # The changer's session still revokes like any other after the key rotation.
    assert UserSession.objects.get(pk=changer_row).revoke()
    assert whoami(changer) is None


def test_password_change_without_revoke_on_password_change(engine: str, user: Any) -> None:
    changer = logged_in_client(user)
    other = logged_in_client(user)

    with override_settings(SESSIONMGR={"REVOKE_ON_PASSWORD_CHANGE": False}):
        change_password(changer)
        assert whoami(changer) == "alice"

    assert not UserSession.objects.filter(status=UserSession.Status.REVOKED).exists()
    assert UserSession.objects.get(pk=current_row_id(changer)).is_active
    # Django itself still logs the other session out (its auth hash is stale).
    assert whoami(other) is None


def test_staff_setting_a_password_revokes_every_session_of_that_user(
    engine: str, user: Any, other_user: Any, django_user_model: Any
) -> None:
    alice = [logged_in_client(user), logged_in_client(user), make_client()]
    alice[2].force_login(user)  # a login outside any request makes no session "current"
    bob = logged_in_client(other_user)

    target = django_user_model.objects.get(pk=user.pk)
    target.set_password("reset by the help desk 7")
    target.save()

    rows = UserSession.objects.filter(user=user)
    assert {(row.status, row.revoke_reason) for row in rows} == {("revoked", "password_change")}
    assert all(whoami(client) is None for client in alice)
    assert whoami(bob) == "bob"


def test_saving_a_user_without_a_new_password_revokes_nothing(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    user.email = "alice@example.org"
    user.save()
    user.set_password(PASSWORD)
    user.save(update_fields=["email"])  # the hash is not saved, so nothing changed

    assert UserSession.objects.active().count() == 1
    assert whoami(client) == "alice"


def test_a_store_that_fails_after_a_password_change_is_logged_and_the_change_stands(
    session_folder: Any, user: Any, caplog: Any
) -> None:
    from tests.helpers import read_only

    other = logged_in_client(user)
    read_only(session_folder, True)
    try:
        user.set_password("a new passphrase")
        user.save()
    finally:
        read_only(session_folder, False)

    assert "the other sessions could not be revoked" in caplog.text
    user.refresh_from_db()
    assert user.check_password("a new passphrase")
    # Its row was put back; Django's own auth-hash check still signs it out.
    assert whoami(other) is None
