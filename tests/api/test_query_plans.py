"""A user's own lists start from the user, whatever the planner knows.

The pages and APIs run for real; every query they send that reads the
sessions table for one user is explained (``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN`` on PostgreSQL). Each must read through a per-user index, never a
whole-table scan or the status / expiry indexes, and the active lists must
come out of the index in order, with no sort. On SQLite nothing runs
``ANALYZE``, as Django leaves it. On PostgreSQL the table is analysed, as
autovacuum would, and sequential scans are off, as the table is small; the
question is which index a big table would use.

The PostgreSQL run is this module again in a child pytest, on its own
database on the server from ``POSTGRES_URL`` / ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import PASSWORD, logged_in_client
from tests.real_servers import postgres_url

ROOT = Path(__file__).resolve().parents[2]
TABLE = UserSession._meta.db_table
PER_USER_INDEXES = (
    "sessionmgr_user_status_expiry",
    "sessionmgr_user_status_created",
    f"{TABLE}_user_id_",  # the foreign key's own index
)
# Pages and their per-user queries: the active ones must need no sort.
ACTIVE_PAGES = [
    "/api/sessions/",
    "/api/sessions/?status=active&limit=5&offset=1",
    "/account/sessions/",
    "/account/sessions/revoke-others/confirm/",
    "/api/admin/sessions/?user={pk}&status=active",
]
OTHER_PAGES = [
    "/api/sessions/?status=all",
    "/api/sessions/?status=revoked",
    "/api/sessions/?status=expired",
    "/api/admin/sessions/?user={pk}&status=expired",
    "/api/admin/sessions/?user={pk}&status=all",
]


@pytest.fixture
def staff_client(django_user_model: Any) -> tuple[Client, int]:
    if connection.vendor not in ("sqlite", "postgresql"):
        # The planners this guards: SQLite as Django leaves it, and PostgreSQL. The
        # plan text and quoting checked here are theirs.
        pytest.skip(f"plans are checked on SQLite and PostgreSQL, not {connection.vendor}")
    user = django_user_model.objects.create_user("plans", password=PASSWORD, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename="view_usersession"))
    other = django_user_model.objects.create_user("someone-else", password=PASSWORD)
    now = timezone.now()
    for owner in (user, other):
        for i, status in enumerate(["active", "ended", "revoked", "expired", "active"]):
            UserSession.objects.create(
                user=owner,
                status=status,
                expires_at=now + timedelta(days=1 if i < 4 else -1),
                last_activity_at=now - timedelta(minutes=i),
            )
    # Other users' rows, so that a plan reading everyone's would show it.
    crowd = django_user_model.objects.bulk_create(
        django_user_model(username=f"crowd{i}", password="!") for i in range(20)
    )
    UserSession.objects.bulk_create(
        UserSession(
            user=owner,
            status=["active", "ended", "revoked", "expired"][i % 4],
            expires_at=now + timedelta(days=1 - i % 3),
            last_activity_at=now - timedelta(minutes=i),
        )
        for owner in crowd
        for i in range(50)
    )
    if connection.vendor == "postgresql":
        # PostgreSQL's autovacuum would have analysed a table this size.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE}")
    return logged_in_client(user), user.pk


def per_user_queries(client: Client, path: str) -> Iterator[tuple[str, Any]]:
    """The SELECT queries of lists (filtered by user, not by id) that ``GET path`` sends."""
    sent: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    found = [
        (sql, params)
        for sql, params in sent
        if sql.startswith("SELECT")
        and f'FROM "{TABLE}"' in sql
        and '"user_id" = ' in sql
        # Lookups by id read their rows whatever the index; "all but this
        # one" (NOT (id = ...)) is still a list.
        and not re.search(rf'(?<!NOT \()"{TABLE}"\."id" (= |IN \()', sql)
    ]
    assert found, path
    yield from found


def plan(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def check(text: str, sorted_by_index: bool) -> None:
    assert any(name in text for name in PER_USER_INDEXES), text
    for other in ("sessionmgr_status_", "sessionmgr_expiry_", "sessionmgr_activity"):
        assert other not in text, text
    if connection.vendor == "sqlite":
        assert f"SCAN {TABLE}" not in text, text
        if sorted_by_index:
            assert "TEMP B-TREE" not in text, text
    else:
        assert "Seq Scan" not in text, text
        if sorted_by_index:
            assert "Sort" not in text, text


@pytest.mark.django_db
@pytest.mark.parametrize("path", ACTIVE_PAGES)
def test_active_lists_read_the_users_rows_in_order(
    staff_client: tuple[Client, int], path: str
) -> None:
    client, pk = staff_client
    for sql, params in per_user_queries(client, path.format(pk=pk)):
        check(plan(sql, params), sorted_by_index="COUNT(" not in sql)


@pytest.mark.django_db
@pytest.mark.parametrize("path", OTHER_PAGES)
def test_other_lists_start_from_the_user(staff_client: tuple[Client, int], path: str) -> None:
    client, pk = staff_client
    for sql, params in per_user_queries(client, path.format(pk=pk)):
        check(plan(sql, params), sorted_by_index=False)


@pytest.mark.django_db
def test_the_old_status_first_index_is_gone() -> None:
    # A (status, expires_at) index is what the planner took without
    # statistics; the expiry commands use (expires_at, status) instead.
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, TABLE)
    assert "sessionmgr_status_expiry" not in indexes
    assert indexes["sessionmgr_expiry_status"]["columns"] == ["expires_at", "status"]


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


def revoke_queries(client: Client, path: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """The read of the impersonations and the UPDATE that claims the rows to
    revoke when ``POST path`` runs."""
    sent: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.post(path, body, content_type="application/json")
    assert response.status_code == 200, response.content
    reads = [
        item for item in sent if item[0].startswith("SELECT") and "impersonated_by_id" in item[0]
    ]
    marks = [
        item
        for item in sent
        # The claim: the UPDATE that tags the chosen rows with the revoke's batch.
        if item[0].startswith(f'UPDATE "{TABLE}" SET "revoked_by_id"')
    ]
    # U's rows first, then the sessions U is impersonating from.
    assert len(reads) == 1 and len(marks) == 2, sent
    return [*reads, *marks]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/sessions/revoke-others/", "/api/admin/sessions/revoke/"])
def test_all_sessions_of_a_user_are_read_through_indexes(
    staff_client: tuple[Client, int], django_user_model: Any, path: str
) -> None:
    """ "All sessions of U" also reaches the sessions U runs as someone else
    (``signed_in_as_or_by``): those are read through their own index, then the
    revoke starts from U's rows and those ids, never from every active row."""
    client, pk = staff_client
    user = django_user_model.objects.get(pk=pk)
    user.user_permissions.add(*Permission.objects.filter(codename="revoke_usersession"))
    UserSession.objects.create(
        user=django_user_model.objects.get(username="someone-else"),
        impersonated_by=user,
        expires_at=timezone.now() + timedelta(days=1),
    )
    body = {"users": [pk]} if "admin" in path else {}
    (read, read_params), (mark, mark_params), (then, then_params) = revoke_queries(
        client, path, body
    )
    text = plan(read, read_params)
    assert "impersonated_by" in text, text
    check(plan(mark, mark_params), sorted_by_index=False)
    text = plan(then, then_params)
    assert "impersonated_by" in text and "SCAN" not in text and "Seq Scan" not in text, text
