"""The admin changelist in a real browser: it fits 1280 px, status column included.

Same set-up as ``tests/pages/test_browser.py`` (Debian's Chromium, skipped locally without
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
from tests.helpers import PASSWORD
from tests.pages.test_browser import broken_numbers, browser, chromium  # noqa: F401  (the fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
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


#: The text pieces of each username that the browser laid out over more than
#: one line: a username may wrap only after its punctuation (<wbr>).
BROKEN_USERNAMES_JS = """
() => {
  const broken = [];
  for (const name of document.querySelectorAll("#result_list .field-user_column")) {
    const walker = document.createTreeWalker(name, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const range = document.createRange();
      range.selectNodeContents(node);
      const tops = new Set(
        Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top))
      );
      if (tops.size > 1) broken.push(node.data);
    }
  }
  return broken;
}
"""


def sign_in_as_root(chromium: Any, base_url: str, width: int, path: str) -> Any:  # noqa: F811
    context = chromium.new_context(base_url=base_url, viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"/admin/login/?next={path}")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{path}")
    return page


def on_screen(page: Any, locator: Any) -> bool:
    """Inside the viewport's width as laid out, and not covered or clipped there."""
    box = locator.bounding_box()
    width = page.evaluate("window.innerWidth")
    if box is None or box["x"] < 0 or box["x"] + box["width"] > width:
        return False
    return bool(
        locator.evaluate(
            """element => {
              const box = element.getBoundingClientRect();
              const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
              return hit !== null && element.contains(hit);
            }"""
        )
    )


@pytest.fixture
def admin_named_admin(django_user_model: Any) -> Any:
    """A user called "admin" (the name that broke as "adm / in"), with sessions."""
    admin = django_user_model.objects.create_user("admin", "admin@example.com", PASSWORD)
    for ip in ("89.160.20.112", "216.160.83.56"):
        UserSession.objects.create(
            user=admin,
            device_browser="Chrome 130",
            device_os="macOS 15.1",
            ip_address=ip,
            user_agent="Mozilla/5.0",
            expires_at=timezone.now() + timedelta(days=1),
        )
    return admin


