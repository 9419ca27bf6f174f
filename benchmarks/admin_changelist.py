"""The UserSession admin changelist with 1,000,000 rows: median milliseconds per page.

Seeds 10,000 users and N sessions (a mix of active, ended, revoked and
expired) with executemany into a SQLite file database, then times the
changelist as staff use it: first page, status filters, a date filter, a
username search, an exact IP search and a deep page. Target: under a second.

    python benchmarks/admin_changelist.py [N]     # default: 1000000
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _staff_setup import SESSION_COLUMNS, insert_rows, median_ms, session_rows, setup_django

USERS = 10_000
REPEAT = 5
TARGET_MS = 1000


def seed(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from django_sessionmgr.models import UserSession

    user_model = get_user_model()
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    columns = ["username", "email", "password", "is_superuser", "is_staff", "is_active",
               "first_name", "last_name", "date_joined"]  # fmt: skip
    joined = adapt(now)
    users = (
        (f"user{i:05d}", f"u{i}@example.com", "!", 0, 0, 1, "", "", joined) for i in range(USERS)
    )
    insert_rows(users, columns, user_model._meta.db_table)
    user_ids = list(user_model.objects.values_list("pk", flat=True))
    table = UserSession._meta.db_table
    insert_rows(
        session_rows(count, user_ids, now - timedelta(seconds=count)), SESSION_COLUMNS, table
    )
    # One row in five ended, one in ten revoked, one in twenty past its expiry.
    updates = [
        "status = 'ended', ended_at = last_activity_at WHERE rowid % 5 = 1",
        "status = 'revoked', revoked_at = last_activity_at WHERE rowid % 10 = 2",
        "expires_at = created_at WHERE rowid % 20 = 3",
    ]
    with connection.cursor() as cursor:
        for update in updates:
            cursor.execute(f"UPDATE {table} SET {update}")
        cursor.execute("ANALYZE")


def main(count: int) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    began = time.perf_counter()
    seed(count)
    print(f"seeded {count:,} sessions of {USERS:,} users in {time.perf_counter() - began:.0f} s")

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(root)
    yesterday = urlencode({"created_at__gte": str(timezone.now() - timedelta(days=1))})
    pages = {
        "first page": "",
        "status=active": "?status=active",
        "status=revoked": "?status=revoked",
        "status=expired": "?status=expired",
        "created in the last day": f"?{yesterday}",
        "search username": "?q=user04242",
        "search exact IP": "?q=10.1.2.3",
        "page 50": "?p=50",
    }
    url = "/admin/django_sessionmgr/usersession/"
    worst = 0.0
    print(f"{'changelist':26} {'median ms':>10}")
    for name, query in pages.items():

        def load(query: str = query) -> None:
            response = client.get(url + query)
            assert response.status_code == 200, response.status_code

        load()  # warm up templates and caches
        ms = median_ms(load, REPEAT)
        worst = max(worst, ms)
        print(f"{name:26} {ms:>10.0f}")
    print(f"slowest: {worst:.0f} ms (target < {TARGET_MS} ms)")
    if worst >= TARGET_MS:
        sys.exit(1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
