"""Login with never-seen user agents, stock vs app (db engine, MD5 hasher); its profile.

A view authenticates and calls ``login()`` behind two ``WSGIHandler``: stock
Django (the app's receivers disconnected) and the app. Every login sends a
real user agent (tests/devices/test_ua_classification.py) with a unique build number
appended, so no cache has seen it, from an address in the GeoIP test
databases. 1,000 users log in in turn, so each has a few rows, as in life.
Then cProfile over the app's logins shows where its share goes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from typing import Any

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--per-batch", type=int, default=20)
    parser.add_argument("--users", type=int, default=1000, help="who logs in, in turn")
    parser.add_argument("--profile", type=int, default=300, help="logins profiled (0: none)")


def run(options: Any) -> None:
    vendor = h.setup(options.database)
    from tests.devices.test_ua_classification import ALL_USER_AGENTS

    agents = [ua for _, ua in ALL_USER_AGENTS if ua]
    users = h.create_users(options.users)  # many users, as logins come: a few rows each
    stock, app = h.WSGISite(h.STOCK_MIDDLEWARE), h.WSGISite(h.APP_MIDDLEWARE)

    def stock_login(i: int) -> None:
        assert stock.login(f"user{i % len(users)}", f"{agents[i % len(agents)]} build/{i}")

    def app_login(i: int) -> None:
        assert app.login(f"user{i % len(users)}", f"{agents[i % len(agents)]} build/{i}")

    h.paired(stock_login, app_login, 2, 10)  # warm up: imports, regexes, statement caches
    with h.stock(), h.counting_queries() as stock_q:
        stock_login(10**8)
    with h.counting_queries() as app_q:
        app_login(10**8 + 1)
    result = h.paired(stock_login, app_login, options.batches, options.per_batch)
    print(f"{h.about(vendor)}; {options.batches} batches of {options.per_batch} logins")
    h.header(
        "login, never-seen user agent",
        "stock ms",
        "app ms",
        "added",
        "app/stock",
        "queries (stock → app)",
    )
    h.row(
        vendor,
        f"{result.stock_ms:.3f}",
        f"{result.app_ms:.3f}",
        f"{result.app_ms - result.stock_ms:+.3f} ms",
        result.spread(),
        f"{len(stock_q)} → {len(app_q)}",
    )
    if not options.profile:
        return
    profile = cProfile.Profile()
    profile.runcall(lambda: [app_login(2 * 10**8 + i) for i in range(options.profile)])
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
        f"\nThe app's own functions, cumulative ms per login ({options.profile} logins, "
        "profiler overhead included; nested calls count in their callers too):\n"
    )
    h.header("function", "ms per login")
    for seconds, name, path in ours[:12]:
        h.row(
            f"`{path.rsplit('django_sessionmgr/', 1)[-1]}:{name}`",
            f"{seconds * 1000 / options.profile:.3f}",
        )
    inserts = sum(
        value[3]
        for (path, _, name), value in stats.items()
        if name == "_insert" and path.endswith("django/db/models/query.py")
    )
    h.row(
        "stock's INSERT statements (`QuerySet._insert`; the app's row: `insert_row`)",
        f"{inserts * 1000 / options.profile:.3f}",
    )