@pytest.mark.parametrize("width", [390, 1280])
def test_no_ip_number_date_or_username_breaks_inside(
    server_url,
    browser,  # noqa: F811
    staff_with_sessions,
    admin_named_admin,
    width,
):
    page = sign_in_as_root(browser, server_url, width, CHANGELIST)

    assert broken_numbers(page, "#result_list tbody") == []
    assert page.evaluate(BROKEN_USERNAMES_JS) == []
    assert page.locator("#result_list .field-user_column", has_text="admin").count() == 2
    # The status column is the second: on screen without scrolling sideways.
    assert on_screen(page, page.locator("th.column-status_column"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-changelist-{width}.png"), full_page=True)


def test_the_user_page_at_390_px_keeps_the_status_reachable(
    server_url,
    browser,  # noqa: F811
    staff_with_sessions,
    admin_named_admin,
):
    page = sign_in_as_root(browser, server_url, 390, "/admin/")
    page.goto(f"/admin/auth/user/{admin_named_admin.pk}/change/")
    table = page.locator(".sessionmgr-user-sessions table")
    table.scroll_into_view_if_needed()

    status = table.locator("th", has_text="Status")
    assert on_screen(page, status)
    for cell in table.locator("td.sessionmgr-status").all():
        assert on_screen(page, cell)
    # Nothing was scrolled sideways to get there, and the rest of the table
    # is a sideways scroll away (not cut off by the admin's overflow: hidden).
    scroller = page.locator(".sessionmgr-table-scroll")
    assert scroller.evaluate("element => element.scrollLeft") == 0
    assert scroller.evaluate("element => getComputedStyle(element).overflowX") == "auto"
    assert broken_numbers(page, ".sessionmgr-user-sessions") == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-user-page-390.png"), full_page=True)


def test_the_admin_speaks_to_staff(server_url, browser, staff_with_sessions, django_user_model):  # noqa: F811
    alice = django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)
    now = timezone.now()

    def row(**fields: Any) -> UserSession:
        return UserSession.objects.create(
            user=alice, device_browser="Firefox 132", device_os="Ubuntu", **fields
        )

    row(status="ended", ended_at=now, expires_at=now + timedelta(days=1), ip_address="192.0.2.1")
    row(
        status="revoked",
        revoked_at=now,
        revoked_by=alice,
        revoke_reason="user",
        expires_at=now + timedelta(days=1),
        ip_address="192.0.2.2",
    )
    row(
        status="revoked",
        revoked_at=now,
        revoked_by=staff_with_sessions,
        revoke_reason="admin",
        expires_at=now + timedelta(days=1),
        ip_address="192.0.2.3",
    )
    row(status="expired", expires_at=now - timedelta(days=1), ip_address="192.0.2.4")
    page = sign_in_as_root(browser, server_url, 1280, f"{CHANGELIST}?user={alice.pk}")

    def status_of(ip: str) -> str:
        line = page.locator("#result_list tbody tr", has_text=ip)
        return str(line.locator("td.field-status_column").inner_text())

    assert status_of("192.0.2.1") == "Ended\nSigned out by the user"
    assert status_of("192.0.2.2") == "Revoked\nSigned out by the user from another device"
    assert status_of("192.0.2.3") == "Revoked\nRevoked by root in the admin"
    assert status_of("192.0.2.4") == "Expired"  # not "Expired / Expired"
    assert "by you" not in page.locator("#result_list").inner_text()


@pytest.mark.parametrize("width", [390, 1280])
def test_a_session_page_revokes_and_reads_for_staff(
    server_url,
    browser,  # noqa: F811
    staff_with_sessions,
    width,
):
    session = UserSession.objects.filter(status="active", location_city="").first()
    assert session is not None
    path = f"{CHANGELIST}{session.pk}/change/"
    page = sign_in_as_root(browser, server_url, width, path)

    assert page.locator(".field-location .readonly").inner_text() == "Unknown"
    assert page.locator(".field-ended_moment .readonly").inner_text() == "-"
    page.get_by_role("link", name="Revoke this session").click()
    page.wait_for_selector(".sessionmgr-revoke-confirmation")
    listed = page.locator("table.sessionmgr-revoke-sessions tbody tr")
    assert listed.count() == 1
    assert "Firefox 128" in listed.inner_text() and "203.0.113.9" in listed.inner_text()
    assert broken_numbers(page, "table.sessionmgr-revoke-sessions") == []
    page.click("input[type=submit][value='Yes, revoke them']")
    page.wait_for_url(f"**{path}")

    assert page.locator(".field-effective_status .readonly").inner_text() == "Revoked"
    assert page.locator(".field-ended_because .readonly").inner_text() == (
        "Revoked by root in the admin"
    )
    ended = page.locator(".field-ended_moment .readonly").inner_text()
    assert ended not in ("", "-")
    # One "ended at", no raw reason code.
    assert page.locator(".field-revoked_at, .field-ended_at, .field-revoke_reason").count() == 0
    assert page.get_by_role("link", name="Revoke this session").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-session-page-{width}.png"), full_page=True)


def test_the_user_page_revokes_all_of_the_users_sessions(
    server_url,
    browser,  # noqa: F811
    staff_with_sessions,
    admin_named_admin,
):
    page = sign_in_as_root(browser, server_url, 1280, "/admin/")
    user_page = f"/admin/auth/user/{admin_named_admin.pk}/change/"
    page.goto(user_page)

    page.get_by_role("link", name="Revoke all of this user's sessions").click()
    page.wait_for_selector(".sessionmgr-revoke-confirmation")
    text = page.locator("#content").inner_text()
    assert "This will sign out 2 active sessions at once." in text
    listed = page.locator("table.sessionmgr-revoke-sessions tbody tr").all_inner_texts()
    assert len(listed) == 2
    for ip, line in zip(["216.160.83.56", "89.160.20.112"], sorted(listed), strict=True):
        assert line.startswith(f"admin\tChrome 130 on macOS 15.1\t{ip}\t"), line
    page.click("input[type=submit][value='Yes, revoke them']")
    page.wait_for_url(f"**{user_page}")

    assert "Revoked 2 sessions." in page.locator("ul.messagelist").inner_text()
    assert not UserSession.objects.filter(user=admin_named_admin).active().exists()
    assert page.get_by_role("link", name="Revoke all of this user's sessions").count() == 0


def test_the_admin_in_german_names_its_section(server_url, browser, staff_with_sessions, settings):  # noqa: F811
    settings.LANGUAGE_CODE = "de"
    page = sign_in_as_root(browser, server_url, 1280, "/admin/")

    captions = page.locator("#content-main caption").all_inner_texts()
    assert "SITZUNGEN" in [caption.upper() for caption in captions]
    assert "SESSIONS" not in [caption.upper() for caption in captions]
    page.goto(f"/admin/auth/user/{staff_with_sessions.pk}/change/")
    assert page.locator("fieldset h2", has_text="Sitzungen").count() == 1
