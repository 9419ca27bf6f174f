"""A screenshot of the new-device email's HTML, into docs/screenshots/.

Renders the email the app would send for a sign-in (the templates and
``notifications.new_device_email``, with the test settings) to a file, then
photographs it with headless Chromium like ``scripts/screenshots.py`` does.
Run: ``.venv/bin/python scripts/email_screenshot.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.utils import translation  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from screenshots import CHROMIUM, CHROMIUM_ARGS, OUT  # noqa: E402

from django_sessionmgr.models import UserSession  # noqa: E402
from django_sessionmgr.notifications import new_device_email  # noqa: E402

#: (file name, language, viewport width)
SHOTS = [("email-new-device.png", "en", 640), ("email-new-device-de-360.png", "de", 360)]


def render(language: str) -> str:
    user = get_user_model()(username="alice", email="alice@example.com")
    moment = datetime(2026, 11, 29, 21, 14, tzinfo=UTC)
    session = UserSession(
        user=user,
        ip_address="81.2.69.0",
        device_browser="Chrome 131",
        device_os="Windows",
        device_family="Other",
        device_type="desktop",
        location_city="London",
        location_country="GB",
        created_at=moment,
        last_activity_at=moment,
        expires_at=moment,
    )
    request = RequestFactory().post("/accounts/login/", HTTP_HOST="example.com", secure=True)
    with translation.override(language):
        message = new_device_email(session, request)
    assert message is not None
    html, _ = message.alternatives[0]
    return str(html)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, language, width in SHOTS:
            page_file = Path(folder) / f"{language}.html"
            page_file.write_text(render(language), encoding="utf-8")
            page = browser.new_page(viewport={"width": width, "height": 600})
            page.goto(page_file.as_uri())
            page.screenshot(path=str(OUT / name), full_page=True)
            page.close()
            print(OUT / name)
        browser.close()


if __name__ == "__main__":
    main()
