"""Every revoke reason and end state reads as a sentence, in en and de."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from django_sessionmgr.models import RevokeReason, UserSession
from tests.helpers import PASSWORD, current_row_id, logged_in_client, make_row

pytestmark = pytest.mark.django_db


SENTENCES = {
    RevokeReason.USER: (
        "Signed out by you from another device",
        "Von Ihnen auf einem anderen Gerät abgemeldet",
    ),
    RevokeReason.ADMIN: ("Ended by an administrator", "Von einem Administrator beendet"),
    RevokeReason.API: ("Ended by an administrator", "Von einem Administrator beendet"),
    RevokeReason.COMMAND: ("Ended by an administrator", "Von einem Administrator beendet"),
    RevokeReason.PASSWORD_CHANGE: ("Password changed", "Passwort geändert"),
    RevokeReason.SESSION_LIMIT: ("Session limit reached", "Höchstzahl an Sitzungen erreicht"),
}


@pytest.mark.parametrize("code", list(SENTENCES))
def test_each_code_reads_as_a_sentence_in_english_and_german(user, code):
    session = make_row(user, status="revoked", revoke_reason=code.value, revoked_at=timezone.now())
    english, german = SENTENCES[code]
    with translation.override("en"):
        assert session.revoke_reason_display == english
    with translation.override("de"):
        assert session.revoke_reason_display == german


def test_end_states_read_as_sentences(user, settings):
    now = timezone.now()
    active = make_row(user)
    ended = make_row(user, status="ended", ended_at=now)
    expired = make_row(user, status="expired", expires_at=now - timedelta(hours=1))
    lapsed = make_row(user, expires_at=now - timedelta(seconds=1))  # active, past its expiry
    staff_words = make_row(user, status="revoked", revoke_reason="stolen laptop")
    no_reason = make_row(user, status="revoked")
    assert active.revoke_reason_display is None
    assert ended.revoke_reason_display == "Signed out"
    assert expired.revoke_reason_display == "Expired"
    assert lapsed.revoke_reason_display == "Expired"
    # Staff's own words are for staff: users read the app's.
    assert staff_words.revoke_reason_display == "Ended by an administrator"
    assert staff_words.revoke_reason_code == "admin"
    assert no_reason.revoke_reason_display == "Revoked"
    with translation.override("de"):
        assert ended.revoke_reason_display == "Abgemeldet"
        assert staff_words.revoke_reason_display == "Von einem Administrator beendet"
    settings.SESSIONMGR = {"NOTICE_SHOWS_FREE_TEXT_REASON": True}
    assert staff_words.revoke_reason_display == "Ended by an administrator: stolen laptop"
    assert staff_words.revoke_reason_code == "stolen laptop"
    with translation.override("de"):
        assert staff_words.revoke_reason_display == (
            "Von einem Administrator beendet: stolen laptop"
        )


def test_an_idle_end_reads_signed_out_after_inactivity(user, settings):
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 900, "ACTIVITY_UPDATE_INTERVAL": 60}
    last = timezone.now() - timedelta(hours=2)
    idle = make_row(
        user, status="expired", last_activity_at=last, expires_at=last + timedelta(seconds=960)
    )
    lifetime = make_row(
        user, status="expired", last_activity_at=last, expires_at=last + timedelta(days=1)
    )
    assert idle.revoke_reason_display == "Signed out after inactivity"
    assert lifetime.revoke_reason_display == "Expired"
    with translation.override("de"):
        assert idle.revoke_reason_display == "Nach Inaktivität abgemeldet"


def test_self_service_json_carries_code_and_sentence(user):
    laptop = logged_in_client(user)
    phone = logged_in_client(user, user_agent="Mozilla/5.0 (iPhone)")
    phone_id = current_row_id(phone)
    assert laptop.delete(f"/api/sessions/{phone_id}/").status_code == 204
    active = laptop.get("/api/sessions/").json()["results"]
    assert [(s["revoke_reason"], s["revoke_reason_display"]) for s in active] == [(None, None)]
    revoked = laptop.get("/api/sessions/?status=revoked").json()["results"]
    assert [(s["id"], s["revoke_reason"], s["revoke_reason_display"]) for s in revoked] == [
        (phone_id, "user", "Signed out by you from another device")
    ]


def test_a_logout_reads_signed_out_in_json(user):
    client = logged_in_client(user)
    row_id = current_row_id(client)
    client.post("/accounts/logout/")
    other = logged_in_client(user)
    data = other.get(f"/api/sessions/{row_id}/").json()
    assert (data["status"], data["revoke_reason"], data["revoke_reason_display"]) == (
        "ended",
        "",
        "Signed out",
    )


def test_staff_json_and_admin_show_the_sentence(user, django_user_model):
    staff = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    victim = logged_in_client(user)
    victim_id = current_row_id(victim)
    call_command("sessionmgr_revoke", "alice", reason="stolen laptop", stdout=io.StringIO())
    admin: Client = logged_in_client(staff)
    data = admin.get(f"/api/admin/sessions/{victim_id}/").json()
    assert data["revoke_reason"] == "stolen laptop"
    assert data["revoke_reason_display"] == "Ended by an administrator: stolen laptop"
    # The admin speaks to staff: the words given, without the user's phrasing.
    changelist = admin.get("/admin/django_sessionmgr/usersession/?status=revoked")
    assert "Revoked: stolen laptop" in changelist.content.decode()
    change = admin.get(f"/admin/django_sessionmgr/usersession/{victim_id}/change/")
    page = change.content.decode()
    assert "Why it ended" in page and "Revoked: stolen laptop" in page


def test_password_change_and_session_limit_codes_come_from_the_enum(user, settings):
    settings.SESSIONMGR = {"MAX_SESSIONS": 1}
    first = logged_in_client(user)
    first_id = current_row_id(first)
    logged_in_client(user)
    assert UserSession.objects.get(pk=first_id).revoke_reason_display == "Session limit reached"
    settings.SESSIONMGR = {}
    keeper = logged_in_client(user)
    other = logged_in_client(user)
    other_id = current_row_id(other)
    user.set_password("a new password 123")
    user.save()
    assert UserSession.objects.get(pk=other_id).revoke_reason_display == "Password changed"
    assert keeper  # its own session is not the one this test looks at


@pytest.mark.parametrize(
    ("policy", "sentence"),
    [
        ("IDLE_TIMEOUT", "Signed out after inactivity"),
        ("ABSOLUTE_TIMEOUT", "Signed out at the session time limit"),
    ],
)
def test_a_policy_end_reads_in_words_on_every_engine(engine, user, settings, policy, sentence):
    settings.SESSIONMGR = {policy: 900, "ACTIVITY_UPDATE_INTERVAL": 60}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        row_id = current_row_id(client)
        traveller.shift(300)
        assert client.get("/whoami/").json()["user"] == "alice"  # an activity write
        traveller.shift(2000)
        assert client.get("/whoami/").json()["user"] is None
        expired = UserSession.objects.get(pk=row_id)
        assert expired.status == "expired"
        assert expired.revoke_reason_display == sentence
        other = logged_in_client(user)
        data = other.get(f"/api/sessions/{row_id}/").json()
    assert (data["status"], data["revoke_reason_display"]) == ("expired", sentence)
