"""What a revoke's row writes cost the table's indexes, and the migrations that shape them.

A revoke writes each row twice: the claim, then the mark. PostgreSQL writes a
new entry into an index for each new row version, unless the update changes
no indexed column (a HOT update). The tests pin which indexed columns each
write changes. On PostgreSQL, migration 0015 keeps four indexes of mostly
empty columns partial, so a row without a value costs them nothing, and
leaves room on each page for a row's next version. Their lookups must still
use them.

The PostgreSQL checks run on the server from ``POSTGRES_URL`` /
``DATABASE_URL``: directly when that is the test database, else in a child
pytest on a database of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models

from django_sessionmgr.models import UserSession
from tests.helpers import make_row, make_staff
from tests.real_servers import postgres_url

ROOT = Path(__file__).resolve().parents[2]
TABLE = UserSession._meta.db_table
lean_updates = import_module("django_sessionmgr.migrations.0015_postgresql_lean_updates")


@pytest.mark.django_db
def test_the_migrations_describe_the_models() -> None:
    # Exits 1 (SystemExit) when the models hold a change no migration has.
    call_command("makemigrations", "django_sessionmgr", "--check", "--dry-run", verbosity=0)


def indexed_columns() -> set[str]:
    """Every column some index of the model holds (its own, and the foreign keys')."""
    meta = UserSession._meta
    columns = {meta.get_field(name.lstrip("-")).column for i in meta.indexes for name in i.fields}
    for field in meta.concrete_fields:
        if field.primary_key or (field.db_index and isinstance(field, models.ForeignKey)):
            columns.add(field.column)
    return columns


def set_columns(sql: str) -> set[str]:
    """The columns an ``UPDATE ... SET ... WHERE`` writes."""
    assignments = sql.split(" SET ", 1)[1].rsplit(" WHERE ", 1)[0]
    return set(re.findall(r'(?:^|, )["`](\w+)["`] = ', assignments))


@pytest.mark.django_db
def test_a_revoke_changes_only_the_indexed_columns_it_must(django_user_model: Any) -> None:
    user = django_user_model.objects.create_user("owner")
    staff = make_staff(django_user_model, "staff", "view_usersession", "revoke_usersession")
    row = make_row(user)
    sent: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert row.revoke(by=staff, reason="breach")
    update = f"UPDATE {connection.ops.quote_name(TABLE)} SET"
    writes = [set_columns(sql) for sql in sent if sql.startswith(update)]
    assert len(writes) == 2, sent
    claim, mark = (columns & indexed_columns() for columns in writes)
    # The claim's batch is how the revoke finds its rows again; revoked_by is
    # unchanged (NULL) when nobody is named (the command), indexed for staff.
    assert claim == {"revoke_batch", "revoked_by_id"}
    assert mark == {"status"}
    # The reason and the time are written and never indexed.
    assert {"revoke_reason", "revoked_at"}.isdisjoint(indexed_columns())


def index_definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        return dict(cursor.fetchall())


def fillfactor() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [TABLE])
        options = cursor.fetchone()[0] or []
    return next((o.split("=")[1] for o in options if o.startswith("fillfactor=")), None)


def partial_columns() -> dict[str, str]:
    """Column -> the predicate of its single-column index, where it has one."""
    found = {}
    for definition in index_definitions().values():
        if match := re.search(r"USING btree \((\w+)\) WHERE (.+)$", definition):
            found[match[1]] = match[2]
    return found


def explain(rows: Any) -> str:
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only; test_the_same_on_postgresql runs it there")


@pytest.mark.django_db
def test_postgresql_keeps_mostly_empty_indexes_partial_and_pages_roomy(
    on_postgresql: None,
) -> None:
    assert set(partial_columns()) == set(lean_updates.PARTIAL)
    assert fillfactor() == str(lean_updates.FILLFACTOR)
    # Each index is the one the model names (or Django's, for a foreign key).
    definitions = index_definitions()
    assert " WHERE " in definitions["sessionmgr_token_digest"]
    assert " WHERE " in definitions["sessionmgr_revoke_batch"]


@pytest.mark.django_db
def test_the_lean_migration_undoes_and_redoes(on_postgresql: None) -> None:
    # DDL is transactional on PostgreSQL: the test's transaction rolls it back.
    with connection.schema_editor() as editor:
        lean_updates.plain(apps, editor)
    assert partial_columns() == {} and fillfactor() is None
    assert len(index_definitions()) == len(UserSession._meta.indexes) + 3  # pk, 2 foreign keys
    with connection.schema_editor() as editor:
        lean_updates.lean(apps, editor)
    assert set(partial_columns()) == set(lean_updates.PARTIAL)
    assert fillfactor() == str(lean_updates.FILLFACTOR)


@pytest.mark.django_db
def test_lookups_still_use_the_partial_indexes(on_postgresql: None, django_user_model: Any) -> None:
    user = django_user_model.objects.create_user("someone")
    for _ in range(3):
        make_row(user)
    cases = {
        "sessionmgr_token_digest": UserSession.objects.filter(
            token_digest__in=["a" * 64, "b" * 64], kind="drf_token"
        ),
        "sessionmgr_revoke_batch": UserSession.objects.filter(revoke_batch=uuid.uuid4()),
        f"{TABLE}_impersonated_by_id": UserSession.objects.filter(impersonated_by__in=[user.pk]),
        f"{TABLE}_revoked_by_id": UserSession.objects.filter(revoked_by=user.pk),
    }
    for index, rows in cases.items():
        text = explain(rows)
        assert index in text and "Seq Scan" not in text, text


@pytest.mark.django_db
def test_other_databases_keep_the_models_plain_indexes() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's are partial")
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, TABLE)
    for name in ("sessionmgr_token_digest", "sessionmgr_revoke_batch"):
        assert indexes[name]["index"], name


ON_POSTGRESQL = [
    test_a_revoke_changes_only_the_indexed_columns_it_must,
    test_postgresql_keeps_mostly_empty_indexes_partial_and_pages_roomy,
    test_the_lean_migration_undoes_and_redoes,
    test_lookups_still_use_the_partial_indexes,
]


def test_the_same_on_postgresql() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("this run is on PostgreSQL already")
    server = postgres_url()
    # pytest-django creates (and drops) test_<name> on that server.
    url = urlunsplit(urlsplit(server)._replace(path=f"/sessionmgr_upkeep_{uuid.uuid4().hex[:8]}"))
    tests = [f"{__file__}::{test.__name__}" for test in ON_POSTGRESQL]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider", "--create-db"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(tests)} passed" in result.stdout and "skipped" not in result.stdout, result.stdout
