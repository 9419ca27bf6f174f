"""The admin changelist in a real browser: it fits 1280 px, status column included.

Same set-up as ``test_browser.py`` (Debian's Chromium, skipped locally without
it, a failure under ``CI=true``). The screenshots land in ``tests/artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from django_sessionmgr.models import UserSession

from .helpers import PASSWORD
from .test_browser import browser, chromium  # noqa: F401  (the fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).parent / "artifacts"
CHANGELIST = "/admin/django_sessionmgr/usersession/"

#: Long but real values: the widest a row gets in practice.
IPV6 = "2001:db8:85a3:1234:5678:8a2e:370:7334"
ROWS = [
    ("Chrome Mobile WebView 128", "Android 14", IPV6, "Frankfurt am Main", "DE"),
    ("Mobile Safari 17", "iOS 17.5.1", "81.2.69.142", "London", "GB"),
    ("Firefox 128", "Ubuntu", "203.0.113.9", "", ""),
    ("Edge 128", "Windows 10", "175.16.199.1", "Changchun", "CN"),
]


@pytest.fixture
def server_url(settings: Any, transactional_db: None) -> Iterator[str]:
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost")
    yield server.url
    server.stop()


@pytest.fixture
def staff_with_sessions(django_user_model: Any) -> Any:
    root = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    now = timezone.now()
    for n, (browser_name, os_name, ip, city, country) in enumerate(ROWS * 3):
        owner = django_user_model.objects.get_or_create(
            username=f"customer.with.a.long.name{n % 4}",
            defaults={"email": f"customer{n % 4}@example.com"},
        )[0]
        UserSession.objects.create(
            user=owner,
            device_browser=browser_name,
            device_os=os_name,
            ip_address=ip,
            location_city=city,
            location_country=country,
            user_agent="Mozilla/5.0",
            expires_at=now + timedelta(days=1),
            status="revoked" if n % 3 == 0 else "active",
        )
    return root


def admin_page(chromium: Any, base_url: str) -> Any:  # noqa: F811 (the fixture)
    """A 1280 px wide browser signed in to the admin as root, on the sessions list."""
    context = chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"/admin/login/?next={CHANGELIST}")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{CHANGELIST}")
    return page


def fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_changelist_fits_1280_px(server_url, browser, staff_with_sessions, settings, language):  # noqa: F811
    settings.LANGUAGE_CODE = language
    page = admin_page(browser, server_url)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-changelist-1280-{language}.png"), full_page=True)

    widths = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth,"
        " document.querySelector('#changelist .results').scrollWidth,"
        " document.querySelector('#changelist .results').clientWidth]"
    )
    page_width, viewport, table_width, table_box = widths
    assert page_width <= viewport, widths
    assert table_width <= table_box, widths  # no scrolling inside the results either

    header = page.locator("th.column-status_column")
    assert header.is_visible()
    box = header.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport
    marker = {"en": "this is you", "de": "das sind Sie"}[language]
    own = page.locator("td.field-status_column", has_text=marker)
    assert own.count() == 1
    assert own.is_visible()
    cells = page.locator("td.field-status_column")
    assert cells.count() == len(ROWS) * 3 + 1  # the rows above and root's own session
    for i in range(cells.count()):
        cell = cells.nth(i).bounding_box()
        assert cell is not None and cell["x"] + cell["width"] <= viewport


def test_revoking_goes_through_the_confirmation_page(server_url, browser, staff_with_sessions):  # noqa: F811
    page = admin_page(browser, server_url)
    own = page.locator("#result_list tbody tr", has_text="this is you")
    other = page.locator("#result_list tbody tr", has_text="Edge 128").filter(has_text="Active")
    own.locator("input.action-select").check()
    other.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "revoke_sessions")
    page.click("button[name=index], input[name=index]")

    page.wait_for_selector(".sessionmgr-revoke-confirmation")
    assert fits(page)
    text = page.locator("#content").inner_text()
    assert "This will sign out 1 active session at once." in text
    assert "customer.with.a.long.name3" in text
    assert "Your own session, the one you are using now, is kept." in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-revoke-confirmation-1280.png"), full_page=True)

    page.click("input[type=submit][value='Yes, revoke them']")
    page.wait_for_url(f"**{CHANGELIST}")
    message = page.locator("ul.messagelist").inner_text()
    assert "Revoked 1 session. Your own session was left out." in message
    assert page.locator("#result_list tbody tr", has_text="this is you").count() == 1
    assert UserSession.objects.filter(status="revoked", revoke_reason="admin").count() == 1


def test_the_user_page_table_fits_and_marks_ones_own_session(
    server_url,
    browser,  # noqa: F811
    staff_with_sessions,
):
    page = admin_page(browser, server_url)
    page.goto(f"/admin/auth/user/{staff_with_sessions.pk}/change/")
    rows = page.locator("tr.sessionmgr-user-session")
    assert rows.count() == 1
    assert "this is you" in rows.first.inner_text()
    assert fits(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-user-page-1280.png"), full_page=True)
