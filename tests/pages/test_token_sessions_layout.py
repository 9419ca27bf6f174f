"""The sessions page with browsers, apps and API tokens, in a real Chromium:
the two sections fit every width from 320 to 1280 px, a 64-character name
without a space included."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import FIREFOX, IPHONE, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but Chromium is not installed at {CHROMIUM}", pytrace=False)
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the live
    # server answers from its own thread, so nothing here is async.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox"]
            )
            yield browser
            browser.close()


@pytest.fixture
def server(transactional_db: None) -> Iterator[str]:
    from pytest_django.live_server_helper import LiveServer  # only for this browser test

    live = LiveServer("localhost")
    yield live.url
    live.stop()


def add_token_sessions(user: Any) -> None:
    expires = timezone.now() + timedelta(days=1)
    UserSession.objects.create(
        user=user,
        kind=UserSession.Kind.KNOX,
        name="x" * 64,
        expires_at=expires,
        device_browser="okhttp 4.12",
        device_os="Android 14",
        device_type="mobile",
        ip_address="2001:db8:85a3:1234:5678:8a2e:370:7334",
    )
    UserSession.objects.create(
        user=user,
        kind=UserSession.Kind.JWT,
        expires_at=expires,
        device_browser="MyApp 3.1",
        device_os="iOS 17",
        device_type="mobile",
        last_activity_at=timezone.now() - timedelta(hours=2),
    )


@pytest.mark.parametrize("width", [320, 360, 768, 1280])
def test_browsers_and_apps_fit_the_screen(server, chromium, user, width):
    add_token_sessions(user)
    context = chromium.new_context(
        user_agent=IPHONE if width < 768 else FIREFOX,
        base_url=server,
        viewport={"width": width, "height": 800},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/?next=/account/sessions/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/account/sessions/")

    headings = page.locator("main h2.sessionmgr-section-title").all_inner_texts()
    assert headings == ["Browsers", "Apps and API tokens"]
    assert page.locator("#sessionmgr-apps ~ ul li").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for button in page.locator("main button:visible").all():
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
    named = page.locator("li[data-kind=knox] .sessionmgr-device").bounding_box()
    assert named is not None and named["x"] + named["width"] <= width
    context.close()
