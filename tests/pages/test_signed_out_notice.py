"""The "you were signed out" notice says why in the app's own words: whoever
presents the dead cookie (often the thief whose stolen cookie was revoked)
never reads staff's free-text reason, unless the project
turns ``NOTICE_SHOWS_FREE_TEXT_REASON`` on."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from tests.helpers import clone, logged_in_client, make_staff, on_every_engine, row_of

pytestmark = pytest.mark.django_db

SECRET = "Fraud team: IP 198.51.100.66 flagged, ticket 4711"


def notices(client: Client) -> tuple[list[str], dict[str, Any]]:
    """The page's message and the API's error, each from its own first request."""
    api = clone(client)
    response = client.get("/account/sessions/", follow=True)
    messages = [str(message) for message in response.context["messages"]]
    return messages, api.get("/api/sessions/").json()


def revoke_by_staff_api(victim: Client, django_user_model: Any) -> None:
    staff = logged_in_client(
        make_staff(django_user_model, "erin", "view_usersession", "revoke_usersession"),
        ip="198.51.100.20",
    )
    response = staff.delete(
        f"/api/admin/sessions/{row_of(victim).pk}/",
        {"reason": SECRET},
        content_type="application/json",
    )
    assert response.status_code == 204, response.content


def revoke_by_command(victim: Client, django_user_model: Any) -> None:
    call_command("sessionmgr_revoke", "alice", "--reason", SECRET, stdout=io.StringIO())


@on_every_engine(("revoke",), [(revoke_by_staff_api,), (revoke_by_command,)])
def test_the_notice_never_shows_staffs_free_text(engine, user, django_user_model, revoke):
    victim = logged_in_client(user)
    revoke(victim, django_user_model)
    messages, error = notices(victim)
    assert len(messages) == 1
    assert SECRET not in messages[0] and "4711" not in messages[0]
    assert "ended by an administrator" in messages[0]
    assert error["code"] == "session_revoked"
    assert "4711" not in str(error)
    assert "ended by an administrator" in error["detail"]


def test_a_setting_shows_the_free_text(user, django_user_model, settings):
    settings.SESSIONMGR = {"NOTICE_SHOWS_FREE_TEXT_REASON": True}
    victim = logged_in_client(user)
    revoke_by_staff_api(victim, django_user_model)
    messages, error = notices(victim)
    assert SECRET in messages[0]
    assert SECRET in error["detail"]


def test_the_apps_own_reasons_still_read_as_they_are(user):
    victim = logged_in_client(user)
    row_of(victim).revoke(reason="password_change")
    messages, error = notices(victim)
    assert "password changed" in messages[0]
    assert "password changed" in error["detail"]
