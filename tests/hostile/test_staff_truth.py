"""What staff, a thief and a password holder can learn or shape, after a hostile pass.

Staff's free text stays with staff; staff cannot pass their words off as the
app's; staff who may not view sessions cannot read or test them through the
revoke pages or the user admin; and the new-device notice counts only the
user's own sign-ins, from where they signed in, as known.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import (
    PASSWORD,
    clone,
    logged_in_client,
    make_client,
    make_row,
    make_staff,
    row_of,
    whoami,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_sessionmgr/usersession/"
FREE_TEXT = "Fraud team: IP 198.51.100.66 flagged, ticket 4711"


def staff_revoke(django_user_model: Any, row: UserSession, reason: str) -> Any:
    bob = make_staff(django_user_model, "bob", "view_usersession", "revoke_usersession")
    api = logged_in_client(bob, ip="198.51.100.2")
    return api.delete(
        f"/api/admin/sessions/{row.pk}/", {"reason": reason}, content_type="application/json"
    )


# Staff's words.


@pytest.mark.parametrize("code", ["user", "password_change", "session_limit", "admin"])
def test_staff_cannot_record_the_apps_own_reason_codes(
    user: Any, django_user_model: Any, code: str
) -> None:
    victim = row_of(logged_in_client(user))

    answer = staff_revoke(django_user_model, victim, code)

    assert answer.status_code == 400
    assert "reason" in answer.json()
    victim.refresh_from_db()
    assert victim.status == "active"


def test_the_command_refuses_the_apps_own_reason_codes(user: Any) -> None:
    from django.core.management.base import CommandError

    logged_in_client(user)
    with pytest.raises(CommandError, match="own reason codes"):
        call_command("sessionmgr_revoke", "alice", reason="user", stdout=io.StringIO())
    assert UserSession.objects.get(user=user).status == "active"


def test_staffs_free_text_never_reaches_the_users_own_lists(
    user: Any, django_user_model: Any
) -> None:
    victim = row_of(logged_in_client(user))
    owner = logged_in_client(user, ip="198.51.100.3")
    assert staff_revoke(django_user_model, victim, FREE_TEXT).status_code == 204

    listed = owner.get("/api/sessions/?status=revoked").json()["results"]
    page = owner.get("/account/sessions/?show=ended").content.decode()

    assert [(item["revoke_reason"], item["revoke_reason_display"]) for item in listed] == [
        ("admin", "Ended by an administrator")
    ]
    assert "ticket 4711" not in page
    # Staff still read it.
    staff = make_staff(django_user_model, "carol", "view_usersession")
    seen = logged_in_client(staff).get(f"/api/admin/sessions/{victim.pk}/").json()
    assert seen["revoke_reason"] == FREE_TEXT
    assert FREE_TEXT in seen["revoke_reason_display"]


# Staff who may not view sessions.


def test_revoke_only_staff_cannot_read_sessions_on_the_revoke_pages(
    user: Any, django_user_model: Any
) -> None:
    row = row_of(logged_in_client(user, ip="198.51.100.77"))
    staff = logged_in_client(make_staff(django_user_model, "rita", "revoke_usersession"))

    for url in (f"{CHANGELIST}revoke-user/{user.pk}/", f"{CHANGELIST}{row.pk}/revoke/"):
        answer = staff.get(url)
        assert answer.status_code == 403
        assert b"198.51.100.77" not in answer.content


def test_the_user_admin_answers_no_lookup_on_sessions(user: Any, django_user_model: Any) -> None:
    row = make_row(user, ip_address="203.0.113.9", user_agent="SecretUA/1.0")
    staff = logged_in_client(make_staff(django_user_model, "uv", "view_user"))

    for query in (
        "user_sessions__isnull=False",
        f"user_sessions__id={row.pk}",
        "user_sessions__ip_address=203.0.113.9",
        "user_sessions__user_agent__contains=Secret",
        "user_sessions__created_at__gte=2000-01-01",
    ):
        answer = staff.get(f"/admin/auth/user/?{query}")
        assert answer.status_code == 400 or b">alice<" not in answer.content, query
        assert answer.status_code != 200, query


# The new-device notice.


@pytest.fixture
def notify(settings: Any) -> None:
    settings.SESSIONMGR = {
        "NOTIFY_NEW_DEVICE": True,
        "SITE_URL": "https://accounts.example.com",
        "ACTIVITY_UPDATE_INTERVAL": 60,
    }


def sign_in(client: Any, user: Any, captured: Any) -> None:
    with captured(execute=True):
        answer = client.post(
            "/accounts/login/", {"username": user.get_username(), "password": PASSWORD}
        )
    assert answer.status_code == 302


def test_a_thiefs_address_does_not_become_a_known_one(
    user: Any, notify: None, django_capture_on_commit_callbacks: Any
) -> None:
    victim = make_client(ip="198.51.100.7")
    sign_in(victim, user, django_capture_on_commit_callbacks)  # the first sign-in
    assert mail.outbox == []
    thief = clone(victim, ip="192.0.2.66")  # the stolen cookie, replayed from elsewhere
    with time_machine.travel(timezone.now() + timedelta(seconds=120)):
        assert whoami(thief) == "alice"

    sign_in(make_client(ip="192.0.2.66"), user, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1


def test_a_dormant_accounts_next_sign_in_is_not_its_first(
    user: Any, notify: None, django_capture_on_commit_callbacks: Any
) -> None:
    user.date_joined = timezone.now() - timedelta(days=400)
    user.save(update_fields=["date_joined"])
    with time_machine.travel(timezone.now() - timedelta(days=200)):
        victim = make_client(ip="198.51.100.7")
        sign_in(victim, user, django_capture_on_commit_callbacks)
        victim.post("/accounts/logout/")
    mail.outbox.clear()  # an account older than RETENTION_DAYS: even its first is told
    call_command("sessionmgr_prune", stdout=io.StringIO())
    assert not UserSession.objects.filter(user=user).exists()

    sign_in(
        make_client(ip="192.0.2.66", user_agent="curl/8"), user, django_capture_on_commit_callbacks
    )

    assert len(mail.outbox) == 1


def test_a_new_account_first_sign_in_sends_nothing(
    user: Any, notify: None, django_capture_on_commit_callbacks: Any
) -> None:
    sign_in(make_client(ip="192.0.2.66"), user, django_capture_on_commit_callbacks)
    assert mail.outbox == []


@pytest.mark.urls("tests.sessions.test_impersonation_hook")
def test_staff_impersonating_the_user_do_not_make_their_network_known(
    user: Any, superuser: Any, notify: None, django_capture_on_commit_callbacks: Any
) -> None:
    sign_in(make_client(ip="198.51.100.7"), user, django_capture_on_commit_callbacks)
    staff = logged_in_client(superuser, ip="192.0.2.10")
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"/impersonate/{user.pk}/").status_code in (200, 302)
    assert UserSession.objects.filter(user=user, impersonated_by=superuser).exists()
    mail.outbox.clear()

    # A password sign-in from the staff member's network, no device cookie.
    sign_in(make_client(ip="192.0.2.10"), user, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
