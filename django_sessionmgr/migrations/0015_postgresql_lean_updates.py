"""On PostgreSQL only: room on each page for a row's next version, and the
indexes of mostly empty columns kept to the rows that have a value.

A revoke rewrites each row twice (its claim, then its status), and PostgreSQL
writes every new version of a row into each index whose predicate it meets.
The four indexes below look up values that most rows never have (a token's
digest, a revoke's batch, the staff member who revoked or impersonated), so a
row without one costs them nothing. The fill factor leaves a page room for
the new version next to the old one: no second page to lock, and a smaller
WAL record. It applies to pages written from now on (``VACUUM FULL`` or
pg_repack rewrites the old ones).

SQLite and MariaDB keep the plain indexes of the model (MariaDB has no partial
indexes); the model's state is the same on every database.
"""

from typing import Any

from django.db import migrations

TABLE = "django_sessionmgr_usersession"
#: Percent of each table page filled by inserts; PostgreSQL's default is 100.
FILLFACTOR = 80
#: The model's own indexes among them (the foreign keys' are Django's).
MODEL_INDEXES = {"sessionmgr_token_digest", "sessionmgr_revoke_batch"}
#: Index (by column) -> the rows it keeps on PostgreSQL.
PARTIAL = {
    "token_digest": "token_digest <> ''",
    "revoke_batch": "revoke_batch IS NOT NULL",
    "revoked_by_id": "revoked_by_id IS NOT NULL",
    "impersonated_by_id": "impersonated_by_id IS NOT NULL",
}


def _indexes_on(schema_editor: Any, column: str) -> list[str]:
    """The plain single-column indexes of ``column`` (the model's own, or
    Django's for a foreign key, whose name carries a hash)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return sorted(
        name
        for name, about in constraints.items()
        if about["index"]
        and about["columns"] == [column]
        and not (about["unique"] or about["primary_key"])
        # Ours only: the model's, or Django's for the foreign key; never a
        # project's own index on the same column.
        and (name in MODEL_INDEXES or name.startswith(f"{TABLE}_{column}_"))
    )


def _rebuild(schema_editor: Any, partial: bool) -> None:
    quote = schema_editor.quote_name
    for column, rows in PARTIAL.items():
        for name in _indexes_on(schema_editor, column):
            where = f" WHERE {rows}" if partial else ""
            schema_editor.execute(f"DROP INDEX {quote(name)}")
            schema_editor.execute(
                f"CREATE INDEX {quote(name)} ON {quote(TABLE)} ({quote(column)}){where}"
            )


def lean(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    _rebuild(schema_editor, partial=True)
    schema_editor.execute(
        f"ALTER TABLE {schema_editor.quote_name(TABLE)} SET (fillfactor = {FILLFACTOR})"
    )


def plain(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(TABLE)} RESET (fillfactor)")
    _rebuild(schema_editor, partial=False)


class Migration(migrations.Migration):
    dependencies = [
        ("django_sessionmgr", "0014_last_located_at"),
    ]

    operations = [migrations.RunPython(lean, plain, elidable=False)]
