"""Create the demo accounts and give each a believable history of sessions.

Every run gives the same picture: the demo users' rows are revoked (so their
stored sessions go) and deleted, then seeded again, at the same distances
from now. With ``--if-empty`` (what ``make demo`` runs) a database that
already has the demo users is left as it is, with whatever was changed in it;
``make demo-reset`` seeds again. Active sessions are real logins, so they are live in the session
store and can be revoked; the history is written straight to the table.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from django_sessionmgr.devices import parse_user_agent
from django_sessionmgr.models import UserSession
from django_sessionmgr.tokens.core import start_token_session

MAC_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
PIXEL = (
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36"
)
GALAXY_TAB = (
    "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
WINDOWS_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.68"
)
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
UBUNTU_FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
CHROMEBOOK = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)

# Addresses that MaxMind's GeoIP test databases place, with what they say.
LONDON = ("81.2.69.142", "London", "GB")
BOXFORD = ("2.125.160.216", "Boxford", "GB")
LINKOPING = ("89.160.20.112", "Linköping", "SE")
MILTON = ("216.160.83.56", "Milton", "US")
SAN_DIEGO = ("2001:480::1", "San Diego", "US")
CHANGCHUN = ("175.16.199.1", "Changchun", "CN")


@dataclass(frozen=True)
class Seed:
    """One session: its device, where from, and its ages in hours before now."""

    user_agent: str
    place: tuple[str, str, str]
    signed_in: float
    last_active: float
    status: str = UserSession.Status.ACTIVE
    #: For history: hours ago it ended, and why (revoked rows).
    ended: float = 0
    reason: str = ""
    #: Revoked by the demo admin rather than by the user or the system.
    by_admin: bool = False
    #: User-Agent Client Hints the browser sent: ``(platform, platform version)``.
    hints: tuple[str, str] | None = None
    #: A token session's kind (an app or API client), and the name its user gave it.
    kind: str = UserSession.Kind.SESSION
    name: str = ""
    #: A theft signal found on the session (see docs/anomalies.md), and where
    #: the session was last seen when it differs from where it signed in.
    flag: str = ""
    last_place: tuple[str, str, str] | None = None

    def hint_headers(self) -> dict[str, str]:
        if self.hints is None:
            return {}
        platform, version = self.hints
        return {"Sec-CH-UA-Platform": f'"{platform}"', "Sec-CH-UA-Platform-Version": f'"{version}"'}


WINDOWS_11 = ("Windows", "15.0.0")
MACOS_15 = ("macOS", "15.1.0")

ACTIVE = UserSession.Status.ACTIVE
ENDED = UserSession.Status.ENDED
EXPIRED = UserSession.Status.EXPIRED
REVOKED = UserSession.Status.REVOKED

#: A script calling the API, and a phone app signed in with simplejwt.
API_SCRIPT = "python-requests/2.32.3"

# About twelve sessions over sixty days: phone, tablet, laptop and desktop,
# and two token sessions: a phone app and a script with an API token.
HISTORY = [
    Seed(IPHONE, LONDON, signed_in=5 * 24, last_active=0.3, kind=UserSession.Kind.JWT),
    Seed(
        API_SCRIPT,
        MILTON,
        signed_in=18 * 24,
        last_active=7,
        kind=UserSession.Kind.KNOX,
        name="Nightly backup",
    ),
    Seed(MAC_CHROME, LONDON, signed_in=3 * 24 + 2, last_active=0.05, hints=MACOS_15),
    Seed(IPHONE, LONDON, signed_in=9 * 24, last_active=0.4),
    Seed(WINDOWS_EDGE, LINKOPING, signed_in=12 * 24 + 5, last_active=5, hints=WINDOWS_11),
    Seed(IPAD, BOXFORD, signed_in=20 * 24, last_active=2 * 24 + 3),
    # Someone else used this session from China: the page flags it.
    Seed(
        PIXEL,
        MILTON,
        signed_in=6 * 24 + 7,
        last_active=3 * 24 + 1,
        flag="impossible_travel",
        last_place=CHANGCHUN,
    ),
    Seed(MAC_SAFARI, LONDON, 15 * 24, 14 * 24, ENDED, ended=14 * 24),
    Seed(WINDOWS_FIREFOX, CHANGCHUN, 34 * 24, 34 * 24 - 1, REVOKED, 33 * 24 + 20, "user"),
    Seed(IPHONE, LONDON, 41 * 24, 40 * 24, REVOKED, 40 * 24, "password_change"),
    Seed(UBUNTU_FIREFOX, SAN_DIEGO, 50 * 24, 49 * 24, REVOKED, 48 * 24, "admin", by_admin=True),
    Seed(GALAXY_TAB, BOXFORD, 27 * 24, 26 * 24, EXPIRED, ended=12 * 24),
    Seed(CHROMEBOOK, MILTON, 58 * 24, 57 * 24, EXPIRED, ended=43 * 24),
    Seed(WINDOWS_EDGE, LINKOPING, 46 * 24, 45 * 24 + 2, ENDED, 45 * 24 + 2, hints=WINDOWS_11),
]
# The admin's own, shorter history: a work desktop, a laptop and a phone.
ADMIN_HISTORY = [
    Seed(WINDOWS_EDGE, LINKOPING, signed_in=2 * 24, last_active=1, hints=WINDOWS_11),
    Seed(PIXEL, LINKOPING, signed_in=11 * 24, last_active=26),
    Seed(MAC_CHROME, LONDON, 21 * 24, 20 * 24, ENDED, ended=20 * 24, hints=MACOS_15),
    Seed(UBUNTU_FIREFOX, SAN_DIEGO, 38 * 24, 30 * 24, EXPIRED, ended=24 * 24),
    Seed(IPHONE, BOXFORD, 55 * 24, 54 * 24, REVOKED, 53 * 24, "password_change"),
]


class Command(BaseCommand):
    help = (
        "Create admin/admin and alice/alice with about two months of sessions "
        "on phones, tablets, laptops and desktops. Re-running resets them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when the demo users do not exist yet; otherwise keep the data.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        usernames = ("admin", "alice")
        if options["if_empty"] and get_user_model().objects.filter(username__in=usernames).exists():
            self.stdout.write(
                "The demo data is already there and is kept as it is "
                "(`make demo-reset` seeds it again)."
            )
            return
        admin = self.ensure_user("admin", superuser=True)
        alice = self.ensure_user("alice", superuser=False)
        now = timezone.now()
        # The seeded logins are not news: no new-device email and no theft
        # signal for them (the example project sends one for every real login
        # from a new browser); the history says which session is flagged.
        quiet = {
            **getattr(settings, "SESSIONMGR", {}),
            "NOTIFY_NEW_DEVICE": False,
            "ANOMALY_DETECTION": False,
        }
        with override_settings(SESSIONMGR=quiet):
            self.seed_all(((alice, HISTORY), (admin, ADMIN_HISTORY)), now, admin)

    def seed_all(
        self, histories: tuple[tuple[User, list[Seed]], ...], now: datetime, admin: User
    ) -> None:
        for user, history in histories:
            self.reset(user)
            for seed in history:
                self.seed(user, seed, now, admin)
            active = UserSession.objects.active().filter(user=user).count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"{user.get_username()}: {len(history)} sessions, {active} of them active."
                )
            )

    def ensure_user(self, username: str, *, superuser: bool) -> User:
        """The user, with password = username; created if missing."""
        user: User
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={
                "is_staff": superuser,
                "is_superuser": superuser,
                # An address, so a login from a new browser sends the email.
                "email": f"{username}@example.com",
            },
        )
        if created or not user.check_password(username):
            user.set_password(username)
            user.save()
        return user

    def reset(self, user: User) -> None:
        """Sign the user out everywhere and forget their rows."""
        rows = UserSession.objects.filter(user=user)
        # Revoking ends the stored sessions too, whatever the session engine.
        rows.revoke(reason="demo_reset")
        rows.delete()

    def seed(self, user: User, seed: Seed, now: datetime, admin: User) -> None:
        ip, city, country = seed.place
        created_at = now - timedelta(hours=seed.signed_in)
        last_activity_at = now - timedelta(hours=seed.last_active)
        if seed.status == ACTIVE:
            # A real login, so the session is live in the store (a token
            # session: a row as its package's login would make it, for a token
            # the demo never hands out); then back-date it.
            if seed.kind == UserSession.Kind.SESSION:
                row_id = self.log_in(user, seed, ip)
            else:
                row_id = self.token_login(user, seed, ip)
            UserSession.objects.filter(pk=row_id).update(
                created_at=created_at, last_activity_at=last_activity_at, name=seed.name
            )
            if seed.flag and seed.last_place is not None:
                _, last_city, last_country = seed.last_place
                UserSession.objects.filter(pk=row_id).update(
                    flagged_at=last_activity_at,
                    flag_reason=seed.flag,
                    last_ip_address=seed.last_place[0],
                    last_location_city=last_city,
                    last_location_country=last_country,
                )
            return
        device = parse_user_agent(seed.user_agent, hints=seed.hint_headers())
        ended_at = now - timedelta(hours=seed.ended)
        UserSession.objects.create(
            user=user,
            status=seed.status,
            ip_address=ip,
            user_agent=seed.user_agent,
            device_browser=device.browser,
            device_os=device.os,
            device_family=device.device,
            device_type=device.type,
            location_city=city,
            location_country=country,
            created_at=created_at,
            last_activity_at=last_activity_at,
            # Django's default two weeks, or when the session ran out.
            expires_at=ended_at if seed.status == EXPIRED else created_at + timedelta(days=14),
            ended_at=ended_at if seed.status == ENDED else None,
            revoked_at=ended_at if seed.status == REVOKED else None,
            revoked_by=(admin if seed.by_admin else user if seed.reason == "user" else None),
            revoke_reason=seed.reason,
        )

    def token_login(self, user: User, seed: Seed, ip: str) -> str:
        """The row a token package's login makes, from the seed's device."""
        request = RequestFactory().post(
            "/api/token/", HTTP_USER_AGENT=seed.user_agent, REMOTE_ADDR=ip
        )
        # An app's refresh token lasts a month; an API token has no end of its own.
        lasts = timedelta(days=30) if seed.kind == UserSession.Kind.JWT else None
        ends = timezone.now() + lasts if lasts else None
        row = start_token_session(request, user, seed.kind, secrets.token_urlsafe(32), ends)
        if row is None:
            raise CommandError(f"Recording a {seed.kind} session from {ip} failed")
        return str(row.pk)

    def log_in(self, user: User, seed: Seed, ip: str) -> str:
        """Sign in through the real login view; return the new row's id."""
        # A real POST, so the request carries the device's user agent and
        # address (Client.login() builds a bare request).
        before = set(UserSession.objects.filter(user=user).values_list("pk", flat=True))
        client = Client(
            HTTP_USER_AGENT=seed.user_agent,
            REMOTE_ADDR=ip,
            SERVER_NAME="localhost",
            headers=seed.hint_headers(),
        )
        response = client.post(
            reverse("login"), {"username": user.get_username(), "password": user.get_username()}
        )
        if response.status_code != 302:
            raise CommandError(f"Logging in from {ip} failed: HTTP {response.status_code}")
        (row_id,) = set(UserSession.objects.filter(user=user).values_list("pk", flat=True)) - before
        return str(row_id)
