"""A flagged session in a real browser (headless Chromium): it stands out, its
one action fits the screen at phone and desktop widths in English and German,
and it works."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import FIREFOX, IPHONE
from tests.pages.test_browser import (
    assert_fits,
    browser,
    chromium,
    layout_server,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The fixtures this module borrows from the page tests.
__all__ = ["browser", "chromium", "layout_server"]

ACTION = {
    "en": "This wasn\u2019t me \u2014 sign it out and change my password",
    "de": "Das war ich nicht \u2013 abmelden und Passwort \u00e4ndern",
}


def add_flagged_session(user: Any) -> UserSession:
    """Another session, with long names, flagged for impossible travel."""
    now = timezone.now()
    return UserSession.objects.create(
        user=user,
        expires_at=now + timedelta(days=1),
        device_browser="Samsung Internet 25",
        device_os="Android 14",
        device_family="Samsung Galaxy Tab S9 Ultra 5G Enterprise Edition",
        device_type="tablet",
        location_city="Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
        location_country="GB",
        last_location_city="Changchun",
        last_location_country="CN",
        ip_address="2001:db8:85a3:1234:5678:8a2e:370:7334",
        last_activity_at=now - timedelta(minutes=5),
        flagged_at=now - timedelta(minutes=5),
        flag_reason="impossible_travel",
    )


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("width", [320, 360, 1280])
def test_a_flagged_session_stands_out_and_its_action_fits(
    layout_server: str, browser: Any, user: Any, width: int, language: str
) -> None:
    row = add_flagged_session(user)
    page = sign_in(
        browser,
        layout_server,
        IPHONE if width < 768 else FIREFOX,
        viewport={"width": width, "height": 800},
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    flagged = page.locator("li.sessionmgr-session--flagged")
    assert flagged.count() == 1
    # A red edge: the danger colour, not the plain border of the others.
    edge = flagged.evaluate("element => getComputedStyle(element).borderTopColor")
    plain = page.locator("li.sessionmgr-session:not(.sessionmgr-session--flagged)").first
    assert edge != plain.evaluate("element => getComputedStyle(element).borderTopColor")
    action = flagged.get_by_role("button", name=ACTION[language])
    assert action.is_visible()
    # Its one action: no plain "Sign out" beside it.
    assert flagged.locator("button").count() == 1
    assert_fits(page)

    action.click()
    page.wait_for_url("**/accounts/password/")
    row.refresh_from_db()
    assert row.status == UserSession.Status.REVOKED
