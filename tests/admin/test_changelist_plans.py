"""The sessions changelist stays a few index reads per page, however big the table.

The page runs for real; the queries it sends to the sessions table are
explained (``EXPLAIN QUERY PLAN`` on SQLite, which nothing ``ANALYZE``s, as
Django leaves it; ``EXPLAIN`` on PostgreSQL, analysed). The page of rows must
come out of an index in the list's order, with no sort, and the count must
stop a few pages ahead instead of reading every row of the status.

On PostgreSQL a table this small is best read whole and sorted; a big one is
walked in order when an index allows it. So sequential scans and sorts are
off there: what is checked is that an index serves the list's order.
The PostgreSQL run is this module again in a child pytest, on its own database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from django_sessionmgr.admin import UserSessionAdmin
from django_sessionmgr.admin.paging import PAGES_AHEAD
from django_sessionmgr.models import UserSession
from tests.helpers import PASSWORD, logged_in_client
from tests.real_servers import postgres_url

ROOT = Path(__file__).resolve().parents[2]
TABLE = UserSession._meta.db_table
CHANGELIST = "/admin/django_sessionmgr/usersession/"
# The list's two order indexes: newest first, and newest first within a status.
ORDER_INDEXES = ("sessionmgr_created_status", "sessionmgr_status_created")
FILTERS = ["", "?status=active", "?status=expired", "?status=revoked", "?status=ended"]


@pytest.fixture
def staff_client(django_user_model: Any) -> Client:
    staff = django_user_model.objects.create_user("plans", password=PASSWORD, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename="view_usersession"))
    crowd = django_user_model.objects.bulk_create(
        django_user_model(username=f"crowd{i}", password="!") for i in range(20)
    )
    now = timezone.now()
    UserSession.objects.bulk_create(
        UserSession(
            user=owner,
            status=["active", "ended", "revoked", "expired", "active"][i % 5],
            # Every third active row is past its expiry: expired, unmarked.
            expires_at=now + timedelta(days=1 if i % 3 else -1),
            created_at=now - timedelta(minutes=i * 20 + n),
        )
        for n, owner in enumerate(crowd)
        for i in range(50)
    )
    if connection.vendor == "postgresql":
        # PostgreSQL's autovacuum would have analysed a table this size.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE}")
    return logged_in_client(staff)


def changelist_queries(client: Client, path: str) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """The count and the page of rows that ``GET path`` reads from the sessions table."""
    skip_unless_plans_are_checked()
    sent: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    reads = [
        (sql, params)
        for sql, params in sent
        if sql.startswith("SELECT")
        and f'FROM "{TABLE}"' in sql
        # The staff member's own row, and the prefetches, are read by id.
        and not re.search(rf'"{TABLE}"\."id" (= |IN \()', sql)
    ]
    counts = [item for item in reads if item[0].startswith("SELECT COUNT(")]
    pages = [item for item in reads if not item[0].startswith("SELECT COUNT(")]
    assert len(counts) == 1 and len(pages) == 1, reads
    return counts[0], pages[0]


def skip_unless_plans_are_checked() -> None:
    # The plan text and the quoting read here are SQLite's and PostgreSQL's.
    if connection.vendor not in ("sqlite", "postgresql"):
        pytest.skip(f"plans are checked on SQLite and PostgreSQL, not {connection.vendor}")


def plan(sql: str, params: Any) -> str:
    skip_unless_plans_are_checked()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def assert_read_in_list_order(text: str) -> None:
    """Rows come out of an order index as the list shows them: nothing is sorted."""
    assert any(name in text for name in ORDER_INDEXES), text
    if connection.vendor == "sqlite":
        assert "TEMP B-TREE" not in text, text
    else:
        assert "Sort" not in text and "Seq Scan" not in text, text


@pytest.mark.django_db
@pytest.mark.parametrize("path", FILTERS)
def test_each_page_is_read_in_order_and_counted_only_ahead(staff_client: Client, path: str) -> None:
    (count, count_params), (page, page_params) = changelist_queries(staff_client, CHANGELIST + path)
    assert_read_in_list_order(plan(page, page_params))
    # The count reads the list's first rows in the list's order, and stops.
    assert re.search(r"LIMIT \d+\) subquery$", count), count
    assert_read_in_list_order(plan(count, count_params))


@pytest.mark.django_db
def test_the_expired_page_lists_exactly_the_expired_rows(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One page for the whole list: marked expired, and active past expiry.
    monkeypatch.setattr(UserSessionAdmin, "list_per_page", 1000)
    expected = UserSession.objects.expired().order_by("-created_at", "-id")
    assert expected.filter(status="active").exists() and expected.filter(status="expired").exists()

    cl = staff_client.get(CHANGELIST + "?status=expired").context["cl"]
    assert [row.pk for row in cl.result_list] == list(expected.values_list("pk", flat=True))

    # Read in the list's order (checked on SQLite and PostgreSQL).
    _, (page, page_params) = changelist_queries(staff_client, CHANGELIST + "?status=expired")
    assert_read_in_list_order(plan(page, page_params))


@pytest.mark.django_db
def test_a_long_list_counts_a_few_pages_ahead(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(UserSessionAdmin, "list_per_page", 10)
    expired = UserSession.objects.expired().order_by("-created_at", "-id")
    total = expired.count()
    assert total > 10 * (PAGES_AHEAD + 3)

    first = staff_client.get(CHANGELIST + "?status=expired")
    cl = first.context["cl"]
    assert cl.result_count == 10 * (1 + PAGES_AHEAD)
    assert [row.pk for row in cl.result_list] == list(expired.values_list("pk", flat=True)[:10])
    # The page links go as far as counted, then say that more follow.
    links = list(cl.paginator.get_elided_page_range(cl.page_num))
    assert links == [*range(1, PAGES_AHEAD + 2), cl.paginator.ELLIPSIS]
    assert f"{10 * (1 + PAGES_AHEAD)} user sessions" in first.content.decode()

    # The last page linked counts further on, and shows its own rows.
    last_linked = PAGES_AHEAD + 1
    later = staff_client.get(CHANGELIST + f"?status=expired&p={last_linked}")
    cl = later.context["cl"]
    assert cl.result_count == 10 * (last_linked + PAGES_AHEAD)
    assert [row.pk for row in cl.result_list] == list(
        expired.values_list("pk", flat=True)[(last_linked - 1) * 10 : last_linked * 10]
    )

    # Near the end the count is exact: the last page, and none after it.
    last = -(-total // 10)
    cl = staff_client.get(CHANGELIST + f"?status=expired&p={last}").context["cl"]
    assert cl.result_count == total
    assert list(cl.paginator.get_elided_page_range(cl.page_num))[-1] == last
    assert staff_client.get(CHANGELIST + f"?status=expired&p={last + 1}").url.endswith("?e=1")


@pytest.mark.django_db
def test_select_all_on_a_list_counted_ahead_reaches_every_row(
    staff_client: Client, django_user_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(UserSessionAdmin, "list_per_page", 10)
    staff = django_user_model.objects.get(username="plans")
    staff.user_permissions.add(*Permission.objects.filter(codename="revoke_usersession"))
    others = UserSession.objects.active().exclude(user=staff)
    total = others.count()
    cl = staff_client.get(CHANGELIST + "?status=active").context["cl"]
    assert cl.result_count == 10 * (1 + PAGES_AHEAD) < total
    selection = {
        "action": "revoke_sessions",
        "select_across": "1",
        "_selected_action": [str(cl.result_list[0].pk)],
    }

    # The confirmation counts every matching row (but the staff member's own).
    confirmation = staff_client.post(CHANGELIST + "?status=active", selection)
    assert confirmation.context["session_count"] == total
    staff_client.post(CHANGELIST + "?status=active", {**selection, "post": "yes"})

    assert not others.exists()
    assert UserSession.objects.active().filter(user=staff).count() == 1


def test_the_same_plans_on_postgresql() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("this run is on PostgreSQL already")
    server = postgres_url()
    # pytest-django creates (and drops) test_<name> on that server.
    url = urlunsplit(urlsplit(server)._replace(path=f"/sessionmgr_plans_{uuid.uuid4().hex[:8]}"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider",
         "-k", "not the_same_plans", "--create-db"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout
