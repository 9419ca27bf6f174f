"""The UserSession admin changelist as the table grows (20k/200k/1M rows): median ms per page.

At each size, a fresh table of realistic rows (:func:`harness.logins`) of
1,000 users, never ``ANALYZE``d, then the changelist as staff use it: first
page, status filters, a date filter, a username search, an exact IP search
and a deep page. Each page's median and best load: on a shared machine the
best is the steadier figure. ``--plans`` prints the plan of each query that
reads the sessions table (on PostgreSQL with ``ANALYZE, BUFFERS``: its time
and the buffers it read, run once more after the timed loads).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[50_000],
        help="table sizes, e.g. 20000 200000 1000000",
    )
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plans", action="store_true")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE after seeding (VACUUM ANALYZE on PostgreSQL, as autovacuum leaves it)",
    )


def run(options: Any) -> None:
    vendor = h.setup(options.database)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from django_sessionmgr.models import UserSession

    print(
        f"{h.about(vendor)}; {options.users:,} users; "
        f"median and best of {options.repeat} loads, "
        f"{'analysed' if options.analyze else 'no ANALYZE'}"
    )
    h.header("rows", "admin changelist", "ms", "best ms", "queries", "seeded in")
    for rows in options.rows:
        h.reset()
        began = time.perf_counter()
        h.seed_sessions(rows, users=options.users)
        seeded = time.perf_counter() - began
        if options.analyze:
            with connection.cursor() as cursor:
                vacuum = "VACUUM " if vendor == "postgresql" else ""
                cursor.execute(f"{vacuum}ANALYZE {UserSession._meta.db_table}")
        client = Client()
        client.force_login(get_user_model().objects.create_superuser("root", password=h.PASSWORD))
        ip = UserSession.objects.values_list("ip_address", flat=True)[rows // 2]
        yesterday = urlencode({"created_at__gte": str(timezone.now() - timedelta(days=1))})
        for name, query in [
            ("first page", ""),
            ("status=active", "?status=active"),
            ("status=revoked", "?status=revoked"),
            ("status=expired", "?status=expired"),
            ("created in the last day", f"?{yesterday}"),
            ("search username", f"?q=user{options.users // 2}"),
            ("search exact IP", f"?q={ip}"),
            ("page 50", "?p=50"),
        ]:
            url = f"/admin/django_sessionmgr/usersession/{query}"
            with h.counting_queries() as sent:  # also the warm-up
                assert client.get(url).status_code == 200, url
            ms = sorted(load_ms(client, url) for _ in range(options.repeat))
            h.row(
                f"{rows:,}",
                name,
                f"{statistics.median(ms):.0f}",
                f"{ms[0]:.0f}",
                len(sent),
                f"{seeded:.0f} s",
            )
            for sql, params in sent if options.plans else []:
                if "usersession" in sql and sql.startswith("SELECT"):
                    with connection.cursor() as cursor:
                        explain = (
                            "EXPLAIN QUERY PLAN "
                            if vendor == "sqlite"
                            else "EXPLAIN (ANALYZE, BUFFERS) "
                        )
                        cursor.execute(explain + sql, params)
                        print(f"    {sql[:200]}", *(f"      {r[-1]}" for r in cursor), sep="\n")


def load_ms(client: Any, url: str) -> float:
    began = time.perf_counter()
    client.get(url)
    return (time.perf_counter() - began) * 1000
