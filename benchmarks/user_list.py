"""A user's own lists as the table grows (20k/200k/1M realistic rows): they should stay flat.

At each size, a fresh table of realistic rows (:func:`harness.logins`; the
measured user always has the same 200 rows, 20 active), never ``ANALYZE``d,
then each page through the test client, middleware included: the
self-service API and HTML lists, and the staff API filtered to the user.
``--plans`` prints each query's plan.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[20_000],
        help="table sizes, e.g. 20000 200000 1000000",
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--plans", action="store_true")


def run(options: Any) -> None:
    vendor = h.setup(options.database)
    from django.db import connection
    from django.test import Client

    print(f"{h.about(vendor)}; median of {options.repeat} loads, no ANALYZE")
    h.header("rows", "page", "ms", "queries", "seeded in")
    for rows in options.rows:
        h.reset()
        began = time.perf_counter()
        subject = h.create_user("subject", is_staff=True, is_superuser=True)
        h.seed_sessions(rows, subject=subject)
        seeded = time.perf_counter() - began
        client = Client()
        client.force_login(subject)
        for path in [
            "/api/sessions/",
            "/api/sessions/?status=all",
            "/account/sessions/",
            f"/api/admin/sessions/?user={subject.pk}&status=active",
            f"/api/admin/sessions/?user={subject.pk}&status=expired",
        ]:
            with h.counting_queries() as sent:
                assert client.get(path).status_code == 200, path
            ms = h.median_ms(lambda path=path, client=client: client.get(path), options.repeat)
            h.row(f"{rows:,}", f"`{path}`", f"{ms:.1f}", len(sent), f"{seeded:.0f} s")
            for sql, params in sent if options.plans else []:
                if "usersession" in sql and sql.startswith("SELECT"):
                    with connection.cursor() as cursor:
                        explain = "EXPLAIN QUERY PLAN " if vendor == "sqlite" else "EXPLAIN "
                        cursor.execute(explain + sql, params)
                        print(f"    {sql[:200]}", *(f"      {r[-1]}" for r in cursor), sep="\n")
