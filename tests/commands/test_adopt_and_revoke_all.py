"""``sessionmgr_adopt``, ``sessionmgr_revoke --all`` and the W002 check."""

from __future__ import annotations

from importlib import import_module
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.test import override_settings
from django.urls import path

from django_sessionmgr.models import UserSession
from tests.helpers import logged_in_client, make_client, whoami
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def revoke_everyone(request: HttpRequest) -> JsonResponse:
    out = StringIO()
    call_command("sessionmgr_revoke", "--all", stdout=out)
    return JsonResponse({"out": out.getvalue(), "user": request.user.get_username() or None})


urlpatterns = [path("revoke-everyone/", revoke_everyone), *project_urlpatterns]


def pre_install_session(user: Any) -> str:
    """A session stock Django signed in before the app was installed."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    key: str = session.session_key
    return key


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["db", "cached_db", "file"])
def test_adopt_gives_pre_install_sessions_their_rows(
    name: str, user: Any, other_user: Any, settings: Any, request: pytest.FixtureRequest
) -> None:
    if name == "file":
        # A folder of this test's own: the store keeps the first one it saw,
        # and an earlier test's sessions would be counted here.
        request.getfixturevalue("session_folder")
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{name}"
    keys = [pre_install_session(user), pre_install_session(other_user)]
    logged_in_client(user)  # already has its row
    anonymous = import_module(settings.SESSION_ENGINE).SessionStore()
    anonymous["cart"] = [1]
    anonymous.save()

    # The tracked session counts as having its row (it did: it was not counted).
    assert run("sessionmgr_adopt", "--dry-run") == (
        "Would adopt 2 session(s); 1 already had a row.\n"
    )
    assert UserSession.objects.count() == 1
    assert run("sessionmgr_adopt") == "Adopted 2 session(s); 1 already had a row.\n"
    assert UserSession.objects.count() == 3
    assert run("sessionmgr_adopt") == "Adopted 0 session(s); 3 already had a row.\n"

    # The next request of an adopted session maps to the same row...
    client = make_client()
    client.cookies[settings.SESSION_COOKIE_NAME] = keys[0]
    assert whoami(client) == "alice"
    assert UserSession.objects.count() == 3
    # ...and a revoke reaches it before it ever made a request.
    assert UserSession.objects.filter(user=other_user).revoke() == 1
    client = make_client()
    client.cookies[settings.SESSION_COOKIE_NAME] = keys[1]
    assert whoami(client) is None


@pytest.mark.parametrize("name", ["db", "cached_db"])
def test_adopt_counts_tracked_sessions_and_those_of_deleted_users(
    name: str, user: Any, other_user: Any, django_user_model: Any, settings: Any
) -> None:
    """Three tracked sessions are three that already had a row; a session whose
    user is gone is counted apart."""
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{name}"
    for _ in range(3):
        logged_in_client(user)
    gone = django_user_model.objects.create_user("gone")
    pre_install_session(gone)
    gone_pk = gone.pk
    gone.delete()
    pre_install_session(other_user)
    assert not django_user_model.objects.filter(pk=gone_pk).exists()

    assert run("sessionmgr_adopt") == (
        "Adopted 1 session(s); 3 already had a row, 1 belong to no user.\n"
    )


@pytest.mark.parametrize("name", ["cache", "signed_cookies"])
def test_adopt_says_why_it_cannot_list_the_store(name: str, settings: Any) -> None:
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{name}"
    with pytest.raises(CommandError, match="next request"):
        call_command("sessionmgr_adopt")


def test_revoke_all_signs_everyone_out_in_batches(engine: str, user: Any, other_user: Any) -> None:
    clients = [logged_in_client(u) for u in (user, other_user, user)]
    output = run("sessionmgr_revoke", "--all", "--batch-size", "2", "--reason", "breach")

    assert "Revoked 2 of 3" in output
    assert output.rstrip().endswith("Revoked 3 session(s) of every user.")
    assert [whoami(client) for client in clients] == [None, None, None]
    assert set(UserSession.objects.values_list("revoke_reason", flat=True)) == {"breach"}
    # Resumable: a second run finds nothing left.
    assert "Revoked 0 session(s)" in run("sessionmgr_revoke", "--all")


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("alice", "--all"),
        ("--all", "--batch-size", "0"),
        ("--all", "--workers", "0"),
        ("--all", "--workers", "17"),
        ("alice", "--workers", "2"),
    ],
    ids=str,
)
def test_revoke_refuses_bad_arguments(args: tuple[str, ...], user: Any) -> None:
    with pytest.raises(CommandError):
        call_command("sessionmgr_revoke", *args)
    assert UserSession.objects.filter(status=UserSession.Status.REVOKED).count() == 0


@pytest.mark.django_db(transaction=True)
def test_revoke_all_with_workers_reaches_every_stretch(user: Any, other_user: Any) -> None:
    """Each worker revokes its stretch of the table on its own connection."""
    clients = [logged_in_client(u) for u in (user, other_user) * 4]
    args = ("sessionmgr_revoke", "--all", "--workers", "3", "--batch-size", "2")
    if connection.vendor == "sqlite":
        with pytest.raises(CommandError, match="one writer at a time"):
            call_command(*args)
        assert all(whoami(client) for client in clients)
        return
    output = run(*args)

    assert output.rstrip().endswith("Revoked 8 session(s) of every user.")
    assert output.count("session(s)...") >= 4  # batches of at most 2
    assert [whoami(client) for client in clients] == [None] * 8
    assert not UserSession.objects.filter(status=UserSession.Status.ACTIVE).exists()


def test_revoke_all_from_a_request_spares_that_request(user: Any, other_user: Any) -> None:
    me = logged_in_client(user)
    other = logged_in_client(other_user)
    response = me.get("/revoke-everyone/").json()

    assert "Revoked 1 session(s)" in response["out"]
    assert whoami(other) is None
    assert whoami(me) == "alice"


@pytest.mark.parametrize(
    ("engine_name", "backend", "expected"),
    [
        ("cache", "django.core.cache.backends.locmem.LocMemCache", ["django_sessionmgr.W002"]),
        ("cached_db", "django.core.cache.backends.locmem.LocMemCache", ["django_sessionmgr.W002"]),
        ("cache", "django.core.cache.backends.redis.RedisCache", []),
        ("db", "django.core.cache.backends.locmem.LocMemCache", []),
    ],
)
def test_a_process_local_session_cache_is_a_warning(
    engine_name: str, backend: str, expected: list[str]
) -> None:
    with override_settings(
        SESSION_ENGINE=f"django.contrib.sessions.backends.{engine_name}",
        CACHES={"default": {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:1"}},
    ):
        ids = [m.id for m in run_checks() if (m.id or "").startswith("django_sessionmgr.")]
    assert ids == expected
