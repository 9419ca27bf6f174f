"""``manage.py sessionmgr_adopt_tokens [--dry-run]``: rows for tokens from before the install.

A DRF, knox or simplejwt token made before the app was installed has no row: no revoke
reaches it until its first request through the app's authentication class
adopts it. This command gives each such token its row now (``adopted``,
unknown device), in bounded memory, printing how many.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import UserSession
from ...tokens.adoption import adopt_tokens


class Command(BaseCommand):
    help = "Give every DRF, knox and simplejwt token made before the install its UserSession row."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be adopted; change nothing."
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        packages = []
        if apps.is_installed("rest_framework.authtoken"):
            # The adapters import their package's models: only once it is installed.
            from ...tokens import drf

            packages.append((UserSession.Kind.DRF_TOKEN, "DRF", drf.existing_tokens))
        if apps.is_installed("knox"):
            from ...tokens import knox

            packages.append((UserSession.Kind.KNOX, "knox", knox.existing_tokens))
        if apps.is_installed("rest_framework_simplejwt.token_blacklist"):
            from ...tokens import jwt_families

            packages.append((UserSession.Kind.JWT, "simplejwt", jwt_families.existing_tokens))
        if not packages:
            raise CommandError(
                "None of rest_framework.authtoken, knox and "
                "rest_framework_simplejwt.token_blacklist is in INSTALLED_APPS: "
                "there are no tokens to adopt."
            )
        for kind, name, tokens in packages:
            adopted, had_row = adopt_tokens(kind, tokens(), dry_run=dry_run)
            verb = "Would adopt" if dry_run else "Adopted"
            self.stdout.write(f"{name}: {verb} {adopted} token(s); {had_row} already had a row.")
