"""``manage.py sessionmgr_adopt [--dry-run]``: rows for sessions from before the install.

An authenticated session already in the store when the app was installed has
no row, so no revoke can reach it until its next request adopts it. This
command walks the store and gives each such session its row now, under the
same id its next request would derive (``digests.adopted_row_id``), so the
two never make two rows. Only stores that can be listed can be walked: ``db``,
``cached_db`` (through its database table) and ``file``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.contrib.sessions.backends.file import SessionStore as FileStore
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ...batches import batched
from ...digests import adopted_row_id
from ...keys import seal
from ...markers import SESSION_MARKER, from_epoch
from ...models import UserSession
from ...stores import is_server_side, store_class

BATCH_SIZE = 500


class Command(BaseCommand):
    help = "Give every authenticated session already in the store its UserSession row."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be adopted; change nothing."
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        store = store_class()
        if not is_server_side(store):
            raise CommandError(
                "The signed_cookies engine keeps sessions in the browsers, not on the server: "
                "there is nothing to list. Each session gets its row on its next request."
            )
        if issubclass(store, DBStore):
            sessions = _database_sessions(store)
        elif issubclass(store, FileStore):
            sessions = _file_sessions(store)
        else:
            raise CommandError(
                f"{store.__module__} cannot list its sessions (a cache has no way to walk "
                "its keys portably). Each session gets its row on its next request."
            )
        adopted = had_row = no_user = 0
        for items in batched(_candidates(sessions), BATCH_SIZE):
            # None: a session the app already tracks (it carries the marker).
            batch = [row for row in items if row is not None]
            had_row += len(items) - len(batch)
            existing = {
                str(pk)
                for pk in UserSession.objects.filter(pk__in=[row.pk for row in batch]).values_list(
                    "pk", flat=True
                )
            }
            users = set(
                get_user_model()
                ._default_manager.filter(pk__in={row.user_id for row in batch})
                .values_list("pk", flat=True)
            )
            new = [row for row in batch if str(row.pk) not in existing and row.user_id in users]
            had_row += sum(1 for row in batch if str(row.pk) in existing)
            no_user += sum(
                1 for row in batch if str(row.pk) not in existing and row.user_id not in users
            )
            adopted += len(new)
            if not dry_run:
                UserSession.objects.bulk_create(new, ignore_conflicts=True)
        verb = "Would adopt" if dry_run else "Adopted"
        self.stdout.write(
            f"{verb} {adopted} session(s); {had_row} already had a row"
            + (f", {no_user} belong to no user." if no_user else ".")
        )


@sensitive_variables()
def _database_sessions(store: type[DBStore]) -> Iterator[tuple[str, SessionBase]]:
    model = store.get_model_class()
    live = model.objects.filter(expire_date__gt=timezone.now())
    for key in live.values_list("session_key", flat=True).iterator(chunk_size=BATCH_SIZE):
        yield key, store(session_key=key)


@sensitive_variables()
def _file_sessions(store: type[FileStore]) -> Iterator[tuple[str, SessionBase]]:
    probe = store()
    folder, prefix = probe.storage_path, probe.file_prefix
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file() and entry.name.startswith(prefix):
                key = entry.name[len(prefix) :]
                if key:
                    yield key, store(session_key=key)


@sensitive_variables()
def _candidates(sessions: Iterator[tuple[str, SessionBase]]) -> Iterator[UserSession | None]:
    """Unsaved rows for the authenticated sessions that carry no marker yet,
    and None for each that does (the app already tracks it: it has its row).

    Sessions of users that no longer exist are counted but get no row.
    """
    user_model = get_user_model()
    for key, session in sessions:
        if SESSION_KEY not in session:
            continue
        if SESSION_MARKER in session:
            yield None
            continue
        try:
            user_pk = user_model._meta.pk.to_python(session[SESSION_KEY])
        except Exception:
            continue
        expiry = session.get_expiry_date()
        now = timezone.now()
        yield UserSession(
            id=adopted_row_id(key),
            user_id=user_pk,
            session_key=seal(key),
            created_at=now,
            last_activity_at=now,
            expires_at=from_epoch(int(expiry.timestamp())),
            adopted=True,
        )
