"""``manage.py sessionmgr_prune [--days N] [--dry-run]``: delete old finished rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from ...conf import app_settings
from ...models import UserSession

#: Rows deleted per statement; memory stays flat however many there are.
BATCH_SIZE = 1000
#: Longest retention accepted: 100 years. Far larger values overflow the date arithmetic.
MAX_DAYS = 36500


def checked_days(value: Any, source: str) -> int:
    """``value`` as a retention in days, or a ``CommandError`` naming ``source``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandError(f"{source} must be a whole number of days; got {value!r}.")
    if not 1 <= value <= MAX_DAYS:
        raise CommandError(
            f"{source} must be at least 1 and at most {MAX_DAYS} (100 years); got {value}."
        )
    return value


def finished_before(cutoff: Any) -> Q:
    """Rows whose session ended before ``cutoff``, dated by how it ended.

    Active rows past their expiry count as expired: their session is over too.
    """
    status = UserSession.Status
    return (
        Q(status=status.ENDED, ended_at__lt=cutoff)
        | Q(status=status.REVOKED, revoked_at__lt=cutoff)
        | Q(status__in=[status.EXPIRED, status.ACTIVE], expires_at__lt=cutoff)
    )


class Command(BaseCommand):
    help = (
        "Delete ended, expired and revoked session rows that finished more than "
        "RETENTION_DAYS (or --days) days ago."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, help="Keep rows that finished within this many days."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )

    def handle(self, *args: Any, days: Any, dry_run: bool, **options: Any) -> None:
        if days is None:
            setting = 'SESSIONMGR["RETENTION_DAYS"]'
            try:
                days = checked_days(app_settings.RETENTION_DAYS, setting)
            except (TypeError, ValueError, OverflowError):
                raise CommandError(f"{setting} must be a whole number of days.") from None
        else:
            days = checked_days(days, "--days")
        prunable = UserSession.objects.filter(finished_before(timezone.now() - timedelta(days)))
        if dry_run:
            count = prunable.count()
            self.stdout.write(f"Would delete {count} session row(s) older than {days} days.")
            return
        count = 0
        # Walk the primary key in chunks: each round reads at most BATCH_SIZE
        # ids and resumes after the last one, so the table is read once.
        last = None
        while True:
            chunk = prunable.order_by("pk")
            if last is not None:
                chunk = chunk.filter(pk__gt=last)
            pks = list(chunk.values_list("pk", flat=True)[:BATCH_SIZE])
            if not pks:
                break
            count += UserSession.objects.filter(pk__in=pks).delete()[0]
            last = pks[-1]
        self.stdout.write(f"Deleted {count} session row(s) older than {days} days.")
