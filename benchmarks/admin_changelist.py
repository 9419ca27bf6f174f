"""The UserSession admin changelist on a big table (1M via --rows): median ms per page.

Realistic rows (:func:`harness.logins`) of 10,000 users, never ``ANALYZE``d,
then the changelist as staff use it: first page, status filters, a date
filter, a username search, an exact IP search and a deep page.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)


def run(options: Any) -> None:
    vendor = h.setup(options.database)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from django_sessionmgr.models import UserSession

    began = time.perf_counter()
    h.seed_sessions(options.rows, users=options.users)
    print(
        f"{h.about(vendor)}; {options.rows:,} rows of {options.users:,} users, seeded in "
        f"{time.perf_counter() - began:.0f} s; median of {options.repeat} loads"
    )
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password=h.PASSWORD))
    ip = UserSession.objects.values_list("ip_address", flat=True)[options.rows // 2]
    yesterday = urlencode({"created_at__gte": str(timezone.now() - timedelta(days=1))})
    h.header("admin changelist", "ms", "queries")
    for name, query in [
        ("first page", ""),
        ("status=active", "?status=active"),
        ("status=revoked", "?status=revoked"),
        ("status=expired", "?status=expired"),
        ("created in the last day", f"?{yesterday}"),
        ("search username", f"?q=user{options.users // 2}"),
        ("search exact IP", f"?q={ip}"),
        ("page 50", "?p=50"),
    ]:
        url = f"/admin/django_sessionmgr/usersession/{query}"
        with h.counting_queries() as sent:  # also the warm-up
            assert client.get(url).status_code == 200, url
        h.row(
            name, f"{h.median_ms(lambda url=url: client.get(url), options.repeat):.0f}", len(sent)
        )
