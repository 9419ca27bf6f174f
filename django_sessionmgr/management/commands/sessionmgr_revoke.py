"""``manage.py sessionmgr_revoke USERNAME [--reason TEXT]``: sign a user out everywhere."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import UserSession

#: ``revoke_reason`` when none is given.
COMMAND_REVOKE_REASON = "command"


class Command(BaseCommand):
    help = "Revoke all active sessions of one user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user's username (USERNAME_FIELD).")
        parser.add_argument(
            "--reason",
            default=COMMAND_REVOKE_REASON,
            help=f'Recorded as the revoke reason (default "{COMMAND_REVOKE_REASON}").',
        )

    def handle(self, *args: Any, username: str, reason: str, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(f"No user with username {username!r}.") from None
        count = UserSession.objects.filter(user=user).revoke(reason=reason)
        self.stdout.write(f"Revoked {count} session(s) of {user.get_username()}.")
