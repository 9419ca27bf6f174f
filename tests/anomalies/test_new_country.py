"""A sign-in from a country none of the user's recent sessions came from."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.anomalies.places import CHANGCHUN, LINKOPING, LONDON
from tests.helpers import IPHONE, PASSWORD, current_row_id, make_client, make_row

pytestmark = pytest.mark.django_db


def sign_in(user: Any, ip: str, captured: Any, **kwargs: Any) -> UserSession:
    client = make_client(ip=ip, **kwargs)
    with captured(execute=True):
        response = client.post(
            "/accounts/login/", {"username": user.get_username(), "password": PASSWORD}
        )
    assert response.status_code == 302
    return UserSession.objects.get(pk=current_row_id(client))


def test_a_new_country_is_flagged_and_signalled(
    user: Any, findings: list, django_capture_on_commit_callbacks: Any
) -> None:
    first = sign_in(user, LONDON, django_capture_on_commit_callbacks)
    again = sign_in(user, LONDON, django_capture_on_commit_callbacks)
    assert findings == []  # the first sign-in, then a known country
    assert first.flag_reason == again.flag_reason == ""
    abroad = sign_in(user, CHANGCHUN, django_capture_on_commit_callbacks)
    assert abroad.flag_reason == "new_country"
    assert abroad.flagged_at is not None
    [finding] = findings
    assert (finding["kind"], str(finding["session"].pk)) == ("new_country", str(abroad.pk))
    assert finding["request"].path == "/accounts/login/"


def test_without_time_zones_too(
    user: Any, findings: list, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The recent sessions are read in raw SQL: naive times must compare too."""
    settings.USE_TZ = False
    sign_in(user, LONDON, django_capture_on_commit_callbacks)
    assert sign_in(user, LONDON, django_capture_on_commit_callbacks).flag_reason == ""
    assert sign_in(user, CHANGCHUN, django_capture_on_commit_callbacks).flag_reason == (
        "new_country"
    )
    assert [f["kind"] for f in findings] == ["new_country"]


def test_an_impersonation_from_abroad_does_not_make_its_country_known(
    user: Any, superuser: Any, findings: list, django_capture_on_commit_callbacks: Any
) -> None:
    """Staff acting as the user from China leave China new to the user's own
    sign-ins; a session the owner disowned leaves it new too."""
    sign_in(user, LONDON, django_capture_on_commit_callbacks)
    make_row(user, impersonated_by=superuser, location_country="CN")
    make_row(user, status="revoked", revoke_reason="suspicious", last_location_country="CN")
    abroad = sign_in(user, CHANGCHUN, django_capture_on_commit_callbacks)
    assert abroad.flag_reason == "new_country"
    assert [f["kind"] for f in findings] == ["new_country"]


def test_only_the_last_days_count(
    user: Any, findings: list, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SESSIONMGR = {"NEW_COUNTRY_DAYS": 30}
    day = 24 * 60 * 60
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(user, LONDON, django_capture_on_commit_callbacks)
        sign_in(user, LINKOPING, django_capture_on_commit_callbacks)
        assert [f["kind"] for f in findings] == ["new_country"]
        traveller.shift(25 * day)
        assert sign_in(user, LONDON, django_capture_on_commit_callbacks).flag_reason == ""
        traveller.shift(15 * day)
        # Sweden was 40 days ago; London 15 days ago is still there to compare with.
        assert sign_in(user, LINKOPING, django_capture_on_commit_callbacks).flag_reason == (
            "new_country"
        )
    assert [f["kind"] for f in findings] == ["new_country", "new_country"]


def test_without_geoip_nothing_is_looked_for(
    user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sign_in(user, LONDON, django_capture_on_commit_callbacks)
    row = sign_in(user, CHANGCHUN, django_capture_on_commit_callbacks)
    assert row.flag_reason == ""


def test_with_notify_new_device_it_goes_in_the_same_email(
    user: Any, findings: list, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True, "SITE_URL": "https://example.com"}
    sign_in(user, LONDON, django_capture_on_commit_callbacks)
    sign_in(user, CHANGCHUN, django_capture_on_commit_callbacks, user_agent=IPHONE)
    assert [f["kind"] for f in findings] == ["new_country"]
    [message] = mail.outbox
    html, _ = message.alternatives[0]
    for body in (message.body, html):
        assert "Changchun, CN" in body
        assert "None of your sessions of the last 90 days came from this country." in body


def test_a_new_country_on_a_known_browser_sends_no_email(
    user: Any, findings: list, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The signal and the flag, but never a second kind of email."""
    settings.SESSIONMGR = {"NOTIFY_NEW_DEVICE": True, "SITE_URL": "https://example.com"}
    laptop = make_client(ip=LONDON)
    for ip in (LONDON, CHANGCHUN):
        laptop.defaults["REMOTE_ADDR"] = ip
        with django_capture_on_commit_callbacks(execute=True):
            laptop.post("/accounts/login/", {"username": user.get_username(), "password": PASSWORD})
        laptop.post("/accounts/logout/")
    assert [f["kind"] for f in findings] == ["new_country"]
    assert mail.outbox == []


def test_the_email_says_it_in_german(
    user: Any, findings: list, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.LANGUAGE_CODE = "de"
    settings.SESSIONMGR = {
        "NOTIFY_NEW_DEVICE": True,
        "SITE_URL": "https://example.com",
        "NEW_COUNTRY_DAYS": 30,
    }
    sign_in(user, LONDON, django_capture_on_commit_callbacks)
    sign_in(user, CHANGCHUN, django_capture_on_commit_callbacks, user_agent=IPHONE)
    [message] = mail.outbox
    for body in (message.body, message.alternatives[0][0]):
        assert "Keine Ihrer Sitzungen der letzten 30 Tage kam aus diesem Land." in body
