"""Side by side with stock Django and the peers: request, login, the user's list page.

Builds ``benchmarks/.venv-peers`` from requirements-peers.txt (the peers at
pinned versions, this project editable) and starts one worker process per
competitor (``python -m benchmarks compare --worker NAME``), each set up by
the harness with its own apps and a fresh database. Request and login rounds
rotate through the competitors, so a busy machine slows all of them alike;
each ratio to stock is taken within its round. Each competitor's table holds
the same realistic logins as it would keep them: the app keeps every row
with its status, the peers only the live sessions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from collections.abc import Callable
from typing import Any

from benchmarks import harness as h

HERE = h.ROOT / "benchmarks"
VENV = HERE / ".venv-peers"
COMPETITORS = ["stock", "sessionmgr", "user_sessions", "allauth"]
PACKAGES = {
    "stock": "Django",
    "sessionmgr": "django-sessionmgr",
    "user_sessions": "django-user-sessions",
    "allauth": "django-allauth",
}
LIST_PAGES = {
    "sessionmgr": ["/api/sessions/", "/account/sessions/"],
    "user_sessions": ["/account/sessions/"],
    "allauth": ["/accounts/sessions/"],
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20_000, help="logins in each table")
    parser.add_argument("--user-rows", type=int, default=1_000, help="the listing user's share")
    parser.add_argument("--runs", type=int, default=11, help="rounds of requests and logins")
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--logins", type=int, default=10, help="logins per round")
    parser.add_argument("--list-runs", type=int, default=3, help="loads of each list page")
    parser.add_argument("--worker", choices=COMPETITORS, help=argparse.SUPPRESS)


def run(options: Any) -> None:
    if options.worker:
        return serve(options.worker, options.database)
    python = ensure_environment()
    workers = {name: Worker(python, name, options.database) for name in COMPETITORS}
    try:
        versions = {name: w.send("setup") for name, w in workers.items()}
        results = {
            op: rounds(workers, op, options.runs, n)
            for op, n in (("request", options.requests), ("login", options.logins))
        }
        lists = {
            name: workers[name].send(
                "lists", rows=options.rows, user_rows=options.user_rows, runs=options.list_runs
            )
            for name in LIST_PAGES
        }
    finally:
        for worker in workers.values():
            worker.close()
    print(f"{versions['stock']['about']}; {', '.join(v['version'] for v in versions.values())}")
    print(
        f"{options.runs} rotating rounds of {options.requests} requests and {options.logins} "
        "logins; ratio to stock within each round\n"
    )
    h.header(
        "competitor", "what", "µs (wall)", "ratio to stock", "µs (CPU)", "CPU ratio", "queries"
    )
    for op, samples in results.items():
        for name in COMPETITORS:
            wall, cpu = (
                h.Paired(
                    0,
                    0,
                    sorted(
                        r[key] / s[key]
                        for r, s in zip(samples[name], samples["stock"], strict=True)
                    ),
                )
                for key in ("us", "cpu_us")
            )
            h.row(
                name,
                op,
                f"{statistics.median(r['us'] for r in samples[name]):,.0f}",
                wall.spread(),
                f"{statistics.median(r['cpu_us'] for r in samples[name]):,.0f}",
                f"×{cpu.ratio:.3f}",  # noqa: RUF001
                samples[name][0]["queries"],
            )
    print(
        f"\nList pages: {options.rows:,} logins, {options.user_rows:,} of them the user's "
        f"(half live); median of {options.list_runs} loads\n"
    )
    h.header("competitor", "page", "ms", "queries", "rows in its table")
    for name, pages in lists.items():
        for path, page in pages["pages"].items():
            h.row(name, f"`{path}`", f"{page['ms']:,.1f}", page["queries"], f"{pages['rows']:,}")


def ensure_environment() -> str:
    """The peers' virtualenv, rebuilt when the requirements or pyproject.toml change."""
    python = str(VENV / "bin" / "python")
    requirements = HERE / "requirements-peers.txt"
    digest = hashlib.sha256(
        requirements.read_bytes() + (h.ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    stamp = VENV / ".requirements-sha256"
    if not (stamp.exists() and stamp.read_text() == digest):
        print(f"building {VENV} from {requirements.name}", file=sys.stderr, flush=True)
        venv.create(VENV, with_pip=True, clear=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "-r", requirements, "-e", h.ROOT],
            check=True,
        )
        stamp.write_text(digest)
    return python


class Worker:
    """One competitor in its own process, one JSON line per command and answer."""

    def __init__(self, python: str, name: str, database: str | None) -> None:
        argv = [python, "-m", "benchmarks", "compare", "--worker", name]
        if database:
            argv += ["--database", f"{database}_{name}"]
        self.name = name
        self.process = subprocess.Popen(
            argv, cwd=h.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def send(self, op: str, **arguments: Any) -> Any:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.name} worker failed on {op}; see its stderr above")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=300)


def rounds(workers: dict[str, Worker], op: str, runs: int, n: int) -> dict[str, list[Any]]:
    samples: dict[str, list[Any]] = {name: [] for name in workers}
    for run in range(runs):
        for name in COMPETITORS[run % 4 :] + COMPETITORS[: run % 4]:
            samples[name].append(workers[name].send(op, n=n))
    return samples


def serve(competitor: str, database: str | None) -> None:
    """The worker: commands on stdin; anything Django prints goes to stderr."""
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    vendor = h.setup(database, competitor)
    from importlib.metadata import version

    bench = h.create_user("bench")
    site = h.WSGISite()
    cookie = site.login("bench")
    for _ in range(50):  # warm every cache on the path
        site.call("GET", "/page/", cookie)

    def timed(action: Callable[[], Any], n: int) -> dict[str, Any]:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            action()
        result = {
            "us": (time.perf_counter() - wall) / n * 1e6,
            "cpu_us": (time.process_time() - cpu) / n * 1e6,
        }
        with h.counting_queries() as sent:
            action()
        return {**result, "queries": len(sent)}

    def lists(rows: int, user_rows: int, runs: int) -> dict[str, Any]:
        table = seed(competitor, bench, rows, user_rows)
        pages = {}
        for path in LIST_PAGES[competitor]:
            assert site.call("GET", path, cookie)[0] == 200, path  # warm up; may purge rows
            ms = h.median_ms(lambda p=path: site.call("GET", p, cookie), runs)
            with h.counting_queries() as sent:
                site.call("GET", path, cookie)
            pages[path] = {"ms": ms, "queries": len(sent)}
        return {"pages": pages, "rows": table}

    commands: dict[str, Callable[..., Any]] = {
        "setup": lambda: {
            "about": h.about(vendor),
            "version": f"{PACKAGES[competitor]} {version(PACKAGES[competitor])}",
        },
        "request": lambda n: timed(lambda: site.call("GET", "/page/", cookie), n),
        "login": lambda n: timed(lambda: site.login("bench"), n),
        "lists": lists,
    }
    for line in sys.stdin:
        command = json.loads(line)
        protocol.write(json.dumps(commands[command.pop("op")](**command)) + "\n")


def seed(competitor: str, bench: Any, rows: int, user_rows: int) -> int:
    """The same logins in each competitor's table; returns its row count."""
    options = {"subject_rows": user_rows, "subject_active": 0.5}
    if competitor == "sessionmgr":
        seeded = h.seed_sessions(rows, subject=bench, **options)
        h.store_sessions(seeded.keys, bench)
        return seeded.rows
    from django.contrib.sessions.backends.db import SessionStore

    users = h.create_users(999)
    live = [s for s in h.logins(rows, users, bench.pk, **options) if s.key]
    data = SessionStore().encode(h.session_data(bench))
    if competitor == "user_sessions":
        from user_sessions.models import Session

        return h.insert_model(
            Session,
            (
                {
                    "session_key": s.key,
                    "session_data": data,
                    "expire_date": s.expires,
                    "user_id": s.user,
                    "user_agent": s.device[0],
                    "last_activity": s.last,
                    "ip": s.ip,
                }
                for s in live
            ),
        )
    from allauth.usersessions.models import UserSession

    h.store_sessions([s.key for s in live], bench)
    return h.insert_model(
        UserSession,
        (
            {
                "user_id": s.user,
                "created_at": s.created,
                "ip": s.ip,
                "last_seen_at": s.last,
                "session_key": s.key,
                "user_agent": s.device[0],
            }
            for s in live
        ),
    )
