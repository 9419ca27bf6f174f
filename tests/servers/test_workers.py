"""The example project under real multi-worker servers, driven over real HTTP.

gunicorn (4 sync workers, WSGI) on PostgreSQL for the db, cache (on Redis) and
signed_cookies engines, and uvicorn (2 workers, ASGI) for the async path, on db
and on signed_cookies with its sign-out marks on Redis. Each
worker answers ``/__worker__/`` with its pid and the request's user, so a
session can be shown to every worker before and after it is revoked.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.real_servers import once_per_run, postgres_url, redis_url

pytestmark = [pytest.mark.services, once_per_run]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "multi-process-pass"
CONCURRENT_LOGINS = 50
REQUESTS_PER_LOGIN = 4
#: Bounds on every loop that waits for the servers.
MAX_WARM_REQUESTS = 400
DEADLINE_SECONDS = 60
REQUEST_TIMEOUT = 180


@dataclass
class Server:
    name: str
    base: str
    workers: int


@dataclass
class Browser:
    """Cookies and CSRF over plain HTTP, one connection per request (any worker may answer)."""

    server: Server
    cookies: dict[str, str] = field(default_factory=dict)
    keep_cookies: bool = True

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, HTTPMessage, bytes]:
        parts = urlsplit(self.server.base)
        # Generous: 50 logins queue behind full-strength password hashing.
        connection = HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
        sent = {"Host": parts.netloc, "User-Agent": "multiprocess-test/1.0", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body.encode() or None, headers=sent)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        if self.keep_cookies:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers, content

    def login(self, username: str) -> None:
        status, _, body = self.request("GET", "/accounts/login/")
        assert status == 200
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert token is not None
        form = f"username={username}&password={PASSWORD}&csrfmiddlewaretoken={token[1].decode()}"
        status, _, _ = self.request(
            "POST",
            "/accounts/login/",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302, status
        assert "sessionid" in self.cookies

    def worker(self) -> tuple[int, str | None]:
        status, _, body = self.request("GET", "/__worker__/")
        assert status == 200, status
        data = json.loads(body)
        return data["pid"], data["user"]

    def api(self, method: str, path: str) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if method not in ("GET", "HEAD"):
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        status, _, body = self.request(method, path, headers=headers)
        return status, json.loads(body) if body else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


SERVERS = {
    "gunicorn-db": ("db", False, False),
    "gunicorn-cache-redis": ("cache", True, False),
    "gunicorn-signed_cookies": ("signed_cookies", False, False),
    "uvicorn-signed_cookies-redis": ("signed_cookies", True, True),  # sign-out marks
    "uvicorn-db": ("db", False, True),
}
LOGINS = [f"user{n:02d}" for n in range(CONCURRENT_LOGINS)]
NAMES = ["alice", "bob", *LOGINS]
# Each server gets its own users, so the counts of one never see another's rows.
# One password hash shared by all of them keeps setup fast; logins still hash.
CREATE_USERS = f"""
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
password = make_password({PASSWORD!r})
names = [f"{{server}}.{{name}}" for server in {list(SERVERS)!r} for name in {NAMES!r}]
User.objects.bulk_create([User(username=n, password=password) for n in names])
"""


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh PostgreSQL database, migrated, with the users every test logs in as."""
    import psycopg

    server = postgres_url()
    name = f"sessionmgr_mp_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "example_project.settings"}
    try:
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "shell", "-c", CREATE_USERS)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(
    name: str, database: str, engine: str, redis: str | None, asgi: bool, log: Path
) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": database,
        "SESSION_ENGINE": engine,
        "SESSIONMGR_TEST_PID_VIEW": "1",
        "DJANGO_DEBUG": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = redis
    bin_dir = Path(sys.executable).parent
    workers = 2 if asgi else 4
    if asgi:
        command = [
            str(bin_dir / "uvicorn"),
            "example_project.asgi:application",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--log-level=warning",
        ]
    else:
        command = [
            str(bin_dir / "gunicorn"),
            "example_project.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--worker-class=sync",
            "--log-level=warning",
        ]
    output = log.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    server = Server(name, f"http://127.0.0.1:{port}", workers)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            try:
                Browser(server).worker()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{name} did not start"
                time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()
    assert process.returncode in (0, -signal.SIGTERM), log.read_text()


@pytest.fixture(scope="module", params=list(SERVERS))
def server(
    request: pytest.FixtureRequest, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    engine, needs_redis, asgi = SERVERS[request.param]
    redis = redis_url() if needs_redis else None
    log = tmp_path_factory.mktemp("servers") / f"{request.param}.log"
    yield from start_server(request.param, database, engine, redis, asgi, log)


def active_rows(database: str, usernames: list[str]) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database) as connection:
        rows = connection.execute(
            "SELECT u.username, count(s.id) FROM auth_user u"
            " LEFT JOIN django_sessionmgr_usersession s"
            " ON s.user_id = u.id AND s.status = 'active'"
            " WHERE u.username = ANY(%s) GROUP BY u.username",
            [usernames],
        ).fetchall()
    return dict(rows)


def pids_serving(browser: Browser, expected_user: str | None, workers: int) -> set[int]:
    """Send requests until every worker has answered; each must see ``expected_user``."""
    pids: set[int] = set()
    deadline = time.monotonic() + DEADLINE_SECONDS
    for _ in range(MAX_WARM_REQUESTS):
        pid, user = browser.worker()
        assert user == expected_user, (pid, user)
        pids.add(pid)
        if len(pids) == workers or time.monotonic() > deadline:
            break
    return pids


def test_revoked_session_is_refused_by_every_worker(server, database):
    revoker, victim, bystander = Browser(server), Browser(server), Browser(server)
    alice, bob = f"{server.name}.alice", f"{server.name}.bob"
    revoker.login(alice)
    victim.login(alice)
    bystander.login(bob)
    assert len(pids_serving(victim, alice, server.workers)) == server.workers

    status, page = revoker.api("GET", "/api/sessions/")
    assert status == 200
    others = [item["id"] for item in page["results"] if not item["is_current"]]
    assert len(others) == 1
    status, _ = revoker.api("DELETE", f"/api/sessions/{others[0]}/")
    assert status == 204

    # The victim keeps presenting its old cookie to every worker, even after
    # the first refusal told it to drop the cookie.
    victim.keep_cookies = False
    assert len(pids_serving(victim, None, server.workers)) == server.workers
    assert len(pids_serving(revoker, alice, server.workers)) == server.workers
    assert len(pids_serving(bystander, bob, server.workers)) == server.workers
    status, page = revoker.api("GET", "/api/sessions/?status=revoked")
    assert status == 200
    assert [item["id"] for item in page["results"]] == others


def test_concurrent_logins_lose_nothing(server, database):
    usernames = [f"{server.name}.{name}" for name in LOGINS]

    def log_in_and_browse(username: str) -> list[str | None]:
        browser = Browser(server)
        browser.login(username)
        return [browser.worker()[1] for _ in range(REQUESTS_PER_LOGIN)]

    with ThreadPoolExecutor(max_workers=CONCURRENT_LOGINS) as pool:
        seen = list(pool.map(log_in_and_browse, usernames, timeout=REQUEST_TIMEOUT * 2))

    assert seen == [[name] * REQUESTS_PER_LOGIN for name in usernames]
    assert active_rows(database, usernames) == dict.fromkeys(usernames, 1)
