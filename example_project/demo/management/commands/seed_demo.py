"""Create the demo accounts and give alice sessions on several devices."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client
from django.urls import reverse

from django_sessionmgr.models import UserSession

# (user agent, client IP): each IP is in MaxMind's GeoIP test databases.
DEVICES = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "81.2.69.142",  # London
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
        "89.160.20.112",  # Linköping
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "175.16.199.1",  # Changchun
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "2.125.160.216",  # Boxford
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "81.2.69.142",  # London
    ),
]


class Command(BaseCommand):
    help = "Create admin/admin and alice/alice, and sign alice in from several devices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Add alice's device sessions even if she already has active ones.",
        )

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        self.ensure_user("admin", superuser=True)
        alice = self.ensure_user("alice", superuser=False)

        active = UserSession.objects.active().filter(user=alice).count()
        if active and not force:
            self.stdout.write(
                f"alice already has {active} active sessions; not adding more (use --force)."
            )
            return

        for user_agent, ip in DEVICES:
            self.log_in(alice, user_agent, ip)
        created = UserSession.objects.active().filter(user=alice).count() - active
        self.stdout.write(
            self.style.SUCCESS(f"Created {created} sessions for alice from {len(DEVICES)} devices.")
        )

    def ensure_user(self, username: str, *, superuser: bool) -> User:
        """The user, with password = username; created if missing."""
        user: User
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"is_staff": superuser, "is_superuser": superuser},
        )
        if created or not user.check_password(username):
            user.set_password(username)
            user.save()
            self.stdout.write(f"User {username}/{username} is ready.")
        else:
            self.stdout.write(f"User {username}/{username} already exists.")
        return user

    def log_in(self, user: User, user_agent: str, ip: str) -> None:
        # A real POST to the login view, so the request carries the device's
        # user agent and address (Client.login() builds a bare request).
        client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip, SERVER_NAME="localhost")
        response = client.post(
            reverse("login"), {"username": user.get_username(), "password": user.get_username()}
        )
        if response.status_code != 302:
            raise CommandError(f"Logging in from {ip} failed: HTTP {response.status_code}")
