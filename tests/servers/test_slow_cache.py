"""``cached_db`` on a slow shared cache brings no revoked session back.

Real gunicorn workers on PostgreSQL, the sessions in ``cached_db`` on Redis
through a cache whose every call waits 0 to 10 ms (tests/slow_cache.py).
In each trial eight threads keep sending requests that write to one session
while another session of the same user revokes it through the API. A write
that read the session before the revoke may land in the cache after the
revoke's delete; the session must not be served again anyway.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from tests.process_steps import PASSWORD, run_in_process
from tests.real_servers import once_per_run, postgres_url, redis_url

pytestmark = [pytest.mark.services, once_per_run]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
WRITERS = 8
TRIALS = 40
#: The trials stop early past this many seconds (the setup takes a few more).
BUDGET_SECONDS = 35
#: How long the writers go on after the revoke returned.
LINGER_SECONDS = 0.15
START_SECONDS = 60


@dataclass
class Browser:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, str, list[str]]:
        connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Accept": "application/json", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body.encode() or None, headers=sent)
            response = connection.getresponse()
            content = response.read().decode()
        finally:
            connection.close()
        return response.status, content, response.headers.get_all("Set-Cookie") or []

    def keep_cookies(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]

    def login(self, username: str) -> None:
        status, body, cookies = self.request("GET", "/accounts/login/")
        assert status == 200, status
        self.keep_cookies(cookies)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert token is not None
        form = urlencode(
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]}
        )
        status, _, cookies = self.request(
            "POST",
            "/accounts/login/",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302, status
        self.keep_cookies(cookies)

    def user(self, path: str = "/whoami/") -> tuple[int, str | None]:
        status, body, _ = self.request("GET", path)
        return status, json.loads(body)["user"] if status == 200 else None

    def current_row(self) -> str:
        status, body, _ = self.request("GET", "/api/sessions/")
        assert status == 200, status
        [row] = [item["id"] for item in json.loads(body)["results"] if item["is_current"]]
        return str(row)

    def revoke(self, row: str) -> None:
        status, _, _ = self.request(
            "DELETE", f"/api/sessions/{row}/", headers={"X-CSRFToken": self.cookies["csrftoken"]}
        )
        assert status == 204, status


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """gunicorn on a fresh PostgreSQL database, cached_db on the slow Redis cache."""
    import psycopg

    postgres, redis = postgres_url(), redis_url()
    name = f"sessionmgr_slow_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_processes",
        "DATABASE_URL": urlunsplit(urlsplit(postgres)._replace(path=f"/{name}")),
        "SESSIONMGR_TEST_ENGINE": "cached_db",
        "SESSIONMGR_TEST_CACHE_URL": redis,
        "SESSIONMGR_TEST_CACHE_BACKEND": "tests.slow_cache.SlowRedisCache",
        "SESSIONMGR_TEST_CACHE_PREFIX": name,
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path_factory.mktemp("slow_cache") / "gunicorn.log").open("wb")
    process = None
    try:
        run_in_process(env, "migrate", ["users", ["alice"]])
        port = _free_port()
        command = [
            *(str(Path(sys.executable).parent / "gunicorn"), "example_project.wsgi:application"),
            *(f"--bind=127.0.0.1:{port}", f"--workers={WORKERS}", "--worker-class=sync"),
        ]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, "gunicorn exited"
            try:
                Browser(port).user()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield port
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        log.close()
        with psycopg.connect(postgres, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_until(victim: Browser, stop: threading.Event) -> list[tuple[float, int, str | None]]:
    """Session-writing requests with the victim's cookie: (start, status, user) each."""
    seen = []
    while not stop.is_set():
        started = time.monotonic()
        status, user = victim.user("/write/")
        seen.append((started, status, user))
    return seen


def _trial(port: int, revoker: Browser, pool: ThreadPoolExecutor) -> list[str]:
    """One revoke among the writers; what was served after it, if anything."""
    victim = Browser(port)
    victim.login("alice")
    row = victim.current_row()
    stop = threading.Event()
    writers = [pool.submit(_write_until, victim, stop) for _ in range(WRITERS)]
    time.sleep(random.uniform(0.005, 0.03))
    revoker.revoke(row)
    revoked = time.monotonic()
    time.sleep(LINGER_SECONDS)
    stop.set()
    seen = [request for writer in writers for request in writer.result()]

    problems = [f"HTTP {status}" for _, status, _ in seen if status not in (200, 400)]
    # /write/ changes the session only for a signed-in user, so a 400 (the
    # session was deleted before its save, SessionInterrupted) means the view
    # ran as the user too.
    served = sum(
        1 for started, status, user in seen if started > revoked and (user or status == 400)
    )
    if served:
        problems.append(f"{served} request(s) that started after the revoke served the user")
    after = [victim.user() for _ in range(WORKERS)]
    if any(user is not None for _, user in after):
        problems.append(f"served again once the writers stopped: {after}")
    return problems


def test_no_revoked_session_comes_back_through_a_slow_shared_cache(server: int) -> None:
    revoker = Browser(server)
    revoker.login("alice")
    failed: dict[int, list[str]] = {}
    start = time.monotonic()
    trials = 0
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        while trials < TRIALS and time.monotonic() - start < BUDGET_SECONDS:
            if problems := _trial(server, revoker, pool):
                failed[trials] = problems
            trials += 1
    assert trials >= TRIALS // 2, f"only {trials} trials in {BUDGET_SECONDS} s"
    assert not failed, f"{len(failed)} of {trials} trials served a revoked session: {failed}"
