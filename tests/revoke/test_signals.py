"""``session_revoked`` from every staff and system entry point, and the docs' receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.mail import send_mail
from django.core.management import call_command
from django.db.models import Count
from django.dispatch import receiver

from django_sessionmgr.signals import session_revoked
from tests.admin.test_admin import CHANGELIST, row_of, run_action
from tests.helpers import logged_in_client

pytestmark = pytest.mark.django_db


# The receiver exactly as docs/signals.md shows it (type hints added).
def sign_out_alert(sender: Any, sessions: Any, reason: str, **kwargs: Any) -> None:
    """Email each user whose sessions were just signed out."""
    why = reason or "no reason given"
    per_user = sessions.values("user__email").annotate(signed_out=Count("id")).order_by()
    for row in per_user:
        if row["user__email"]:
            message = f"{row['signed_out']} of your sessions were signed out ({why})."
            send_mail("You were signed out", message, None, [row["user__email"]])


@pytest.fixture
def signals() -> Iterator[list[dict[str, Any]]]:
    """Connect the docs' receiver and record every send."""
    sent: list[dict[str, Any]] = []

    def record(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    receiver(session_revoked, dispatch_uid="test.alert")(sign_out_alert)
    session_revoked.connect(record, dispatch_uid="test.record")
    yield sent
    session_revoked.disconnect(dispatch_uid="test.alert")
    session_revoked.disconnect(dispatch_uid="test.record")


def alerts(mailoutbox: list[Any]) -> dict[str, str]:
    return {message.to[0]: message.body for message in mailoutbox}


def test_admin_action_sends_once_and_alerts_each_user(
    user, other_user, superuser, signals, mailoutbox
):
    admin = logged_in_client(superuser)
    alice = [logged_in_client(user), logged_in_client(user)]
    bob = logged_in_client(other_user)

    run_action(admin, "revoke_all_user_sessions", [row_of(alice[0]), row_of(bob)], CHANGELIST)

    assert len(signals) == 1
    assert (signals[0]["count"], signals[0]["revoked_by"], signals[0]["reason"]) == (
        3,
        superuser,
        "admin",
    )
    assert alerts(mailoutbox) == {
        "alice@example.com": "2 of your sessions were signed out (admin).",
        "bob@example.com": "1 of your sessions were signed out (admin).",
    }


def test_api_bulk_revoke_sends_once(user, other_user, superuser, signals, mailoutbox):
    admin = logged_in_client(superuser)
    for _ in range(3):
        logged_in_client(user)
    logged_in_client(other_user)

    response = admin.post(
        "/api/admin/sessions/revoke/",
        json.dumps({"users": [user.pk, other_user.pk], "reason": "breach"}),
        content_type="application/json",
    )

    assert response.json() == {"revoked": 4}
    assert len(signals) == 1
    assert signals[0]["revoked_by"] == superuser
    assert set(signals[0]["sessions"].values_list("user__username", flat=True)) == {"alice", "bob"}
    assert alerts(mailoutbox)["alice@example.com"] == "3 of your sessions were signed out (breach)."


def test_command_sends_once_as_the_system(user, signals, mailoutbox):
    logged_in_client(user)
    logged_in_client(user)
    call_command("sessionmgr_revoke", "alice", stdout=StringIO())
    assert len(signals) == 1
    assert (signals[0]["count"], signals[0]["revoked_by"]) == (2, None)
    assert len(mailoutbox) == 1


def test_nothing_revoked_sends_nothing(user, superuser, signals, mailoutbox):
    call_command("sessionmgr_revoke", "alice", stdout=StringIO())
    assert signals == []
    assert mailoutbox == []
