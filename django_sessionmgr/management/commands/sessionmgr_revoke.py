"""``manage.py sessionmgr_revoke USERNAME [--reason TEXT]``: sign a user out everywhere."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import REASON_MAX_LENGTH, UserSession

#: ``revoke_reason`` when none is given.
COMMAND_REVOKE_REASON = "command"


def check_reason(reason: Any) -> None:
    """Refuse, with a ``CommandError``, a reason the row cannot store as given."""
    if not isinstance(reason, str):
        raise CommandError(f"--reason must be text; got {reason!r}.")
    if len(reason) > REASON_MAX_LENGTH:
        raise CommandError(
            f"--reason is {len(reason)} characters long; at most {REASON_MAX_LENGTH} are kept."
        )
    if not reason.isprintable():
        raise CommandError("--reason must be printable text, without control characters.")


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
        check_reason(reason)
        user_model = get_user_model()
        # A NUL byte would reach the database driver, which refuses it (PostgreSQL).
        if not isinstance(username, str) or not username or "\x00" in username:
            raise CommandError(f"Not a valid username: {username!r}.")
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(f"No user with username {username!r}.") from None
        count = UserSession.objects.filter(user=user).revoke(reason=reason)
        self.stdout.write(f"Revoked {count} session(s) of {user.get_username()}.")
