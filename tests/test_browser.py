"""The sessions page in a real browser: headless Chromium, driven by Playwright.

Playwright's own browser download can't work here, so this uses Debian's
``chromium`` package. Without it the tests skip locally; under ``CI=true`` a
missing browser is a failure, so CI can't pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_sessionmgr.models import UserSession

from .conftest import FIREFOX, IPHONE, PASSWORD

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


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Chromium; request it after the server, so it closes its connections first."""
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    # Playwright's sync API runs an event loop in this thread, which trips
    # Django's async-safety check on the test's own ORM calls. Nothing here
    # is async: the live server answers from its own thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
    server.stop()


def sign_in(browser: Any, base_url: str, user_agent: str) -> Any:
    """A new browser context (its own cookie jar) signed in as alice; returns its page."""
    page = browser.new_context(user_agent=user_agent, base_url=base_url).new_page()
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
    other = sessions(laptop).filter(has_text="Mobile Safari 17 on iOS 17.0")
    assert "Mobile" in other.inner_text()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    laptop.screenshot(path=str(SCREENSHOT), full_page=True)

    other.get_by_role("button", name="Sign out").click()
    laptop.wait_for_url("**/account/sessions/")
    assert (
        "Signed out Mobile Safari 17 on iOS 17.0." in laptop.locator("[role=status]").inner_text()
    )
    assert sessions(laptop).count() == 1

    assert is_signed_out(phone)
    assert not is_signed_out(laptop)

    android = sign_in(browser, server_url, ANDROID)
    laptop.reload()
    assert sessions(laptop).count() == 2
    laptop.get_by_role("button", name="Sign out all other sessions").click()
    laptop.wait_for_url("**/account/sessions/")
    assert "Signed out 1 other session." in laptop.locator("[role=status]").inner_text()
    assert sessions(laptop).count() == 1
    assert laptop.get_by_role("button", name="Sign out all other sessions").count() == 0

    assert is_signed_out(android)
    assert not is_signed_out(laptop)
    revoked = UserSession.objects.filter(status=UserSession.Status.REVOKED)
    assert sorted(row.user_agent for row in revoked) == sorted([IPHONE, ANDROID])
    assert {row.revoke_reason for row in revoked} == {"user"}
