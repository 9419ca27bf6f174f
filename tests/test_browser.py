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

from .helpers import FIREFOX, IPHONE, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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
SCREENSHOT = Path(__file__).parent / "artifacts" / "sessions-page.png"


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
    page.get_by_role("button", name="Alle anderen Sitzungen abmelden").click()
    page.wait_for_url("**/account/sessions/revoke-others/confirm/**")
    assert "2 andere Sitzungen abmelden?" in page.locator("main").inner_text()
    assert UserSession.objects.active().count() == 3
    page.get_by_role("link", name="Abbrechen").click()
    page.wait_for_url("**/account/sessions/")
    assert UserSession.objects.active().count() == 3

    page.get_by_role("button", name="Alle anderen Sitzungen abmelden").click()
    page.get_by_role("button", name="2 Sitzungen abmelden").click()
    page.wait_for_url("**/account/sessions/")
    assert "2 andere Sitzungen abgemeldet." in page.locator("[role=status]").inner_text()
    assert UserSession.objects.active().count() == 1
