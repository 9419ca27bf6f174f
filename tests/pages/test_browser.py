"""The sessions page in a real browser: headless Chromium, driven by Playwright.

Playwright's own browser download can't work here, so this uses Debian's
``chromium`` package. Without it the tests skip locally; under ``CI=true`` a
missing browser is a failure, so CI can't pass by skipping them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import FIREFOX, IPHONE, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36"
)
SCREENSHOT = Path(__file__).parents[1] / "artifacts" / "sessions-page.png"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the module; each test opens its own contexts."""
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    # Playwright's sync API runs an event loop in this thread, which trips
    # Django's async-safety check on the test's own ORM calls. Nothing here
    # is async: the live server answers from its own thread.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """The module's Chromium; request it after the server. Closes the test's contexts."""
    yield chromium
    for context in chromium.contexts:
        context.close()


@pytest.fixture(params=["db", "signed_cookies"])
def server_url(
    request: pytest.FixtureRequest, settings: Any, transactional_db: None
) -> Iterator[str]:
    """A live server of its own per engine.

    pytest-django's ``live_server`` lives for the whole run, and its handler
    reads ``SESSION_ENGINE`` once, when its middleware loads.
    """
    from pytest_django.live_server_helper import LiveServer

    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    server = LiveServer("localhost")
    yield server.url
    stop(server)


def stop(server: Any) -> None:
    """Stop the live server once the requests it is still finishing are done.

    A request thread that outlives the server would close a database
    connection that is no longer shared with it.
    """
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.02)
    server.stop()


def sign_in(browser: Any, base_url: str, user_agent: str, **context: Any) -> Any:
    """A new browser context (its own cookie jar) signed in as alice; returns its page."""
    page = browser.new_context(user_agent=user_agent, base_url=base_url, **context).new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/?next=/account/sessions/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/account/sessions/")
    return page


def sessions(page: Any) -> Any:
    return page.locator("li.sessionmgr-session")


def is_signed_out(page: Any) -> bool:
    page.goto("/account/sessions/")
    return "/accounts/login/" in page.url


def test_revoke_from_the_sessions_page(server_url, browser, user):
    laptop = sign_in(browser, server_url, FIREFOX)
    phone = sign_in(browser, server_url, IPHONE)

    laptop.goto("/account/sessions/")
    assert sessions(laptop).count() == 2
    current = laptop.locator("li.sessionmgr-session--current")
    assert "This device" in current.inner_text()
    assert "Firefox 128 on Ubuntu" in current.inner_text()
    other = sessions(laptop).filter(has_text="Safari 17 on iOS 17.0")
    assert "Mobile" in other.inner_text()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    laptop.screenshot(path=str(SCREENSHOT), full_page=True)

    other.get_by_role("button", name="Sign out").click()
    laptop.wait_for_url("**/account/sessions/")
    assert "Signed out Safari 17 on iOS 17.0." in laptop.locator("[role=status]").inner_text()
    assert sessions(laptop).count() == 1

    assert is_signed_out(phone)
    assert not is_signed_out(laptop)

    android = sign_in(browser, server_url, ANDROID)
    laptop.reload()
    assert sessions(laptop).count() == 2
    laptop.get_by_role("button", name="Sign out all other sessions").click()
    laptop.get_by_role("dialog").get_by_role("button", name="Sign out 1 session").click()
    laptop.wait_for_url("**/account/sessions/")
    assert "Signed out 1 other session." in laptop.locator("[role=status]").inner_text()
    assert sessions(laptop).count() == 1
    assert laptop.get_by_role("button", name="Sign out all other sessions").count() == 0

    assert is_signed_out(android)
    assert not is_signed_out(laptop)
    revoked = UserSession.objects.filter(status=UserSession.Status.REVOKED)
    assert sorted(row.user_agent for row in revoked) == sorted([IPHONE, ANDROID])
    assert {row.revoke_reason for row in revoked} == {"user"}


