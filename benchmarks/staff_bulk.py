"""Bulk revoke of up to 100,000 sessions by staff: the admin action and the API.

Seeds N active sessions of one user (rows plus their stored sessions), then
revokes them all through

- the admin action: a POST to the changelist with ``select_across`` (all rows
  matching a search), and
- the staff API: ``POST api/admin/sessions/revoke/ {"users": [pk]}``,

on a SQLite file database with the ``db`` and ``cache`` session engines. It
prints seconds and SQL queries per run; the query count must not grow with N.

    python benchmarks/staff_bulk.py [N ...]     # default: 1000 10000 100000
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _staff_setup import SESSION_COLUMNS, insert_rows, session_rows, setup_django, timed

ENGINES = ["db", "cache"]
KEY_PREFIX = "bench"


def seed(engine: str, user: Any, count: int) -> None:
    """``count`` active rows of ``user``, each with a stored session in ``engine``."""
    from django.conf import settings
    from django.contrib.sessions.backends.cache import KEY_PREFIX as CACHE_PREFIX
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.cache import caches
    from django.utils import timezone

    from django_sessionmgr.models import UserSession

    start = timezone.now() - timedelta(days=1)
    rows = session_rows(count, [user.pk], start, key_prefix=KEY_PREFIX)
    insert_rows(rows, SESSION_COLUMNS, UserSession._meta.db_table)
    keys = [f"{KEY_PREFIX}{i:032d}" for i in range(count)]
    data = SessionStore().encode({"_auth_user_id": str(user.pk)})
    expires = start + timedelta(days=3650)
    if engine == "db":
        from django.contrib.sessions.models import Session
        from django.db import connection

        adapt = connection.ops.adapt_datetimefield_value
        insert_rows(
            ((key, data, adapt(expires)) for key in keys),
            ["session_key", "session_data", "expire_date"],
            Session._meta.db_table,
        )
    else:
        cache = caches[settings.SESSION_CACHE_ALIAS]
        for first in range(0, count, 10_000):
            batch = keys[first : first + 10_000]
            cache.set_many({CACHE_PREFIX + key: {"_auth_user_id": str(user.pk)} for key in batch})


def stored_left(engine: str, count: int) -> int:
    """How many of the seeded stored sessions still exist."""
    from django.conf import settings
    from django.contrib.sessions.backends.cache import KEY_PREFIX as CACHE_PREFIX
    from django.core.cache import caches

    if engine == "db":
        from django.contrib.sessions.models import Session

        return Session.objects.filter(session_key__startswith=KEY_PREFIX).count()
    cache = caches[settings.SESSION_CACHE_ALIAS]
    keys = [f"{CACHE_PREFIX}{KEY_PREFIX}{i:032d}" for i in range(count)]
    return sum(len(cache.get_many(keys[i : i + 10_000])) for i in range(0, count, 10_000))


def reset() -> None:
    from django.contrib.sessions.models import Session
    from django.core.cache import caches

    from django_sessionmgr.models import UserSession

    UserSession.objects.all().delete()
    Session.objects.all().delete()
    caches["default"].clear()


def via_admin(client: Any, user: Any, any_row: Any) -> Any:
    """Search the changelist for the user, select one row, "select all", confirm."""
    return client.post(
        f"/admin/django_sessionmgr/usersession/?q={user.username}",
        {
            "action": "revoke_sessions",
            "select_across": "1",
            "index": "0",
            "_selected_action": [str(any_row)],
            "post": "yes",  # past the confirmation page
        },
    )


def via_api(client: Any, user: Any, any_row: Any) -> Any:
    return client.post(
        "/api/admin/sessions/revoke/",
        json.dumps({"users": [user.pk]}),
        content_type="application/json",
    )


def main(sizes: list[int]) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from django_sessionmgr.models import UserSession

    user_model = get_user_model()
    root = user_model.objects.create_superuser("root", "root@example.com", "pw")
    alice = user_model.objects.create_user("alice", "alice@example.com", "pw")

    print(f"{'engine':8} {'path':12} {'sessions':>9} {'seconds':>8} {'queries':>8}")
    query_counts: dict[tuple[str, str], set[int]] = {}
    for engine in ENGINES:
        with override_settings(SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"):
            for size in sizes:
                for name, run in (("admin action", via_admin), ("API by user", via_api)):
                    reset()
                    seed(engine, alice, size)
                    client = Client()
                    client.force_login(root)
                    row = UserSession.objects.filter(user=alice).values_list("pk", flat=True)[0]
                    seconds, queries, response = timed(lambda: run(client, alice, row))  # noqa: B023
                    assert response.status_code in (200, 302), response.content[:500]
                    revoked = UserSession.objects.filter(user=alice, status="revoked").count()
                    assert revoked == size, (revoked, size)
                    assert stored_left(engine, size) == 0
                    query_counts.setdefault((engine, name), set()).add(queries)
                    print(f"{engine:8} {name:12} {size:>9,} {seconds:>8.2f} {queries:>8}")
    steady = all(len(counts) == 1 for counts in query_counts.values())
    print("query count independent of the number of sessions:", "yes" if steady else "NO")
    if not steady:
        sys.exit(1)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1_000, 10_000, 100_000])
