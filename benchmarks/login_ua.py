"""Login with never-seen user agents, stock vs app: time, CPU, queries, commits; cold start.

A view authenticates and calls ``login()`` behind two ``WSGIHandler``: stock
Django (the app's receivers disconnected) and the app, on the ``db`` engine
with the MD5 hasher. Every login sends a real user agent
(tests/devices/test_ua_classification.py) with a unique build number
appended, so no cache has seen it, from an address in the GeoIP test
databases. 1,000 users log in in turn, so each has a few rows, as in life.

Three set-ups: SQLite in WAL mode (``--journal wal``, the default: no fsync
per commit), SQLite as Django leaves it (``--journal django``: a rollback
journal, an fsync per commit), and PostgreSQL (``--database postgres://…``;
quote a server with ``fsync`` and ``synchronous_commit`` on). Each login is
timed on the wall clock and in CPU time, stock and app in alternating
batches; queries and commits are counted per login (a commit: a transaction
that wrote; on SQLite's rollback journal checked against the file's own
change counter). Then cProfile over the app's logins shows where its share
goes. ``--own-commit`` pairs the app against itself with its row's INSERT in
a transaction of its own (as it was before the row shared the session's
commit) instead of stock: what sharing the commit saves, in one process.

``--cold``: the first login of a fresh process instead. Each run is a new
Python process, as a server worker: it sets Django up on the database
already migrated, builds its WSGI handler (both timed apart), then times
its first login and its second; stock and app processes alternate.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--per-batch", type=int, default=20)
    parser.add_argument("--users", type=int, default=1000, help="who logs in, in turn")
    parser.add_argument("--profile", type=int, default=300, help="logins profiled (0: none)")
    parser.add_argument(
        "--journal",
        choices=["wal", "django"],
        default="wal",
        help="SQLite: WAL with synchronous=NORMAL, or Django's default (rollback journal)",
    )
    parser.add_argument(
        "--own-commit",
        action="store_true",
        help="against the app with its row in a commit of its own, not stock",
    )
    parser.add_argument("--cold", action="store_true", help="time a fresh process's first login")
    parser.add_argument("--cold-runs", type=int, default=8, help="fresh processes of each side")
    parser.add_argument("--cold-child", choices=["stock", "app"], help=argparse.SUPPRESS)


def run(options: Any) -> None:
    if options.cold_child:
        return _cold_child(options)
    vendor = h.setup(options.database, sqlite_journal=options.journal)
    users = h.create_users(options.users)  # many users, as logins come: a few rows each
    if options.cold:
        return _cold(options, vendor)
    from tests.devices.test_ua_classification import ALL_USER_AGENTS

    agents = [ua for _, ua in ALL_USER_AGENTS if ua]
    stock, app = h.WSGISite(h.STOCK_MIDDLEWARE), h.WSGISite(h.APP_MIDDLEWARE)

    builds = itertools.count()  # each login's own build number: no agent is ever seen twice

    def stock_login(i: int) -> None:
        assert stock.login(f"user{i % len(users)}", f"{agents[i % len(agents)]} b/{next(builds)}")

    def app_login(i: int) -> None:
        assert app.login(f"user{i % len(users)}", f"{agents[i % len(agents)]} b/{next(builds)}")

    def own_commit_login(i: int) -> None:  # the app, run under ``_own_commit``
        app_login(i)

    baseline, side = (
        (own_commit_login, "own commit") if options.own_commit else (stock_login, "stock")
    )
    context = _own_commit if options.own_commit else h.stock
    h.paired(stock_login, app_login, 2, 10)  # warm up: imports, regexes, statement caches
    stock_counts = _counted(baseline, 10**8, options.per_batch, context)
    app_counts = _counted(app_login, 10**8 + options.per_batch, options.per_batch)
    wall, cpu = h.paired_clocks(baseline, app_login, options.batches, options.per_batch, context)
    print(
        f"{h.about(vendor)}, {_setting(vendor, options.journal)}; "
        f"{options.batches} batches of {options.per_batch} logins"
    )
    h.header(
        "login, never-seen user agent",
        f"{side} ms",
        "app ms",
        "added",
        "app/stock",
        f"CPU ms ({side} → app)",
        f"queries ({side} → app)",
        f"commits ({side} → app)",
    )
    h.row(
        _setting(vendor, options.journal),
        f"{wall.stock_ms:.3f}",
        f"{wall.app_ms:.3f}",
        f"{wall.app_ms - wall.stock_ms:+.3f} ms",
        wall.spread(),
        f"{cpu.stock_ms:.3f} → {cpu.app_ms:.3f} ({cpu.app_ms - cpu.stock_ms:+.3f})",
        f"{stock_counts[0]:g} → {app_counts[0]:g}",
        f"{stock_counts[1]:g} → {app_counts[1]:g}",
    )
    if options.profile:
        _profile(app_login, options.profile)


def _setting(vendor: str, journal: str) -> str:
    """What the database's commits cost: its journal, or its durability settings."""
    if vendor == "sqlite":
        return "SQLite, WAL" if journal == "wal" else "SQLite, Django's rollback journal"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous = cursor.fetchone()[0]
    return f"PostgreSQL, fsync {fsync}, synchronous_commit {synchronous}"


