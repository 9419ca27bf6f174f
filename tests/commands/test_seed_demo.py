"""The example project's ``seed_demo``: a believable history, the same on every run."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from django_sessionmgr.models import UserSession
from example_project.demo.management.commands.seed_demo import Command

# A browser none of alice's seeded sessions used.
OPERA_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0"
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("example_project.urls")]


def picture() -> list[tuple[Any, ...]]:
    """What the demo shows, with times as hours before now."""
    now = timezone.now()
    return sorted(
        (
            row.user.get_username(),
            row.effective_status,
            row.device_summary,
            row.device_type,
            row.location_city,
            row.revoke_reason,
            round((now - row.created_at) / timedelta(hours=1)),
            round((now - row.last_activity_at) / timedelta(hours=1)),
        )
        for row in UserSession.objects.select_related("user")
    )


def live_sessions(username: str) -> int:
    """Sessions in the (db) store that are signed in as ``username``."""
    pk = str(get_user_model().objects.get(username=username).pk)
    return [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()].count(pk)


def seed_demo() -> str:
    out = StringIO()
    call_command(Command(), stdout=out)
    return out.getvalue()


def test_a_believable_history(settings):
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)

    output = seed_demo()

    assert "alice: 14 sessions, 7 of them active." in output
    alice = UserSession.objects.filter(user__username="alice")
    statuses = [row.effective_status for row in alice]
    assert 10 <= len(statuses) <= 14
    assert {"active", "ended", "expired", "revoked"} <= set(statuses)
    assert {row.device_type for row in alice} >= {"mobile", "tablet", "desktop"}
    assert len({row.location_city for row in alice}) >= 4
    assert {row.revoke_reason for row in alice} >= {"user", "password_change", "admin"}
    ages = [timezone.now() - row.created_at for row in alice]
    assert max(ages) <= timedelta(days=60) and min(ages) >= timedelta(days=1)
    assert len({row.last_activity_at for row in alice}) == len(statuses)
    # The names people recognise.
    assert {"iPhone", "iPad", "Mac"} <= {row.device_family for row in alice}
    # Beside the browsers, a phone app and a named API token.
    tokens = alice.exclude(kind="session")
    assert {(row.kind, row.name) for row in tokens} == {("jwt", ""), ("knox", "Nightly backup")}
    assert {row.location_city for row in tokens} == {"London", "Milton"}
    # The active browsers are real logins, live in the session store, placed by GeoIP.
    active = alice.filter(status="active")
    assert active.count() == UserSession.objects.active().filter(user__username="alice").count()
    assert live_sessions("alice") == active.filter(kind="session").count() == 5
    assert {row.location_city for row in active} >= {"London", "Linköping"}


def test_running_it_again_gives_the_same_picture(settings):
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)
    seed_demo()
    first = picture()

    seed_demo()

    assert picture() == first
    assert live_sessions("alice") == 5 and live_sessions("admin") == 2
    assert Session.objects.count() == 7


def test_the_demo_login_page_asks_for_client_hints(client, settings):
    settings.INSTALLED_APPS = ["example_project.demo", *settings.INSTALLED_APPS]

    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert response["Accept-CH"] == "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model"


def test_if_empty_keeps_what_the_user_changed(settings):
    """`make demo` runs it with --if-empty: a second run keeps the data as it is."""
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)
    seed_demo()
    row = UserSession.objects.active().filter(user__username="alice").first()
    row.revoke(reason="user")
    before = picture()

    out = StringIO()
    call_command(Command(), "--if-empty", stdout=out)

    assert "kept as it is" in out.getvalue()
    assert picture() == before
    assert UserSession.objects.get(pk=row.pk).status == "revoked"
    assert live_sessions("alice") == 4


def test_if_empty_seeds_an_empty_database(settings):
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)

    call_command(Command(), "--if-empty", stdout=StringIO())

    assert live_sessions("alice") == 5 and live_sessions("admin") == 2


def test_the_demo_shows_the_new_device_email_and_seeding_sends_none(
    settings, client, mailoutbox, django_capture_on_commit_callbacks
):
    """The example project turns the notice on with the console backend; seeding
    is quiet, and a login from a new browser sends alice the email."""
    from example_project import settings as example

    assert example.SESSIONMGR["NOTIFY_NEW_DEVICE"] is True
    assert example.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)
    settings.SESSIONMGR = example.SESSIONMGR

    with django_capture_on_commit_callbacks(execute=True):
        seed_demo()
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/login/",
            {"username": "alice", "password": "alice"},
            HTTP_USER_AGENT=OPERA_ON_WINDOWS,
        )

    assert response.status_code == 302
    assert [message.to for message in mailoutbox] == [["alice@example.com"]]
