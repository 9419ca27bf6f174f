"""Writes docs/settings.md from the declarations in ``django_sessionmgr.conf``.

The settings table, the defaults block and the rows of the check table for
bad values come from ``conf.AppSettings`` and ``checks.TYPE_CHECKS``; the
prose around them is here. ``make docs`` writes the page;
``tests/config/test_settings_declarations.py`` fails when the committed page differs.
Run from the repository's root: ``python -m scripts.settings_page --write``
(``--check`` exits 1 when the page is stale).
"""

from __future__ import annotations

import json
import os
import sys
from itertools import groupby
from pathlib import Path
from typing import Any

import django

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "settings.md"

INTRO = """# Settings

<!-- Written by scripts/settings_page.py (make docs) from the declarations in
django_sessionmgr/conf.py: edit those, or the prose in the script. -->

All settings live in one optional dict, `SESSIONMGR`, and every key is
optional. Each value is read on first use and kept until Django's
`setting_changed` signal says `SESSIONMGR` changed, as DRF does with its own
settings: `override_settings` and pytest-django's `settings` fixture work in
tests. A change made another way (editing the dict in place, or
`mock.patch.dict` on it) is not seen; assign a new dict through one of those
instead. The same holds for `SESSION_COOKIE_AGE` and
`SESSION_SAVE_EVERY_REQUEST`, which the middleware reads on every request.
These are the keys with their defaults:
"""

EXAMPLE = """A project usually sets one or two of them:

<!-- test: settings-example -->
```python
SESSIONMGR = {
    "ACTIVITY_UPDATE_INTERVAL": 300,  # write last activity every 5 minutes at most
    "TRUSTED_PROXY_COUNT": 1,         # one load balancer in front of Django
}
```
"""

CHECKS_INTRO = """## System checks

`manage.py check` explains a misconfiguration before it bites. Each message
has a hint saying what to change.

"""

#: The checks that are not about one setting's type.
OTHER_CHECKS = {
    "django_sessionmgr.E001": (
        "`UserSessionMiddleware` (or a subclass of it) is not in `MIDDLEWARE`."
    ),
    "django_sessionmgr.E002": (
        "`UserSessionMiddleware` comes before `AuthenticationMiddleware`, or "
        "`AuthenticationMiddleware` is missing."
    ),
    "django_sessionmgr.E003": ("`SESSIONMGR` is not a dict."),
    "django_sessionmgr.E006": (
        "Database routers send the app's table and the user table to different databases:"
        " a row must live beside its user."
    ),
    "django_sessionmgr.E010": (
        "`IDLE_TIMEOUT` is shorter than `ACTIVITY_UPDATE_INTERVAL`, so it could not be honoured."
    ),
    "django_sessionmgr.E011": (
        "Database routers read the session engine's model (`db`, `cached_db`) from "
        "another database than they write it to: a replica that lags still loads a "
        "revoked session. See [read replicas](engines.md#read-replicas)."
    ),
    "django_sessionmgr.E012": (
        "The session cache (`SESSION_CACHE_ALIAS`, under `cache`, `cached_db` or "
        "`signed_cookies`) is a `RedisCache` with more than one `LOCATION`, so it reads "
        "from replicas. See [read replicas](engines.md#read-replicas)."
    ),
    "django_sessionmgr.E014": (
        "The app's simplejwt pieces are set up (its serializers in `SIMPLE_JWT`, or "
        "`SessionmgrJWTAuthentication` in DRF's `DEFAULT_AUTHENTICATION_CLASSES`) but "
        "`rest_framework_simplejwt.token_blacklist` is not installed: a revoke could not stop "
        "the family's refresh tokens. See [simplejwt](tokens.md#simplejwt)."
    ),
    "django_sessionmgr.W001": ("`SESSIONMGR` has a key the app does not know (a typo?)."),
    "django_sessionmgr.W002": (
        "The `cache` or `cached_db` engine keeps sessions in a process-local cache "
        "(`LocMemCache`): a revoke in one process cannot reach a session cached in "
        "another."
    ),
    "django_sessionmgr.W003": (
        "`NOTIFY_NEW_DEVICE` is on, but neither `SITE_URL` is set nor "
        "`django.contrib.sites` installed: the emails would have no base URL for their "
        "link (the request's `Host` is never used)."
    ),
    "django_sessionmgr.W004": (
        "simplejwt token sessions are set up, but `SIMPLE_JWT` does not name all three of "
        "the app's serializers (or subclasses): without the obtain one a login makes no "
        "row, without the refresh one a refresh past a timeout is not refused, without the "
        "blacklist one simplejwt's logout does not end the row. See "
        "[simplejwt](tokens.md#simplejwt)."
    ),
    "django_sessionmgr.W005": (
        "allauth headless serves app clients with allauth's own session-token strategy, "
        "not the app's: the apps' sessions are listed and revoked, but their activity is "
        "never written and the timeouts do not reach them. See "
        "[allauth headless](tokens.md#django-allauth-headless)."
    ),
}


def shown(value: Any) -> str:
    """A default as the page writes it (Python, with the README's double quotes)."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def names(settings: list[Any]) -> str:
    """```A`, `B` or `C``."""
    *first, last = (f"`{setting.name}`" for setting in settings)
    return f"{', '.join(first)} or {last}" if first else last


def page() -> str:
    """The page the declarations give (Django must be set up: the check ids
    come from ``checks``)."""
    # Imported once Django is set up: checks imports the models.
    from django_sessionmgr.checks import type_check_id
    from django_sessionmgr.conf import DECLARATIONS

    defaults = "".join(f'    "{s.name}": {shown(s.default)},\n' for s in DECLARATIONS)
    table = "".join(f"| `{s.name}` | `{shown(s.default)}` | {s.doc} |\n" for s in DECLARATIONS)
    problems = dict(OTHER_CHECKS)
    by_check = sorted(DECLARATIONS, key=type_check_id)
    for check_id, of_check in groupby(by_check, key=type_check_id):
        in_order = sorted(of_check, key=DECLARATIONS.index)
        parts = [
            f"{names(list(same))} {problem}"
            for problem, same in groupby(in_order, key=lambda s: s.type.problem)
        ]
        problems[check_id] = ", or ".join(parts) + "."
    checks = "".join(f"| `{check_id}` | {problems[check_id]} |\n" for check_id in sorted(problems))
    return (
        f"{INTRO}\n<!-- test: settings-defaults -->\n"
        f"```python\nSESSIONMGR = {{\n{defaults}}}\n```\n\n"
        f"| Name | Default | Meaning |\n| --- | --- | --- |\n{table}\n{EXAMPLE}\n"
        f"{CHECKS_INTRO}| Id | Problem |\n| --- | --- |\n{checks}"
    )


def main(argv: list[str]) -> int:
    if argv not in (["--write"], ["--check"]):
        sys.exit("usage: python -m scripts.settings_page --write | --check")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    django.setup()
    text = page()
    if argv == ["--write"]:
        PAGE.write_text(text, encoding="utf-8")
        print(PAGE.relative_to(ROOT))
        return 0
    if PAGE.read_text(encoding="utf-8") != text:
        print(f"{PAGE.relative_to(ROOT)} is stale: run make docs and commit it.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
