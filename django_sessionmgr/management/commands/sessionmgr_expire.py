"""``manage.py sessionmgr_expire``: mark sessions past their expiry as expired."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...models import UserSession


class Command(BaseCommand):
    help = (
        "Mark active browser sessions whose expiry has passed as expired, in one statement. "
        "Optional: they already read as expired everywhere; this only tidies the table."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Not token sessions: their token's next request ends them, and the
        # token too. Marked expired while the token lives on, a row would be
        # pruned, and the token adopted again as a new session.
        lapsed = UserSession.objects.lapsed().filter(kind=UserSession.Kind.SESSION)
        count = lapsed.update(status=UserSession.Status.EXPIRED)
        self.stdout.write(f"Marked {count} session(s) as expired.")
