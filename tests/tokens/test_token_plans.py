"""A token's rows are found through the digest index, whatever the planner
knows: SQLite as Django leaves it (no ``ANALYZE``) picks the status index
for a condition on the status beside the digest, and then walks every active
row of the table, at each token login, adoption, logout and sweep."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from django_sessionmgr.models import UserSession
from django_sessionmgr.tokens.core import end_token_session, start_token_session, token_used
from django_sessionmgr.tokens.lookup import unrecorded

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner without statistics"),
]

KNOX = UserSession.Kind.KNOX
TABLE = UserSession._meta.db_table


def plans_of(queries: CaptureQueriesContext) -> list[tuple[str, str]]:
    """(statement, plan) of every statement that reads the table by a token's digest."""
    found = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if TABLE not in sql or "token_digest" not in sql.split("WHERE", 1)[-1]:
                continue
            if not sql.startswith(("SELECT", "UPDATE")):
                continue
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            found.append((sql, " / ".join(str(row[-1]) for row in cursor.fetchall())))
    return found


def test_every_read_of_a_tokens_rows_goes_through_the_digest_index(user: Any) -> None:
    for _ in range(3):  # other sessions, so the table is not empty
        start_token_session(None, user, KNOX, secrets.token_hex(20))
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    token, unknown = secrets.token_hex(20), secrets.token_hex(20)

    with CaptureQueriesContext(connection) as queries:
        start_token_session(request, user, KNOX, token)
        token_used(request, KNOX, unknown, user=user)  # adopted at its first use
        end_token_session(KNOX, token)
        assert unrecorded(KNOX, [("a", token), ("b", unknown)]) == ["a"]

    plans = plans_of(queries)
    assert len(plans) >= 4, queries.captured_queries
    for sql, plan in plans:
        assert "sessionmgr_token_digest" in plan or "autoindex" in plan, (sql, plan)
        assert "sessionmgr_status" not in plan, (sql, plan)
