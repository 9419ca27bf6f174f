"""A worker loads only what its requests need, and a first login finds the resolver built.

Each check runs in fresh Python processes on a SQLite file: what a process
has imported is only meaningful before anything else ran in it.

- ``manage.py check`` and a signed-in request (a session cookie, no login)
  load neither the user-agent resolver (ua-parser, ``user_agents``, the
  automata) nor (the request) DRF's views behind the API.
- A request without a session cookie (a login form) builds the resolver, and
  opens the GeoIP database, in a background thread.
- Threads that all parse a first user agent at once build it once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What a signed-in request never needs.
HEAVY = [
    "ua_parser",
    "ua_parser_rs",
    "user_agents",
    "django_sessionmgr.ua_resolver",
    "rest_framework.views",
    "rest_framework.serializers",
]
PREPARE = """
import django
from django.core.management import call_command
from django.test import Client
django.setup()
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("alice", password="pw")
client = Client()
assert client.login(username="alice", password="pw")
print(client.cookies["sessionid"].value)
"""
SERVE = """
import json, sys, threading
import django
django.setup()
from django.conf import settings
from django.test import Client
from django_sessionmgr.network import _geoip_reader
settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
cookie = sys.argv[1]
client = Client()
if cookie:
    client.cookies["sessionid"] = cookie
user = client.get("/whoami/").json()["user"]
for thread in threading.enumerate():
    if thread.name == "sessionmgr-ua-resolver":
        thread.join(60)
geoip_open = _geoip_reader.cache_info().currsize
print(json.dumps({"user": user, "modules": sorted(sys.modules), "geoip_open": geoip_open}))
"""
CHECK = """
import json, sys
import django
from django.core.management import call_command
django.setup()
call_command("check", verbosity=0)
print(json.dumps({"modules": sorted(sys.modules)}))
"""
CONCURRENT = """
import json, threading
import django
django.setup()
import ua_parser_rs
from django_sessionmgr import devices
built = []
real = ua_parser_rs.DeviceExtractor
def counting(*args):
    built.append(1)
    return real(*args)
ua_parser_rs.DeviceExtractor = counting
barrier = threading.Barrier(8)
answers = []
def first_login(i):
    barrier.wait()
    answers.append(devices.parse_user_agent(
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1 n/{i}"
    ).device)
threads = [threading.Thread(target=first_login, args=(i,)) for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"built": len(built), "answers": answers}))
"""


def _run(code: str, database: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A database with alice signed in (by another process), and her cookie."""
    database = tmp_path_factory.mktemp("lazy") / "db.sqlite3"
    return database, _run(PREPARE, database)


def test_a_signed_in_request_loads_nothing_heavy(signed_in: tuple[Path, str]) -> None:
    database, cookie = signed_in
    served = json.loads(_run(SERVE, database, cookie))
    assert served["user"] == "alice"
    assert [name for name in HEAVY if name in served["modules"]] == []
    assert served["geoip_open"] == 0


def test_manage_py_check_loads_no_resolver(signed_in: tuple[Path, str]) -> None:
    checked = json.loads(_run(CHECK, signed_in[0]))
    assert [name for name in HEAVY[:4] if name in checked["modules"]] == []


def test_a_cookieless_request_builds_the_resolver_in_the_background(
    signed_in: tuple[Path, str],
) -> None:
    served = json.loads(_run(SERVE, signed_in[0], ""))
    assert served["user"] is None
    assert "django_sessionmgr.ua_resolver" in served["modules"]
    assert served["geoip_open"] == 1  # as a login would open it
    assert "rest_framework.views" not in served["modules"]


def test_the_resolver_is_built_once_under_concurrent_first_use(
    signed_in: tuple[Path, str],
) -> None:
    result = json.loads(_run(CONCURRENT, signed_in[0]))
    assert result["built"] == 1
    assert result["answers"] == ["iPhone"] * 8