# The layout at phone, tablet and laptop widths, in English and in German
# (whose long words are the first to overflow).
WIDTHS = [320, 360, 768, 1280]
LANGUAGES = {"en": "This device", "de": "Dieses Gerät"}


@pytest.fixture
def layout_server(settings: Any, transactional_db: None) -> Iterator[str]:
    """A live server (db engine) that negotiates the language from Accept-Language."""
    from pytest_django.live_server_helper import LiveServer

    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ]
    server = LiveServer("localhost")
    yield server.url
    stop(server)


def add_awkward_sessions(user: Any) -> None:
    """Other sessions with the longest names, places and addresses a page may meet."""
    expires = timezone.now() + timedelta(days=1)
    UserSession.objects.create(
        user=user,
        expires_at=expires,
        device_browser="Samsung Internet 25",
        device_os="Android 14",
        device_family="Samsung Galaxy Tab S9 Ultra 5G Enterprise Edition",
        device_type="tablet",
        location_city="Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
        location_country="GB",
        ip_address="2001:db8:85a3:1234:5678:8a2e:370:7334",
        last_activity_at=timezone.now() - timedelta(minutes=5),
    )
    UserSession.objects.create(
        user=user,
        expires_at=expires,
        device_browser="Chrome 126",
        device_os="Windows 11",
        device_type="desktop",
        location_city="Linköping",
        location_country="SE",
        ip_address="89.160.20.112",
        last_activity_at=timezone.now() - timedelta(days=3),
    )


def assert_fits(page: Any, buttons_in: str = "main") -> None:
    """No sideways scrolling, and every button on screen, clickable and 44px tall."""
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    buttons = page.locator(f"{buttons_in} button:visible")
    assert buttons.count() >= 1
    for button in buttons.all():
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box is not None
        label = button.inner_text()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, label
        assert box["height"] >= 44, label
        # Actionable: visible, enabled, stable, and not covered by anything.
        button.click(trial=True)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_the_screen(layout_server, browser, user, width, language):
    add_awkward_sessions(user)
    page = sign_in(
        browser,
        layout_server,
        IPHONE if width < 768 else FIREFOX,
        viewport={"width": width, "height": 800},
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )

    assert page.locator("html").get_attribute("lang") == language
    assert sessions(page).count() == 3
    current = page.locator("li.sessionmgr-session--current")
    assert current.count() == 1
    assert LANGUAGES[language] in current.locator(".sessionmgr-badge").inner_text()
    # The stylesheet loaded: without it nothing below would hold by design.
    assert (
        page.locator(".sessionmgr-session").first.evaluate(
            "element => getComputedStyle(element).display"
        )
        == "grid"
    )
    assert_fits(page)
    # The back link leads to the site.
    assert page.locator(".sessionmgr-breadcrumbs a").first.get_attribute("href") == "/"

    page.goto("/account/sessions/revoke-others/confirm/")
    assert_fits(page)
    assert page.locator(".sessionmgr-list--compact li").count() == 2


@pytest.mark.parametrize("width", [320, 1280])
def test_the_confirmation_dialog(layout_server, browser, user, width):
    add_awkward_sessions(user)
    page = sign_in(browser, layout_server, FIREFOX, viewport={"width": width, "height": 700})
    dialog = page.get_by_role("dialog")

    # Cancel closes the dialog and ends nothing.
    page.get_by_role("button", name="Sign out all other sessions").click()
    assert dialog.is_visible()
    assert "Sign out 2 other sessions?" in dialog.inner_text()
    # The focus starts on Cancel, not on the button that ends the sessions:
    # Enter right away closes the dialog and signs nothing out.
    assert page.evaluate("document.activeElement.textContent.trim()") == "Cancel"
    assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.keyboard.press("Enter")
    assert not dialog.is_visible()
    assert UserSession.objects.active().count() == 3
    page.get_by_role("button", name="Sign out all other sessions").click()
    assert_fits(page, buttons_in="dialog[open]")
    dialog.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible()
    assert UserSession.objects.active().count() == 3

    page.get_by_role("button", name="Sign out all other sessions").click()
    dialog.get_by_role("button", name="Sign out 2 sessions").click()
    page.wait_for_url("**/account/sessions/")
    assert "Signed out 2 other sessions." in page.locator("[role=status]").inner_text()
    assert sessions(page).count() == 1
    assert UserSession.objects.active().count() == 1


