"""The self-service list with a million rows: median milliseconds and SQL queries per page.

Builds a SQLite file database holding N session rows (default 1,000,000), of
which 10,000 belong to alice (7 in 10 active, the rest ended or revoked) and
the others are spread over 5,000 users. Then alice, signed in with the ``db``
session engine, asks for pages of ``GET api/sessions/`` and the HTML list
through the Django test client: the full request, middleware included.

    python benchmarks/self_service_list.py [N] [REPEAT]    # default: 1000000 50
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ALICE_ROWS = 10_000
OTHER_USERS = 5_000
BATCH = 20_000
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def configure(workdir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(total: int) -> Any:
    """Insert the users and ``total`` session rows with executemany; return alice."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from django_sessionmgr.models import UserSession

    user_model = get_user_model()
    alice = user_model.objects.create_user("alice", password="bench")
    user_model.objects.bulk_create(
        user_model(username=f"user{i}", password="!") for i in range(OTHER_USERS)
    )
    others = list(user_model.objects.exclude(pk=alice.pk).values_list("pk", flat=True))

    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    expires = adapt(now + timedelta(days=14))
    columns = [
        "id", "user_id", "status", "session_key", "ip_address", "user_agent",
        "device_browser", "device_os", "device_family", "device_type",
        "location_city", "location_country", "created_at", "last_activity_at",
        "expires_at", "revoke_reason",
    ]  # fmt: skip
    sql = (
        f"INSERT INTO {UserSession._meta.db_table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    statuses = ["active"] * 7 + ["ended"] * 2 + ["revoked"]

    def row(i: int) -> tuple[Any, ...]:
        # Alice's rows are interleaved with everyone else's, as real logins would be.
        step = total // ALICE_ROWS
        if i % step == 0:
            owner, status = alice.pk, statuses[i // step % len(statuses)]
        else:
            owner, status = others[i % len(others)], statuses[i % len(statuses)]
        at = adapt(now - timedelta(seconds=total - i))
        return (
            uuid.uuid4().hex, owner, status, "",
            f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", FIREFOX,
            "Firefox 128", "Ubuntu", "Other", "desktop", "London", "GB",
            at, at, expires, "",
        )  # fmt: skip

    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, total, BATCH):
            cursor.executemany(sql, [row(i) for i in range(start, min(start + BATCH, total))])
        cursor.execute("ANALYZE")
    return alice


def measure(client: Any, path: str, repeat: int) -> tuple[float, float, int, int]:
    """Median ms of ``GET path``, mean ms of it spent in SQL, queries, HTTP status."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm up
    samples = []
    with CaptureQueriesContext(connection) as captured:
        for _ in range(repeat):
            began = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - began) * 1000)
    sql_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000 / repeat
    return statistics.median(samples), sql_ms, len(captured) // repeat, response.status_code


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    with tempfile.TemporaryDirectory(prefix="sessionmgr-bench-") as workdir:
        configure(Path(workdir))
        began = time.perf_counter()
        alice = build(total)
        print(f"built {total:,} rows ({ALICE_ROWS:,} of them alice's) "
              f"in {time.perf_counter() - began:.1f} s")  # fmt: skip

        from django.test import Client

        from django_sessionmgr.models import UserSession

        client = Client(HTTP_USER_AGENT=FIREFOX)
        client.force_login(alice)
        active = UserSession.objects.filter(user=alice).active().count()
        print(f"alice: {active:,} active sessions; median of {repeat} requests each\n")
        print(f"{'request':<46} {'ms':>8} {'SQL ms':>8} {'queries':>8}")
        for path in [
            "/api/sessions/",
            "/api/sessions/?limit=500",
            "/api/sessions/?status=all",
            "/api/sessions/?status=revoked&limit=100",
            f"/api/sessions/?offset={active - 20}",
            "/api/sessions/current/",
            "/account/sessions/",
        ]:
            ms, sql_ms, queries, status = measure(client, path, repeat)
            assert status == 200, (path, status)
            print(f"GET {path:<42} {ms:8.2f} {sql_ms:8.1f} {queries:8d}")


if __name__ == "__main__":
    main()
