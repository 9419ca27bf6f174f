"""Shared setup of the staff benchmarks: Django on a throwaway SQLite file database.

Run the scripts from the repository root, e.g. ``python benchmarks/staff_bulk.py``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> Path:
    """Configure the test settings on a fresh SQLite file (removed at exit) and migrate it."""
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="sessionmgr-staff-bench-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django
    from django.conf import settings

    django.setup()
    # Enough room for every cached session of the largest run (LocMemCache culls at 300).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 10_000_000},
        }
    }
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # A file database as a deployment would run it.
        cursor.execute("PRAGMA journal_mode=WAL")
    return workdir


def insert_rows(rows: Iterator[tuple[Any, ...]], columns: list[str], table: str) -> int:
    """executemany in batches of 10,000; returns how many rows went in."""
    from django.db import connection, transaction

    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    total = 0
    batch: list[tuple[Any, ...]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                cursor.executemany(sql, batch)
                total += len(batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
            total += len(batch)
    return total


SESSION_COLUMNS = [
    "id", "user_id", "status", "session_key", "ip_address", "user_agent", "device_browser",
    "device_os", "device_family", "device_type", "location_city", "location_country",
    "created_at", "last_activity_at", "expires_at", "revoke_reason",
]  # fmt: skip


def session_rows(
    count: int, user_ids: list[int], start: datetime, key_prefix: str = ""
) -> Iterator[tuple[Any, ...]]:
    """``count`` active rows spread over ``user_ids``, one second apart from ``start``.

    Keys are stored as the app stores them under the engine in force (sealed
    under ``cache`` and ``file``), so a revoke pays what it pays in production.
    """
    from django.db import connection

    try:
        from django_sessionmgr.keys import seal
    except ImportError:  # versions before keys at rest

        def seal(key: str) -> str:
            return key

    adapt = connection.ops.adapt_datetimefield_value
    expires = adapt(start + timedelta(days=3650))
    for i in range(count):
        at = adapt(start + timedelta(seconds=i))
        yield (
            uuid.uuid4().hex, user_ids[i % len(user_ids)], "active",
            seal(f"{key_prefix}{i:032d}") if key_prefix else "",
            f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox 128", "Ubuntu", "Other", "desktop", "London", "GB", at, at, expires, "",
        )  # fmt: skip


def timed(run: Callable[[], Any]) -> tuple[float, int, Any]:
    """Seconds taken and SQL queries issued by ``run()``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - began
    return elapsed, len(captured), result


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)