def test_without_javascript_the_confirmation_is_a_page(layout_server, browser, user):
    add_awkward_sessions(user)
    page = sign_in(
        browser,
        layout_server,
        IPHONE,
        viewport={"width": 360, "height": 700},
        java_script_enabled=False,
        locale="de",
        extra_http_headers={"Accept-Language": "de"},
    )

    assert not page.locator("dialog").is_visible()
    page.get_by_role("link", name="Alle anderen Sitzungen abmelden").click()
    page.wait_for_url("**/account/sessions/revoke-others/confirm/**")
    assert "2 andere Sitzungen abmelden?" in page.locator("main").inner_text()
    assert UserSession.objects.active().count() == 3
    page.get_by_role("link", name="Abbrechen").click()
    page.wait_for_url("**/account/sessions/")
    assert UserSession.objects.active().count() == 3

    page.get_by_role("link", name="Alle anderen Sitzungen abmelden").click()
    page.get_by_role("button", name="2 Sitzungen abmelden").click()
    page.wait_for_url("**/account/sessions/")
    assert "2 andere Sitzungen abgemeldet." in page.locator("[role=status]").inner_text()
    assert UserSession.objects.active().count() == 1


#: The runs of digits (and hex digits, and the dots of an IPv4 address) inside
#: ``selector`` that the browser has laid out over more than one line, and the
#: dates (``.sessionmgr-date``) that it has.
BROKEN_NUMBERS_JS = """
selector => {
  const broken = [];
  const lines = rects => new Set(
    Array.from(rects).filter(r => r.width > 0).map(r => Math.round(r.top))
  ).size;
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      if (!node.parentElement || !node.parentElement.getClientRects().length) continue;
      for (const match of node.data.matchAll(/[0-9A-Fa-f]*[0-9][0-9A-Fa-f.]*/g)) {
        const text = match[0].replace(/[.]+$/, "");
        if (text.length < 2) continue;
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + text.length);
        if (lines(range.getClientRects()) > 1) broken.push(text);
      }
    }
    for (const date of root.querySelectorAll(".sessionmgr-date")) {
      if (lines(date.getClientRects()) > 1) broken.push(date.textContent);
    }
  }
  return broken;
}
"""


def broken_numbers(page: Any, selector: str) -> list[str]:
    """What wraps inside itself in ``selector``: an IP, a number or a date."""
    numbers = page.locator(selector)
    assert numbers.count() >= 1, selector
    return list(page.evaluate(BROKEN_NUMBERS_JS, selector))


def add_ipv4_sessions(user: Any) -> None:
    """The addresses that broke mid-number ("89.160.20.11" / "2"), as seed_demo has them."""
    for ip, city, country in (
        ("89.160.20.112", "Linköping", "SE"),
        ("216.160.83.56", "Milton", "US"),
        ("2.125.160.216", "Boxford", "GB"),
    ):
        UserSession.objects.create(
            user=user,
            expires_at=timezone.now() + timedelta(days=14),
            device_browser="Edge 130",
            device_os="Windows 11",
            device_type="desktop",
            location_city=city,
            location_country=country,
            last_location_city=city,
            ip_address=ip,
            last_activity_at=timezone.now() - timedelta(hours=5),
        )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", [320, 390, 768, 1280])
