"""``expires_at`` follows the Django session's own expiry; past it, a row is never active."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import current_row_id, logged_in_client, whoami

pytestmark = pytest.mark.django_db


def expires_at(user: Any) -> Any:
    return UserSession.objects.get(user=user).expires_at


def close_to(value: Any, expected: Any, slack: float = 5) -> bool:
    return abs((value - expected).total_seconds()) < slack


def test_expires_at_starts_at_the_session_age(engine: str, user: Any, settings: Any) -> None:
    logged_in_client(user)

    assert close_to(
        expires_at(user), timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    )


def test_expires_at_follows_set_expiry(engine: str, user: Any) -> None:
    client = logged_in_client(user)

    assert client.get("/set-expiry/?seconds=300").json() == {"user": "alice"}
    assert close_to(expires_at(user), timezone.now() + timedelta(seconds=300))

    assert client.get("/set-expiry/?seconds=86400").json() == {"user": "alice"}
    assert close_to(expires_at(user), timezone.now() + timedelta(days=1))
    assert whoami(client) == "alice"


@override_settings(SESSION_SAVE_EVERY_REQUEST=True, SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0})
def test_expires_at_slides_with_every_saved_request(engine: str, user: Any) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        client.get("/set-expiry/?seconds=300")
        first = expires_at(user)

        traveller.shift(2)
        assert whoami(client) == "alice"
        second = expires_at(user)
        traveller.shift(2)
        assert whoami(client) == "alice"
        third = expires_at(user)

    assert first < second < third
    assert close_to(third, timezone.now() + timedelta(seconds=300))


def test_a_row_past_its_expiry_is_expired_not_active(engine: str, user: Any) -> None:
    stale_client = logged_in_client(user)
    live = logged_in_client(user)
    stale = UserSession.objects.filter(pk=current_row_id(stale_client))
    stale.update(expires_at=timezone.now() - timedelta(seconds=1))
    row = stale.get()

    assert row.status == UserSession.Status.ACTIVE  # no cleanup has run
    assert row.effective_status == "expired"
    assert not row.is_active
    assert [str(r.pk) for r in UserSession.objects.active()] == [current_row_id(live)]
    assert list(UserSession.objects.expired()) == [row]
    assert list(UserSession.objects.with_status("expired")) == [row]
    assert row not in UserSession.objects.with_status("active")
    assert UserSession.objects.with_status("all").count() == 2
    assert whoami(live) == "alice"


def test_a_row_whose_recorded_expiry_lags_is_still_revocable(engine: str, user: Any) -> None:
    """Revoke selects by status: a session that still loads is reached, whatever
    its row claims about its expiry."""
    client = logged_in_client(user)
    UserSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert UserSession.objects.all().revoke() == 1
    assert UserSession.objects.get().status == UserSession.Status.REVOKED
    assert whoami(client) is None


def test_a_revoked_or_ended_row_is_not_revoked_again(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    client.post("/accounts/logout/")
    logged_in_client(user)
    assert UserSession.objects.all().revoke() == 1

    assert UserSession.objects.all().revoke() == 0


def test_with_status_filters_by_stored_status(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    client.post("/accounts/logout/")
    revoked = logged_in_client(user)
    UserSession.objects.active().revoke()

    assert UserSession.objects.with_status("ended").count() == 1
    assert UserSession.objects.with_status("revoked").count() == 1
    assert whoami(revoked) is None


def test_a_new_cookie_age_reaches_the_row_on_the_next_request(user: Any) -> None:
    """The middleware keeps SESSION_COOKIE_AGE between requests; a change
    (``setting_changed``) still reaches each session's row on its next request."""
    client = logged_in_client(user)
    with override_settings(SESSION_COOKIE_AGE=600):
        assert whoami(client) == "alice"
        assert close_to(expires_at(user), timezone.now() + timedelta(seconds=600))
    assert whoami(client) == "alice"
    assert close_to(expires_at(user), timezone.now() + timedelta(weeks=2))
