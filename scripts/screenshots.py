"""Screenshots of the self-service pages, as a person sees them, into docs/screenshots/.

Seeds the example project's demo (into a throwaway SQLite database), serves
it, signs alice in with headless Chromium (Debian's ``chromium`` package,
driven by Playwright) and photographs the pages at phone, tablet and desktop
widths, in English and German, light and dark. Run: ``make screenshots``
(or ``python scripts/screenshots.py sessions-320.png ...`` for some of them).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"

# (file name, viewport width, user agent, language, colour scheme, what to show)
SHOTS = [
    ("sessions-320.png", 320, IPHONE, "en", "light", "list"),
    ("sessions-360.png", 360, ANDROID, "en", "light", "list"),
    ("sessions-768.png", 768, IPAD, "en", "light", "list"),
    ("sessions-1280.png", 1280, UBUNTU, "en", "light", "list"),
    ("sessions-360-de.png", 360, ANDROID, "de", "light", "list"),
    ("sessions-1280-dark.png", 1280, UBUNTU, "en", "dark", "list"),
    ("confirm-360.png", 360, ANDROID, "en", "light", "confirm"),
    ("confirm-dialog-768.png", 768, IPAD, "de", "light", "dialog"),
    ("signed-out-360.png", 360, ANDROID, "en", "light", "signed-out"),
    ("flagged-320.png", 320, IPHONE, "en", "light", "flagged"),
    ("flagged-360.png", 360, ANDROID, "en", "light", "flagged"),
    ("flagged-360-de.png", 360, ANDROID, "de", "light", "flagged"),
    ("flagged-1280.png", 1280, UBUNTU, "en", "light", "flagged"),
]

#: Staff sign the newest session of alice's out, as the admin would.
REVOKE_NEWEST = (
    "from django_sessionmgr.models import RevokeReason, UserSession; "
    "UserSession.objects.filter(user__username='alice').order_by('-created_at')"
    ".first().revoke(reason=RevokeReason.ADMIN)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("The demo server stopped before it answered.")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("The demo server did not answer within 30 seconds.")


#: The demo's environment, for the shots that act on it from the outside.
_env: dict[str, str] = {}


def shoot(browser: Any, base_url: str, shot: tuple[str, int, str, str, str, str]) -> None:
    name, width, user_agent, language, scheme, what = shot
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": 800},
        user_agent=user_agent,
        locale=language,
        extra_http_headers={"Accept-Language": language},
        color_scheme=scheme,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/?next=/account/sessions/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice")
    page.click("button[type=submit]")
    page.wait_for_url("**/account/sessions/")
    if what == "confirm":
        page.goto("/account/sessions/revoke-others/confirm/")
    elif what == "signed-out":
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "shell", "-c", REVOKE_NEWEST], env=_env, check=True)
        page.goto("/account/sessions/")  # the next request: anonymous, and told why
        page.wait_for_selector(".messages")
    elif what == "dialog":
        page.click(".sessionmgr-revoke-others [data-sessionmgr-dialog]")
        page.wait_for_selector("dialog[open]")
        # Let the backdrop paint before the picture.
        page.wait_for_timeout(300)
    if what == "flagged":
        # The session the demo flags as possibly stolen, on its own.
        page.locator(".sessionmgr-session--flagged").screenshot(path=str(OUT / name))
    else:
        page.screenshot(path=str(OUT / name), full_page=what != "dialog")
    context.close()
    print(f"  {OUT.relative_to(ROOT) / name}")


def main(only: list[str]) -> None:
    shots = [shot for shot in SHOTS if not only or shot[0] in only]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
            "SESSION_ENGINE": "db",
            "DJANGO_DEBUG": "1",
        }
        env.pop("REDIS_URL", None)
        _env.update(env)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True)
        subprocess.run([*manage, "seed_demo"], env=env, check=True)
        port = free_port()
        server = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(port, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for shot in shots:
                    # The demo is re-seeded for each shot, so each starts from
                    # the same sessions: only the browser taking it is added.
                    subprocess.run([*manage, "seed_demo"], env=env, check=True, capture_output=True)
                    shoot(browser, f"http://127.0.0.1:{port}", shot)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    # Optionally, only the named files: screenshots.py sessions-320.png
    main(sys.argv[1:])