def test_no_ip_number_or_date_breaks_inside_itself(layout_server, browser, user, width, language):
    add_awkward_sessions(user)
    add_ipv4_sessions(user)
    page = sign_in(
        browser,
        layout_server,
        IPHONE if width < 768 else FIREFOX,
        viewport={"width": width, "height": 800},
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )

    assert sessions(page).count() == 6
    assert broken_numbers(page, ".sessionmgr-facts") == []
    # When it signs out, said as still to come ("Abmeldung" read as done).
    signs_out = {"en": "Signs out", "de": "Wird abgemeldet"}[language]
    assert page.locator(f".sessionmgr-facts dt:text-is('{signs_out}')").count() == 6
    # Every address is there, whole (IPv6 may wrap only after a colon).
    facts = page.locator(".sessionmgr-facts").all_inner_texts()
    for ip in ("89.160.20.112", "216.160.83.56", "2.125.160.216"):
        assert any(ip in text for text in facts), ip
    assert_fits(page)


def test_the_self_service_page_small_things(layout_server, browser, user):
    """Last seen names a place only when it differs from Location; this device
    says "Now" and no other says "just now"; after signing the others out the
    ended sessions can be seen; this device can be signed out from the page."""
    add_ipv4_sessions(user)
    moved = UserSession.objects.get(ip_address="216.160.83.56")
    moved.last_location_city = "London"
    moved.last_activity_at = timezone.now() - timedelta(seconds=20)
    moved.save()
    page = sign_in(browser, layout_server, FIREFOX, viewport={"width": 768, "height": 800})

    def last_seen(card: Any) -> str:
        return str(card.locator("dt:text-is('Last seen') + dd").inner_text())

    linkoping = sessions(page).filter(has_text="89.160.20.112")
    assert last_seen(linkoping) == "5 hours ago"  # not "Linköping · 5 hours ago"
    milton = sessions(page).filter(has_text="216.160.83.56")
    assert last_seen(milton) == "London · less than a minute ago"
    assert last_seen(page.locator("li.sessionmgr-session--current")) == "Now"
    assert "just now" not in page.locator("main").inner_text()

    page.get_by_role("button", name="Sign out all other sessions").click()
    page.get_by_role("dialog").get_by_role("button", name="Sign out 3 sessions").click()
    page.wait_for_url("**/account/sessions/")
    page.get_by_role("link", name="See the sessions that have ended").click()
    page.wait_for_url("**/account/sessions/?show=ended")
    assert page.locator("h1").inner_text() == "Sessions that have ended"
    assert sessions(page).count() == 3
    assert page.locator("main").inner_text().count("Signed out by you from another device") == 3
    assert page.locator(".sessionmgr-session form").count() == 0  # nothing to sign out here
    assert broken_numbers(page, ".sessionmgr-facts") == []

    page.get_by_role("link", name="Back to the sessions that are signed in").click()
    page.get_by_role("button", name="Sign out on this device").click()
    page.wait_for_load_state()
    assert is_signed_out(page)
    assert UserSession.objects.active().count() == 0


def test_without_javascript_the_confirmation_page_reads_well(layout_server, browser, user):
    """No stray "?" in its address; one heading (the question) and the list of
    sessions under a visible heading of its own."""
    add_ipv4_sessions(user)
    page = sign_in(
        browser,
        layout_server,
        IPHONE,
        viewport={"width": 360, "height": 700},
        java_script_enabled=False,
    )

    page.get_by_role("link", name="Sign out all other sessions").click()
    page.wait_for_load_state()
    assert page.url.endswith("/account/sessions/revoke-others/confirm/")
    headings = page.locator("main :is(h1, h2)")
    assert headings.all_inner_texts() == [
        "Sign out 3 other sessions?",
        "Sessions that will be signed out",
    ]
    # Something other than a heading comes between the two.
    between = page.evaluate("document.querySelector('main h1').nextElementSibling.tagName")
    assert between not in ("H1", "H2", "H3")
    ending = page.get_by_role("list", name="Sessions that will be signed out")
    assert ending.locator("li").count() == 3
    assert page.locator("main h2").is_visible()
