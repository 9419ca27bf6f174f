"""``REAUTH_FOR_REVOKE_OTHERS`` (OWASP ASVS 3.7.1): "sign out all
other sessions" asks for the password unless the user signed in within that
many seconds, in the page and in the API, and revokes nothing until then."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from django.utils import timezone

from tests.helpers import PASSWORD, logged_in_client, whoami

pytestmark = pytest.mark.django_db

WINDOW = 300
REVOKE_OTHERS = "/account/sessions/revoke-others/"
CONFIRM = "/account/sessions/revoke-others/confirm/"
API = "/api/sessions/revoke-others/"


@pytest.fixture
def reauth(settings: Any) -> None:
    settings.SESSIONMGR = {"REAUTH_FOR_REVOKE_OTHERS": WINDOW}


def two_devices(user: Any) -> tuple[Client, Client]:
    return logged_in_client(user), logged_in_client(user, ip="198.51.100.7")


def test_the_page_asks_for_the_password_after_the_window(engine, user, reauth):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        here, other = two_devices(user)
        traveller.shift(WINDOW + 1)

        page = here.get(CONFIRM)
        assert page.status_code == 200
        assert b'name="password"' in page.content
        assert b'autocomplete="current-password"' in page.content
        assert b'name="password"' in here.get("/account/sessions/").content  # its dialog

        asked = here.post(REVOKE_OTHERS)
        assert asked.status_code == 403
        assert b'name="password"' in asked.content
        assert b"Enter your password" in asked.content
        assert whoami(other) == user.get_username()

        wrong = here.post(REVOKE_OTHERS, {"password": "not it"})
        assert wrong.status_code == 403
        assert b"not correct" in wrong.content
        assert whoami(other) == user.get_username()

        right = here.post(REVOKE_OTHERS, {"password": PASSWORD})
        assert right.status_code == 302
        assert whoami(other) is None
        assert whoami(here) == user.get_username()

        # Proven again just now: the next time asks nothing, until the window passes.
        third = logged_in_client(user, ip="198.51.100.8")
        assert here.post(REVOKE_OTHERS).status_code == 302
        assert whoami(third) is None


def test_a_recent_sign_in_needs_no_password(user, reauth):
    here, other = two_devices(user)
    assert b'name="password"' not in here.get(CONFIRM).content
    assert b'name="password"' not in here.get("/account/sessions/").content
    assert here.post(REVOKE_OTHERS).status_code == 302
    assert whoami(other) is None


def test_the_api_answers_reauthentication_required_and_revokes_nothing(engine, user, reauth):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        here, other = two_devices(user)
        traveller.shift(WINDOW + 1)

        asked = here.post(API)
        assert asked.status_code == 403
        assert asked.json()["code"] == "reauthentication_required"
        assert whoami(other) == user.get_username()

        wrong = here.post(API, {"password": "not it"}, content_type="application/json")
        assert wrong.status_code == 403
        assert wrong.json()["code"] == "reauthentication_required"
        assert whoami(other) == user.get_username()

        right = here.post(API, {"password": PASSWORD}, content_type="application/json")
        assert right.status_code == 200
        assert right.json() == {"revoked": 1}
        assert whoami(other) is None


def test_a_wrong_password_counts_as_a_failed_login(user, reauth):
    """Checked through authenticate(): lockouts such as django-axes apply."""
    failed: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        failed.append(kwargs["credentials"]["username"])

    user_login_failed.connect(receiver, dispatch_uid="test_reauth")
    try:
        with time_machine.travel(timezone.now(), tick=False) as traveller:
            here, _ = two_devices(user)
            traveller.shift(WINDOW + 1)
            here.post(API, {"password": "guess"}, content_type="application/json")
    finally:
        user_login_failed.disconnect(dispatch_uid="test_reauth")
    assert failed == [user.get_username()]


def test_off_by_default(user):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        here, other = two_devices(user)
        traveller.shift(24 * 3600)  # a day, within the session's own two weeks
        assert here.post(API).json() == {"revoked": 1}
        assert whoami(other) is None


def test_sessions_cannot_be_signed_out_one_at_a_time_without_the_password(user, reauth):
    """One at a time is "sign out all others" too: a stolen cookie alone cannot
    end the owner's other sessions through the single revoke, page or API."""
    from tests.helpers import current_row_id

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        here, other = two_devices(user)
        other_id = current_row_id(other)
        traveller.shift(WINDOW + 1)

        api = here.delete(f"/api/sessions/{other_id}/")
        assert api.status_code == 403
        assert api.json()["code"] == "reauthentication_required"
        page = here.post(f"/account/sessions/{other_id}/revoke/")
        assert page.status_code == 302
        wrong = here.post(f"/account/sessions/{other_id}/revoke/", {"password": "not it"})
        assert wrong.status_code == 302
        assert whoami(other) == user.get_username()
        listed = here.get("/account/sessions/").content.decode()
        assert 'name="password"' in listed  # each sign-out asks for it

        right = here.delete(
            f"/api/sessions/{other_id}/", {"password": PASSWORD}, content_type="application/json"
        )
        assert right.status_code == 204
        assert whoami(other) is None


def test_the_current_session_still_answers_current_session(user, reauth):
    from tests.helpers import current_row_id

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        here, _ = two_devices(user)
        traveller.shift(WINDOW + 1)
        answer = here.delete(f"/api/sessions/{current_row_id(here)}/")
    assert answer.status_code == 400
    assert answer.json()["code"] == "current_session"
