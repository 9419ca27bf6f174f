"""``sessionmgr_revoke --all`` after a breach (100k and 1M active rows): time, peak memory.

At each size, a fresh table of N active sessions (each with a stored session,
``db`` engine) among N/10 ended, expired and revoked ones, over N/10 users.
The command runs as ``call_command``; the peak resident memory is measured
from just before it. Then no active row and no stored session may be left.
For 1M, use PostgreSQL: ``--database postgres://.../name``.
"""

from __future__ import annotations

import argparse
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


def run(options: Any) -> None:
    vendor = h.setup(options.database)
    extra = ["--batch-size", str(options.batch_size)] if options.batch_size else []
    print(h.about(vendor))
    h.header(
        "sign everyone out",
        "time",
        "peak RSS (before)",
        "progress lines",
        "last line",
        "left active, stored",
    )
    for rows in options.rows:
        for workers in options.workers:
            one(rows, workers, vendor, extra)


def one(rows: int, workers: int, vendor: str, extra: list[str]) -> None:
    from django.core.management import call_command

    from django_sessionmgr.models import UserSession

    h.reset()
    seeded = h.seed_sessions(
        rows * 11 // 10, users=max(1000, rows // 10), subject_rows=0, active=10 / 11
    )
    h.store_sessions(seeded.keys)
    active = UserSession.objects.filter(status="active").count()
    output = StringIO()
    before = h.peak_rss_reset()
    began = time.perf_counter()
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
    lines = output.getvalue().strip().splitlines()
    left = UserSession.objects.filter(status="active").count(), h.stored_left(seeded.keys)
    h.row(
        f"{vendor}, {active:,} active rows of {seeded.rows:,}, {workers} worker(s)",
        f"{seconds:.1f} s",
        f"{peak / 1024:.0f} MiB ({before / 1024:.0f} MiB)",
        len(lines),
        f"`{lines[-1] if lines else ''}`",
        "{}, {}".format(*left),
    )
