"""``manage.py sessionmgr_revoke --all`` after a breach: time, peak memory, progress.

Seeds N active sessions (``db`` engine: a row and a stored session each,
spread over 1,000 users) beside 10% as many ended and revoked rows, then runs
the command in a child process, as an operator would, and reports its wall
time, the child's peak resident memory (``VmHWM``) before and after it,
how many progress lines it printed and what it said last. Then it checks
that no active row and no stored session is left.

    python -m benchmarks mass_revoke --database postgres://.../name [--rows 100000 1000000]

The database named in the URL is dropped and created afresh for each size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import ROOT, SESSION_COLUMNS, insert_rows, setup_django

CHILD = """
import os, sys, time, django
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection
settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
connection.ensure_connection()

def peak_kib():
    # VmHWM starts afresh at exec (ru_maxrss would carry the parent's).
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

before = peak_kib()
began = time.perf_counter()
call_command("sessionmgr_revoke", "--all", "--reason", "breach", *sys.argv[1:])
print(time.perf_counter() - began, before, peak_kib())
"""


def seed(total: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.utils import timezone

    from django_sessionmgr.models import UserSession

    user_model = get_user_model()
    user_model.objects.bulk_create(
        user_model(username=f"user{i}", password="!") for i in range(1000)
    )
    users = list(user_model.objects.values_list("pk", flat=True))
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    expires = now + timedelta(days=14)
    data = SessionStore().encode({"_auth_user_id": "1"})
    vendor = connection.vendor
    keys = [f"{uuid.UUID(int=i * 7919 + 1).hex}{i:08x}" for i in range(total)]

    def rows() -> Any:
        for i in range(total + total // 10):
            active = i < total
            # Rows go in as logins happen: older first, as in a real table.
            at = now - timedelta(seconds=13 * 86400 * (1 - i / (total * 1.1)))
            yield (
                uuid.uuid4().hex, users[(i * 31) % len(users)],
                "active" if active else ("ended", "revoked")[i % 2],
                keys[i] if active else "", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox 128", "Ubuntu", "Other", "desktop", "", "", adapt(at), adapt(at),
                adapt(expires), None if active else adapt(at), None, "",
            )  # fmt: skip

    insert_rows(rows(), SESSION_COLUMNS, UserSession._meta.db_table, vendor)
    insert_rows(
        ((key, data, adapt(expires)) for key in keys),
        ["session_key", "session_data", "expire_date"],
        Session._meta.db_table,
        vendor,
    )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {UserSession._meta.db_table}")
            cursor.execute(f"ANALYZE {Session._meta.db_table}")


def child(database: str, *args: str) -> tuple[float, int, int, list[str]]:
    """Run the command in CHILD: seconds, peak RSS (KiB) before and after, its output."""
    env = {**os.environ, "DATABASE_URL": database, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    *lines, figures = result.stdout.strip().splitlines()
    seconds, before, after = figures.split()
    return float(seconds), int(before), int(after), lines


def one_size(rows: int, database: str, extra: list[str]) -> None:
    vendor = setup_django(database)
    began = time.perf_counter()
    seed(rows)
    seeded = time.perf_counter() - began
    from django.db import connection

    connection.close()  # the child gets the database to itself
    elapsed, baseline_kib, peak_kib, lines = child(database, *extra)

    from django.contrib.sessions.models import Session

    from django_sessionmgr.models import UserSession

    left = UserSession.objects.filter(status="active").count()
    stored = Session.objects.count()
    print(
        f"{vendor} {rows:>9,} active rows (+{rows // 10:,} ended/revoked; "
        f"seeded in {seeded:.0f} s): "
        f"sessionmgr_revoke --all {' '.join(extra)} took {elapsed:.1f} s, peak RSS "
        f"{peak_kib / 1024:.0f} MiB ({baseline_kib / 1024:.0f} MiB before it started), "
        f"{len(lines)} progress lines, last: {lines[-1]!r}; left active {left}, stored {stored}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database", default=None, help="postgres:// URL (default: SQLite)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    extra = ["--batch-size", str(options.batch_size)] if options.batch_size else []
    if options.one:
        if options.database is None:
            import tempfile

            options.database = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
        one_size(options.rows[0], options.database, extra)
        return
    for rows in options.rows:
        argv = [sys.executable, __file__, "--one", "--rows", str(rows)]
        if options.database:
            argv += ["--database", options.database]
        if options.batch_size:
            argv += ["--batch-size", str(options.batch_size)]
        subprocess.run(argv, check=True)


if __name__ == "__main__":
    main()
