"""The docs' facts against the code: the API's example errors are its real
answers, the upgrade notes list every migration since 0.1, and the version
is the same everywhere it is written."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from django.test import Client
from django.utils import timezone

import django_sessionmgr
from django_sessionmgr.models import UserSession
from tests.docs.test_snippets import ALL_BLOCKS
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "django_sessionmgr" / "migrations"
#: The migrations 0.1.0 shipped; docs/upgrading.md lists every one after them.
RELEASED_MIGRATIONS = 3

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def self_service(query: str) -> Callable[[Any, Any], Any]:
    def answer(user: Any, staff: Any) -> Any:
        return signed_in(user).get(f"/api/sessions/{query}")

    return answer


def staff_list(query: str) -> Callable[[Any, Any], Any]:
    def answer(user: Any, staff: Any) -> Any:
        return signed_in(staff).get(f"/api/admin/sessions/{query}")

    return answer


def revoked(user: Any, staff: Any) -> Any:
    client = signed_in(user)
    UserSession.objects.filter(user=user).revoke(by=staff, reason="admin")
    return client.get("/api/sessions/")


def expired(user: Any, staff: Any) -> Any:
    client = signed_in(user)
    with time_machine.travel(timezone.now() + timedelta(days=15), tick=False):
        return client.get("/api/sessions/")


def ended(user: Any, staff: Any) -> Any:
    client = signed_in(user)
    cookie = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = cookie  # the same browser, an old tab
    return client.get("/api/sessions/")


#: Each marked example in docs/api.md, and the request that answers it.
EXAMPLES: dict[str, Callable[[Any, Any], Any]] = {
    "self-status": self_service("?status=bogus"),
    "self-limit": self_service("?limit=0"),
    "staff-status": staff_list("?status=bogus"),
    "session-revoked": revoked,
    "session-expired": expired,
    "session-ended": ended,
}
#: What the examples write as a date, which the real answer has for now (on
#: the hour Django writes "1 p.m.", at twelve "noon" or "midnight").
DATE = r"[A-Z][a-z]+\.? \d+, \d{4}, (?:\d+(?::\d+)? [ap]\.m\.|noon|midnight)"

SHOWN = {block.error: block for block in ALL_BLOCKS if block.error}


def test_every_example_error_is_checked():
    assert set(SHOWN) == set(EXAMPLES)
    assert {block.page.name for block in SHOWN.values()} == {"api.md"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_errors_are_the_real_answers(name, user, superuser):
    shown = json.loads(SHOWN[name].code)

    response = EXAMPLES[name](user, superuser)

    assert response.status_code in (400, 401, 403), response.status_code
    real = response.json()
    assert set(real) == set(shown)
    for key, value in shown.items():
        if key == "detail":
            # Dates differ from day to day: the sentence around them may not.
            pattern = re.escape(value)
            for date in re.findall(DATE, value):
                pattern = pattern.replace(re.escape(date), DATE)
            assert re.fullmatch(pattern, real[key]), (real[key], value)
        else:
            assert real[key] == value


def test_the_upgrade_notes_list_every_migration_since_0_1():
    on_disk = {
        path.stem
        for path in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py")
        if int(path.stem[:4]) > RELEASED_MIGRATIONS
    }
    notes = (ROOT / "docs" / "upgrading.md").read_text(encoding="utf-8")
    listed = {f"{number}_{name}" for number, name in re.findall(r"\*\*(\d{4}) `(\w+)`\*\*", notes)}
    assert listed == on_disk
    latest = max(on_disk)[:4]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    unreleased = changelog.split("## [Unreleased]", 1)[1].split("\n## ", 1)[0]
    assert f"Migrations 0004\N{EN DASH}{latest}" in unreleased


def test_the_version_is_the_same_everywhere():
    """pyproject, the package and the committed schema say the same version,
    one after the last release the changelog and the upgrade notes name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    schema = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    assert project["version"] == django_sessionmgr.__version__ == schema["info"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    # Keep a Changelog: "## [Unreleased]", then "## [1.2.3] - YYYY-MM-DD".
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.MULTILINE)
    assert releases, "the changelog names no release"
    last = releases[0]
    assert changelog.index("## [Unreleased]") < changelog.index(f"## [{last}]")
    upgrading = (ROOT / "docs" / "upgrading.md").read_text(encoding="utf-8")
    assert upgrading.startswith(f"# Upgrading from {last.rsplit('.', 1)[0]}\n")

    def as_tuple(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", version)[:3])

    assert as_tuple(project["version"]) > as_tuple(last)


def test_the_commands_page_shows_the_real_batches_and_messages():
    """The --all example steps by the default batch, and the messages shown
    are the ones the commands print."""
    from django_sessionmgr.management.commands import sessionmgr_revoke

    page = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    done = [int(n) for n in re.findall(r"^Revoked (\d+) of \d+ session\(s\)\.\.\.$", page, re.M)]
    assert done[0] == sessionmgr_revoke.BATCH_SIZE
    assert all(b - a == sessionmgr_revoke.BATCH_SIZE for a, b in pairwise(done[:-1]))
    assert "default 10,000" in page and sessionmgr_revoke.BATCH_SIZE == 10_000
    assert re.search(
        r"^Would adopt \d+ session\(s\); \d+ already had a row, \d+ belong to no user\.$",
        page,
        re.M,
    )
    assert "Say whose sessions to revoke: a username" in page
