"""``sessionmgr_revoke --all`` after a breach (100k and 1M active rows): time, peak memory.

At each size, a fresh table of N active sessions (each with a stored session,
``db`` engine) among N/10 ended, expired and revoked ones, over N/10 users
(the harness's realistic seed: weighted users, spread dates, varied devices).
The command runs as ``call_command``; the peak resident memory is measured
from just before it. Then no active row and no stored session may be left.
For 1M, use PostgreSQL: ``--database postgres://.../name``.

On PostgreSQL the tables are vacuumed and analysed and a checkpoint is taken
before the command (as a server in production would have them, and so the
seed's writes are not charged to the run). Then it reports the WAL the run
wrote per revoked row (``pg_wal_lsn_diff`` of ``pg_current_wal_lsn()`` around
it), the full-page images per row among it (``pg_stat_wal``), and the share of
the sessions table's row updates that were HOT (``n_tup_hot_upd / n_tup_upd``
in ``pg_stat_user_tables``). ``CHECKPOINT`` needs a superuser (or
``pg_checkpoint``).

``--floor`` runs, in place of the command, the least any revoke of these rows
writes: one ``UPDATE`` of every active row's status and one ``DELETE`` of
every stored session, in one transaction, with no claim, no batches and no
crash safety. ``--sql-before`` runs an experiment's SQL on the seeded table
first (``CLUSTER`` it in login order, drop an index).
"""

from __future__ import annotations

import argparse
import sys
import time
from io import StringIO
from typing import Any

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[20_000], help="active rows, e.g. 100000 1000000"
    )
    parser.add_argument("--batch-size", type=int, help="the command's --batch-size")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="the command's --workers, e.g. 1 2"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="instead of the command, the least any revoke writes: one UPDATE of every "
        "active row's status and one DELETE of every stored session, in one transaction",
    )
    parser.add_argument(
        "--sql-before",
        help="an experiment: SQL statements (separated by ';') run once the tables are "
        "seeded, before they are settled and the command runs (a CLUSTER, dropping an index)",
    )


def run(options: Any) -> None:
    vendor = h.setup(options.database)
    extra = ["--batch-size", str(options.batch_size)] if options.batch_size else []
    print(h.about(vendor))
    h.header(
        "sign everyone out",
        "time",
        "WAL per row (page images per row)",
        "HOT updates",
        "peak RSS (before)",
        "progress lines",
        "last line",
        "left active, stored",
    )
    # The floor is one transaction: no workers to vary.
    workers_to_run = options.workers[:1] if options.floor else options.workers
    for rows in options.rows:
        for workers in workers_to_run:
            one(rows, workers, vendor, extra, floor=options.floor, sql_before=options.sql_before)


def one(
    rows: int,
    workers: int,
    vendor: str,
    extra: list[str],
    *,
    floor: bool = False,
    sql_before: str | None = None,
) -> None:
    from django.core.management import call_command

    from django_sessionmgr.models import UserSession

    h.reset()
    seeded = h.seed_sessions(
        rows * 11 // 10, users=max(1000, rows // 10), subject_rows=0, active=10 / 11
    )
    h.store_sessions(seeded.keys)
    active = UserSession.objects.filter(status="active").count()
    output = StringIO()
    if sql_before:
        from django.db import connection

        with connection.cursor() as cursor:
            for statement in filter(str.strip, sql_before.split(";")):
                cursor.execute(statement)
    wal_before = _settle_and_read(vendor)
    before = h.peak_rss_reset()
    began = time.perf_counter()
    if floor:
        _floor()
    else:
        call_command(
            "sessionmgr_revoke",
            "--all",
            "--reason",
            "breach",
            "--workers",
            str(workers),
            *extra,
            stdout=output,
        )
    seconds, peak = time.perf_counter() - began, h.peak_rss()
    wal, hot = _wal_and_hot(vendor, wal_before, active)
    lines = output.getvalue().strip().splitlines()
    left = UserSession.objects.filter(status="active").count(), h.stored_left(seeded.keys)
    h.row(
        f"{vendor}, {active:,} active rows of {seeded.rows:,}, "
        + ("the floor (two statements)" if floor else f"{workers} worker(s)"),
        f"{seconds:.1f} s",
        wal,
        hot,
        f"{peak / 1024:.0f} MiB ({before / 1024:.0f} MiB)",
        len(lines),
        f"`{lines[-1] if lines else ''}`",
        "{}, {}".format(*left),
    )


def _floor() -> None:
    """The status of every active row changed and every stored session deleted,
    with nothing else: what the table's indexes make any revoke write."""
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone

    from django_sessionmgr.models import UserSession

    with transaction.atomic():
        UserSession.objects.filter(status="active").update(
            status="revoked", revoked_at=timezone.now()
        )
        Session.objects.all().delete()


#: What the WAL figures read: the WAL's position and page images (cluster-wide),
#: and the sessions table's row updates, HOT ones among them.
WAL_COUNTERS = """
    SELECT pg_current_wal_lsn(), w.wal_fpi, t.n_tup_upd, t.n_tup_hot_upd
    FROM pg_stat_wal w, pg_stat_user_tables t WHERE t.relid = %s::regclass
"""


def _settle_and_read(vendor: str) -> tuple[Any, ...] | None:
    """Before the run (PostgreSQL): vacuum, analyse, checkpoint; the counters."""
    if vendor != "postgresql":
        return None
    from django.contrib.sessions.models import Session
    from django.db import connection

    from django_sessionmgr.models import UserSession

    with connection.cursor() as cursor:
        for model in (UserSession, Session):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        cursor.execute("CHECKPOINT")
    return _counters()


def _counters() -> tuple[Any, ...]:
    from django.db import connection

    from django_sessionmgr.models import UserSession

    # Backends send their statistics when they go idle or end: the command's
    # worker threads closed theirs; this one is closed too, and read afresh.
    connection.close()
    time.sleep(1.5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(WAL_COUNTERS, [UserSession._meta.db_table])
        return tuple(cursor.fetchone())


def _wal_and_hot(vendor: str, before: tuple[Any, ...] | None, rows: int) -> tuple[str, str]:
    """WAL bytes per revoked row (the share in full-page images), and the HOT ratio."""
    if before is None:
        return "", ""
    from django.db import connection

    after = _counters()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(%s, %s)", [after[0], before[0]])
        wal = int(cursor.fetchone()[0])
    images, updates, hot = (a - b for a, b in zip(after[1:], before[1:], strict=True))
    print(
        f"WAL {before[0]} .. {after[0]}: {wal:,} bytes, {images:,} page images; "
        f"{updates:,} row updates, {hot:,} HOT",
        file=sys.stderr,
        flush=True,
    )
    ratio = f"{hot / updates:.0%} ({hot:,} of {updates:,})" if updates else "no updates"
    per_row = max(rows, 1)
    return f"{wal / per_row:,.0f} B ({images / per_row:.2f})", ratio
