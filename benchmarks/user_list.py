"""A user's own active-sessions list as the table grows: it should stay flat.

Seeds realistic rows (:func:`harness.seed_sessions`: 1,000 users, about 10%
active, statuses and dates spread; the measured user always has the same 200
rows) at each size, never runs ``ANALYZE``, and times through the Django test
client, middleware included:

- ``GET api/sessions/`` (the self-service JSON list),
- ``GET account/sessions/`` (the HTML list),
- ``GET api/admin/sessions/?user=<pk>&status=active`` (staff API),
- ``GET api/admin/sessions/?user=<pk>&status=expired`` (staff API).

    python -m benchmarks user_list [--rows 20000 200000 1000000] [--database URL]

Each size gets a fresh database. With ``--plans`` it prints the query plans;
with ``--before``, it runs on the indexes of migration 0005 (today's release).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import median_ms, seed_sessions, setup_django


def paths(subject_pk: int) -> list[str]:
    return [
        "/api/sessions/",
        "/account/sessions/",
        f"/api/admin/sessions/?user={subject_pk}&status=active",
        f"/api/admin/sessions/?user={subject_pk}&status=expired",
    ]


# The indexes as migration 0005 left them, for the "before" figures.
BEFORE_0006 = [
    "DROP INDEX sessionmgr_user_status_created",
    "DROP INDEX sessionmgr_expiry_status",
    "CREATE INDEX sessionmgr_status_expiry ON django_sessionmgr_usersession (status, expires_at)",
]


def one_size(rows: int, database: str | None, repeat: int, plans: bool, before: bool) -> None:
    import time

    vendor = setup_django(database)
    if before:
        from django.db import connection

        with connection.cursor() as cursor:
            for statement in BEFORE_0006:
                cursor.execute(statement)
    began = time.perf_counter()
    seeded = seed_sessions(rows)
    built = time.perf_counter() - began

    from django.contrib.auth.models import Permission
    from django.db import connection
    from django.test import Client

    subject = seeded.subject
    subject.is_staff = True
    subject.save()
    subject.user_permissions.add(*Permission.objects.filter(codename="view_usersession"))
    client = Client()
    client.force_login(subject)
    for path in paths(subject.pk):
        captured: list[tuple[str, Any]] = []

        def record(
            execute: Any, sql: str, params: Any, many: bool, context: Any, sink: Any = captured
        ) -> Any:
            sink.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        ms = median_ms(lambda path=path: client.get(path), repeat)
        print(
            f"{vendor:<10} {'0005' if before else 'now':<4} {rows:>9,} rows  {path:<48} "
            f"{ms:8.2f} ms  {len(captured):2d} queries  (seeded in {built:.0f} s)",
            flush=True,
        )
        if plans:
            for sql, params in captured:
                if "usersession" in sql and sql.startswith("SELECT"):
                    print("   ", sql[:300])
                    with connection.cursor() as cursor:
                        explain = "EXPLAIN QUERY PLAN " if vendor == "sqlite" else "EXPLAIN "
                        cursor.execute(explain + sql, params)
                        for line in cursor.fetchall():
                            print("      ", line[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000, 1_000_000])
    parser.add_argument("--database", help="a postgres:// URL (default: a fresh SQLite file)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--before", action="store_true", help="the indexes of migration 0005")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        one_size(options.rows[0], options.database, options.repeat, options.plans, options.before)
        return
    # One process per size: Django is set up once per process.
    for rows in options.rows:
        argv = [sys.executable, __file__, "--one", "--rows", str(rows)]
        argv += ["--repeat", str(options.repeat)] + (["--plans"] if options.plans else [])
        argv += ["--before"] if options.before else []
        if options.database:
            argv += ["--database", options.database]
        subprocess.run(argv, check=True)


if __name__ == "__main__":
    main()
