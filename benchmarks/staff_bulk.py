"""Staff bulk revoke of one user's N sessions: the admin action and the staff API.

For each engine (``db``, ``cache``) and size, a fresh table where the user
has N active rows, each with a stored session, then one revoke of them all:
the admin changelist's action over a search for the user with "select all",
or ``POST api/admin/sessions/revoke/ {"users": [pk]}``. The query count must
not grow with N.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[1_000, 10_000],
        help="sessions revoked, e.g. 1000 10000 100000",
    )


def run(options: Any) -> int:
    vendor = h.setup(options.database)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings

    from django_sessionmgr.models import UserSession

    def via_admin(client: Client, alice: Any) -> Any:
        row = UserSession.objects.filter(user=alice).values_list("pk", flat=True)[0]
        return client.post(
            f"/admin/django_sessionmgr/usersession/?q={alice.username}",
            {
                "action": "revoke_sessions",
                "select_across": "1",
                "index": "0",
                "_selected_action": [str(row)],
                "post": "yes",
            },
        )

    def via_api(client: Client, alice: Any) -> Any:
        return client.post(
            "/api/admin/sessions/revoke/",
            json.dumps({"users": [alice.pk]}),
            content_type="application/json",
        )

    print(h.about(vendor))
    h.header("engine", "path", "sessions", "seconds", "queries")
    counts: dict[tuple[str, str], set[int]] = {}
    for engine in ("db", "cache"):
        with override_settings(SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"):
            for rows in options.rows:
                for name, revoke in (("admin action", via_admin), ("API by user", via_api)):
                    h.reset()
                    root = get_user_model().objects.create_superuser("root", password=h.PASSWORD)
                    alice = h.create_user("alice")
                    seeded = h.seed_sessions(
                        rows, users=2, subject=alice, subject_rows=rows, subject_active=1.0
                    )
                    h.store_sessions(seeded.keys, alice)
                    client = Client()
                    client.force_login(root)
                    with h.counting_queries() as sent:
                        began = time.perf_counter()
                        assert revoke(client, alice).status_code in (200, 302)
                        seconds = time.perf_counter() - began
                    left = UserSession.objects.filter(user=alice, status="active").count()
                    assert (left, h.stored_left(seeded.keys)) == (0, 0), left
                    counts.setdefault((engine, name), set()).add(len(sent))
                    h.row(engine, name, f"{len(seeded.keys):,}", f"{seconds:.2f}", len(sent))
    steady = all(len(seen) == 1 for seen in counts.values())
    print("query count independent of the number of sessions:", "yes" if steady else "NO")
    return 0 if steady else 1
