"""``manage.py sessionmgr_prune [--days N] [--dry-run]``: delete old finished rows.

``sessionmgr_prune --minimise-ips [--dry-run]`` instead applies a lowered
``IP_ADDRESS_STORAGE`` to the addresses rows already hold.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from ...batches import by_primary_key
from ...conf import app_settings, django_settings
from ...models import UserSession
from ...network import IP_ADDRESS_STORAGE_MODES, stored_ip
from ...stores import is_server_side, store_class

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


class Command(BaseCommand):
    help = (
        "Delete ended, expired and revoked session rows that finished more than "
        "RETENTION_DAYS (or --days) days ago. With --minimise-ips, instead truncate "
        "or remove the IP addresses of all rows as IP_ADDRESS_STORAGE says."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, help="Keep rows that finished within this many days."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be changed."
        )
        parser.add_argument(
            "--minimise-ips",
            action="store_true",
            help="Apply IP_ADDRESS_STORAGE to stored addresses instead of deleting rows.",
        )

    def handle(
        self, *args: Any, days: Any, dry_run: bool, minimise_ips: bool, **options: Any
    ) -> None:
        if minimise_ips:
            if days is not None:
                raise CommandError(
                    "--minimise-ips changes addresses and deletes nothing; "
                    "run it and --days separately."
                )
            self.minimise_ips(dry_run)
            return
        if days is None:
            setting = 'SESSIONMGR["RETENTION_DAYS"]'
            try:
                days = checked_days(app_settings.RETENTION_DAYS, setting)
            except (TypeError, ValueError, OverflowError):
                raise CommandError(f"{setting} must be a whole number of days.") from None
        else:
            days = checked_days(days, "--days")
        prunable = prunable_rows(timezone.now() - timedelta(days))
        if dry_run:
            count = prunable.count()
            self.stdout.write(f"Would delete {count} session row(s) older than {days} days.")
            return
        count = 0
        for batch in by_primary_key(prunable, size=BATCH_SIZE):
            count += UserSession.objects.filter(pk__in=[pk for (pk,) in batch]).delete()[0]
        self.stdout.write(f"Deleted {count} session row(s) older than {days} days.")

    def minimise_ips(self, dry_run: bool) -> None:
        """Rewrite each stored address as ``stored_ip`` gives it, a batch at a time."""
        mode = app_settings.IP_ADDRESS_STORAGE
        if mode not in IP_ADDRESS_STORAGE_MODES:
            raise CommandError(
                f'SESSIONMGR["IP_ADDRESS_STORAGE"] is {mode!r}; it must be '
                '"full", "truncated" or "none".'
            )
        if mode == "full":
            self.stdout.write('IP_ADDRESS_STORAGE is "full": no address to change.')
            return
        count = 0
        stored = UserSession.objects.exclude(ip_address=None)
        for rows in by_primary_key(stored, "ip_address", size=BATCH_SIZE):
            minimised = ((pk, ip, stored_ip(ip)) for pk, ip in rows)
            changed = [UserSession(pk=pk, ip_address=new) for pk, ip, new in minimised if new != ip]
            if changed and not dry_run:
                # One UPDATE per batch, each row to its own value (CASE ... WHEN).
                UserSession.objects.bulk_update(changed, ["ip_address"])
            count += len(changed)
        would, did = {"truncated": ("truncate", "Truncated"), "none": ("remove", "Removed")}[mode]
        done = f"Would {would}" if dry_run else did
        self.stdout.write(f'{done} {count} IP address(es) (IP_ADDRESS_STORAGE is "{mode}").')


def prunable_rows(cutoff: datetime) -> Any:
    """Rows that ended before ``cutoff``, but a token session's that still
    reads active (its token may still be presented). Under signed cookies, a row adopted
    for a session without a marker is kept while a cookie of that session may
    still be presented (``SESSION_COOKIE_AGE``): while it is there, no
    marker-less cookie of its user is adopted again."""
    # A token session past its end reads active until its token's next
    # request ends the token too: until then its row is all that keeps the
    # token from being adopted again as a new session.
    live_token = Q(status=UserSession.Status.ACTIVE) & ~Q(kind=UserSession.Kind.SESSION)
    rows = UserSession.objects.finished_before(cutoff).exclude(live_token)
    if is_server_side(store_class()):
        return rows
    kept_until = timezone.now() - timedelta(seconds=int(django_settings.SESSION_COOKIE_AGE))
    if kept_until >= cutoff:
        return rows
    return rows.filter(
        Q(adopted=False) | Q(pk__in=UserSession.objects.finished_before(kept_until).values("pk"))
    )
