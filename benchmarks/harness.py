"""What the benchmark scenarios share: Django set-up, realistic seed data, timing.

A scenario imports this, calls :func:`setup_django` with the database it
wants (a fresh SQLite file by default, or ``--database postgres://...``),
seeds with :func:`seed_sessions`, and times with :func:`paired` or
:func:`median_ms`. ``python -m benchmarks`` lists the scenarios.
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SESSION_COLUMNS = [
    "id", "user_id", "status", "session_key", "ip_address", "user_agent", "device_browser",
    "device_os", "device_family", "device_type", "location_city", "location_country",
    "created_at", "last_activity_at", "expires_at", "ended_at", "revoked_at", "revoke_reason",
]  # fmt: skip

# (user agent, browser, os, device, type): what the seeded rows say they are.
DEVICES = [
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
     "Firefox 128", "Ubuntu", "Other", "desktop"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "Chrome 126", "macOS", "Mac", "desktop"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Edge 126", "Windows", "Other", "desktop"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17", "iOS 17.5", "iPhone", "mobile"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome 126", "Android", "Other", "mobile"),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17", "iPadOS 17.5", "iPad", "tablet"),
]  # fmt: skip
CITIES = [("London", "GB"), ("Berlin", "DE"), ("Paris", "FR"), ("", ""), ("Austin", "US")]
REASONS = ["user", "password_change", "admin", "command"]


def setup_django(database_url: str | None = None, settings_module: str = "tests.settings") -> str:
    """Configure Django on ``database_url`` (default: a fresh SQLite file) and migrate.

    A PostgreSQL database named in the URL is dropped and created afresh.
    Returns the database vendor.
    """
    sys.path.insert(0, str(ROOT))
    if database_url is None:
        workdir = Path(tempfile.mkdtemp(prefix="sessionmgr-bench-"))
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    elif database_url.startswith("postgres"):
        _recreate_postgres(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    # Persistent connections, as a deployment runs; SQLite as served in
    # production: WAL, no fsync per commit (that alone is milliseconds).
    connection.settings_dict["CONN_MAX_AGE"] = None
    if connection.vendor == "sqlite":
        connection.settings_dict.setdefault("OPTIONS", {})["init_command"] = (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        )
    call_command("migrate", verbosity=0)
    return connection.vendor


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """The SQL sent inside the block, requests included (they reset Django's own log)."""
    from django.db import connection

    sent: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def _recreate_postgres(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Seeded:
    rows: int
    users: list[int]
    #: The user whose list is measured: the same 200 rows whatever the table's size.
    subject: Any
    subject_active: int


def seed_sessions(total: int, users: int = 1000, seed: int = 16) -> Seeded:
    """``total`` varied rows over ``users`` users, about 10% of them active now.

    Rows spread over a year of logins, each user with their own weight (a few
    heavy users, many light ones), statuses and end times as real traffic
    leaves them: most sessions ended or expired, some revoked, some active,
    and some active rows already past their expiry. One user, the subject,
    always has the same 200 rows (20 active), so their list should cost the
    same at every table size. No two rows are copies.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from django_sessionmgr.models import UserSession

    user_model = get_user_model()
    subject = user_model.objects.create_user("subject", password="bench")
    user_model.objects.bulk_create(
        user_model(username=f"user{i}", password="!") for i in range(users - 1)
    )
    others = list(user_model.objects.exclude(pk=subject.pk).values_list("pk", flat=True))
    rng = random.Random(seed)
    weights = [rng.paretovariate(1.2) for _ in others]
    now = timezone.now()
    subject_rows = 200

    def rows() -> Iterator[tuple[Any, ...]]:
        owners = rng.choices(others, weights=weights, k=total - subject_rows)
        # The subject's rows are spread through the table, as real logins are.
        step = max(1, total // subject_rows)
        k = 0
        subject_done = 0
        for i in range(total):
            if i % step == 0 and subject_done < subject_rows:
                owner, r = subject.pk, random.Random(subject_done)
                active = subject_done % 10 == 0
                subject_done += 1
            else:
                owner, r = owners[k], rng
                k += 1
                active = r.random() < 0.10
            yield _row(r, owner, now, active, i)

    inserted = insert_rows(rows(), SESSION_COLUMNS, UserSession._meta.db_table, connection.vendor)
    subject_active = UserSession.objects.filter(user=subject).active().count()
    return Seeded(inserted, [subject.pk, *others], subject, subject_active)


def _row(r: random.Random, owner: int, now: datetime, active: bool, i: int) -> tuple[Any, ...]:
    ua, browser, os_name, device, kind = r.choice(DEVICES)
    city, country = r.choice(CITIES)
    ip = f"{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
    ended_at = revoked_at = None
    reason = ""
    if active:
        created = now - timedelta(seconds=r.uniform(60, 13 * 86400))
        last = min(now, created + timedelta(seconds=r.uniform(0, 13 * 86400)))
        expires = created + timedelta(days=14)
        # One active row in twenty is past its expiry and not yet cleaned up.
        status = "active"
        if r.random() < 0.05:
            expires = now - timedelta(seconds=r.uniform(1, 86400))
    else:
        created = now - timedelta(seconds=r.uniform(14 * 86400, 365 * 86400))
        last = created + timedelta(seconds=r.uniform(0, 14 * 86400))
        expires = created + timedelta(days=14)
        status = r.choices(["ended", "expired", "revoked", "active"], [50, 30, 15, 5])[0]
        if status == "ended":
            ended_at = last
        elif status == "revoked":
            revoked_at, reason = last, r.choice(REASONS)
    adapt = _adapt
    return (
        uuid.UUID(int=r.getrandbits(128)).hex, owner, status, "", ip, ua, browser, os_name,
        device, kind, city, country, adapt(created), adapt(last), adapt(expires),
        adapt(ended_at), adapt(revoked_at), reason,
    )  # fmt: skip


def _adapt(value: datetime | None) -> Any:
    from django.db import connection

    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def insert_rows(
    rows: Iterator[tuple[Any, ...]], columns: list[str], table: str, vendor: str = ""
) -> int:
    """Insert in batches of 10,000 (COPY on PostgreSQL); returns how many went in."""
    from django.db import connection, transaction

    total = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    total += 1
            return total
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        batch: list[tuple[Any, ...]] = []
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


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


@dataclass
class Paired:
    stock_ms: float
    app_ms: float
    ratio: float
    #: The spread of the per-batch ratios: (lowest, highest) of the middle half.
    ratio_iqr: tuple[float, float]

    @property
    def added_ms(self) -> float:
        return self.app_ms - self.stock_ms


def paired(
    stock: Callable[[int], Any], app: Callable[[int], Any], batches: int, per_batch: int
) -> Paired:
    """Alternate batches of ``stock(i)`` and ``app(i)`` (ABBA), ratio per batch pair.

    Each call gets a running index, so a scenario can give every call new
    input (a user agent never seen before, say).
    """
    counter = iter(range(10**9))
    stock_ms: list[float] = []
    app_ms: list[float] = []

    def batch(run: Callable[[int], Any]) -> float:
        samples = []
        for _ in range(per_batch):
            i = next(counter)
            began = time.perf_counter()
            run(i)
            samples.append((time.perf_counter() - began) * 1000)
        return statistics.median(samples)

    for b in range(batches):
        if b % 2:
            stock_ms.append(batch(stock))
            app_ms.append(batch(app))
        else:
            app_ms.append(batch(app))
            stock_ms.append(batch(stock))
    ratios = sorted(a / s for a, s in zip(app_ms, stock_ms, strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return Paired(
        statistics.median(stock_ms),
        statistics.median(app_ms),
        statistics.median(ratios),
        (quartiles[0], quartiles[2]),
    )