@contextmanager
def _own_commit() -> Iterator[None]:
    """The app as it was before its row shared the session's commit: the row's
    INSERT in a transaction of its own."""
    from django_sessionmgr import tracking

    shared = tracking.shared_database
    tracking.shared_database = lambda session: None
    try:
        yield
    finally:
        tracking.shared_database = shared


def _counted(
    login: Any, first: int, count: int, context: Any = h.nullcontext
) -> tuple[float, float]:
    """Queries and commits per login, over ``count`` logins."""
    from django.db import connection

    path = connection.settings_dict["NAME"]
    rollback_journal = connection.vendor == "sqlite" and not _in_wal()
    before = h.sqlite_change_counter(path) if rollback_journal else 0
    with context(), h.counting_commits() as seen:
        for i in range(first, first + count):
            login(i)
    if rollback_journal:  # the disk's own count of write transactions
        assert h.sqlite_change_counter(path) - before == seen.commits, "commit counter is off"
    return seen.queries / count, seen.commits / count


def _in_wal() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        return bool(cursor.fetchone()[0] == "wal")


def _profile(app_login: Any, logins: int) -> None:
    profile = cProfile.Profile()
    profile.runcall(lambda: [app_login(2 * 10**8 + i) for i in range(logins)])
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    ours = sorted(
        (
            (value[3], name, path)
            for (path, _, name), value in stats.items()
            if "django_sessionmgr" in path
        ),
        reverse=True,
    )
    print(
        f"\nThe app's own functions, cumulative ms per login ({logins} logins, "
        "profiler overhead included; nested calls count in their callers too):\n"
    )
    h.header("function", "ms per login")
    for seconds, name, path in ours[:12]:
        h.row(
            f"`{path.rsplit('django_sessionmgr/', 1)[-1]}:{name}`",
            f"{seconds * 1000 / logins:.3f}",
        )
    inserts = sum(
        value[3]
        for (path, _, name), value in stats.items()
        if name == "_insert" and path.endswith("django/db/models/query.py")
    )
    h.row(
        "stock's INSERT statements (`QuerySet._insert`; the app's row: `insert_row`)",
        f"{inserts * 1000 / logins:.3f}",
    )


# The first login of a fresh process.


def _cold(options: Any, vendor: str) -> None:
    from django.db import connection

    url = options.database or f"sqlite:///{connection.settings_dict['NAME']}"
    connection.close()
    runs: dict[str, list[dict[str, float]]] = {"stock": [], "app": []}
    for i in range(options.cold_runs):
        for side in ("stock", "app") if i % 2 else ("app", "stock"):
            child = [sys.executable, "-m", "benchmarks", "login_ua", "--cold-child", side]
            child += ["--database", url, "--journal", options.journal]
            done = subprocess.run(child, capture_output=True, text=True, cwd=h.ROOT, check=True)
            runs[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        f"{h.about(vendor)}, {_setting(vendor, options.journal)}; "
        f"{options.cold_runs} fresh processes each side, medians"
    )
    h.header("a fresh process", "stock ms", "app ms", "added")
    for key, label in [
        ("setup", "`django.setup()` and the WSGI handler"),
        ("first", "its first login"),
        ("first_cpu", "its first login, CPU"),
        ("second", "its second login"),
    ]:
        stock = statistics.median(run[key] for run in runs["stock"])
        app = statistics.median(run[key] for run in runs["app"])
        h.row(label, f"{stock:.1f}", f"{app:.1f}", f"{app - stock:+.1f} ms")


def _cold_child(options: Any) -> None:
    """One worker's start: set up, then its first two logins (printed as JSON)."""
    began = time.perf_counter()
    h.setup(
        options.database,
        competitor="stock" if options.cold_child == "stock" else "sessionmgr",
        sqlite_journal=options.journal,
        migrate=False,
    )
    site = h.WSGISite()
    setup = time.perf_counter() - began
    agent = f"{h.FIREFOX} build/{time.time_ns()}"
    began, began_cpu = time.perf_counter(), time.process_time()
    assert site.login("user1", agent)
    first, first_cpu = time.perf_counter() - began, time.process_time() - began_cpu
    began = time.perf_counter()
    assert site.login("user2", agent + "2")
    second = time.perf_counter() - began
    times = {"setup": setup, "first": first, "first_cpu": first_cpu, "second": second}
    print(json.dumps({key: value * 1000 for key, value in times.items()}))
