"""The management commands, run through ``call_command`` against real sessions."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessionmgr.management.commands import sessionmgr_prune
from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_revoked
from tests.helpers import logged_in_client, make_row, stored_session_exists, whoami

pytestmark = pytest.mark.django_db


def run(*args: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


# sessionmgr_revoke


def test_revoke_signs_the_user_out_everywhere(engine, user, other_user):
    phone, laptop = logged_in_client(user), logged_in_client(user)
    bob = logged_in_client(other_user)
    key = phone.session.session_key
    calls: list[dict[str, Any]] = []
    session_revoked.connect(lambda sender, **kw: calls.append(kw), weak=False, dispatch_uid="c")
    try:
        output = run("sessionmgr_revoke", "alice", "--reason", "offboarding")
    finally:
        session_revoked.disconnect(dispatch_uid="c")

    assert output == "Revoked 2 session(s) of alice.\n"
    assert whoami(phone) is None
    assert whoami(laptop) is None
    assert whoami(bob) == "bob"
    if engine != "signed_cookies":
        assert not stored_session_exists(key)
    rows = UserSession.objects.filter(user=user)
    assert {(r.status, r.revoked_by, r.revoke_reason) for r in rows} == {
        ("revoked", None, "offboarding")
    }
    assert len(calls) == 1
    assert (calls[0]["count"], calls[0]["revoked_by"], calls[0]["reason"]) == (
        2,
        None,
        "offboarding",
    )


def test_revoke_default_reason_and_nothing_to_do(user):
    logged_in_client(user)
    assert run("sessionmgr_revoke", "alice") == "Revoked 1 session(s) of alice.\n"
    assert UserSession.objects.get().revoke_reason == "command"
    assert run("sessionmgr_revoke", "alice") == "Revoked 0 session(s) of alice.\n"


def test_revoke_unknown_user():
    with pytest.raises(CommandError, match="No user with username 'nobody'"):
        run("sessionmgr_revoke", "nobody")


def test_revoke_with_no_arguments_says_what_it_needs(user):
    """Not "...not both": nothing was given, so say what to give."""
    logged_in_client(user)
    with pytest.raises(CommandError) as raised:
        run("sessionmgr_revoke")
    assert str(raised.value) == (
        "Say whose sessions to revoke: a username (sessionmgr_revoke alice), "
        "or --all for every user."
    )
    with pytest.raises(CommandError, match="either a username or --all, not both"):
        run("sessionmgr_revoke", "alice", "--all")
    assert UserSession.objects.active().count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alice", "--reason", "x" * 256], "256 characters long; at most 255"),
        (["alice", "--reason", "bad\x00reason"], "printable"),
        (["alice", "--reason", "two\nlines"], "printable"),
        (["al\x00ice"], "Not a valid username"),
        ([""], "Not a valid username"),
        ([], "username"),
        (["alice", "bob"], "unrecognized arguments"),
        (["alice", "--bogus"], "unrecognized arguments"),
    ],
)
def test_revoke_refuses_bad_arguments_and_revokes_nothing(user, args, message):
    client = logged_in_client(user)
    with pytest.raises(CommandError, match=message):
        run("sessionmgr_revoke", *args)
    assert whoami(client) == "alice"
    assert not UserSession.objects.filter(status="revoked").exists()


def test_revoke_accepts_the_longest_reason(user):
    logged_in_client(user)
    assert run("sessionmgr_revoke", "alice", "--reason", "x" * 255).startswith("Revoked 1 ")
    assert UserSession.objects.get().revoke_reason == "x" * 255


# sessionmgr_prune


@pytest.fixture
def aged(user: Any) -> dict[str, UserSession]:
    """One row of each kind, either finished long ago or recently."""
    now = timezone.now()
    old, recent = now - timedelta(days=100), now - timedelta(days=10)
    return {
        "ended_old": make_row(user, status="ended", ended_at=old),
        "ended_recent": make_row(user, status="ended", ended_at=recent),
        # Dated by when it was revoked, not when it would have expired.
        "revoked_old": make_row(user, status="revoked", revoked_at=old, expires_at=recent),
        "revoked_recent": make_row(user, status="revoked", revoked_at=recent, expires_at=old),
        "expired_old": make_row(user, status="expired", expires_at=old),
        "expired_recent": make_row(user, status="expired", expires_at=recent),
        "lapsed_old": make_row(user, status="active", expires_at=old),
        "lapsed_recent": make_row(user, status="active", expires_at=recent),
        "active_old_login": make_row(user, created_at=old),
    }


def remaining() -> set[Any]:
    return set(UserSession.objects.values_list("pk", flat=True))


def test_prune_deletes_rows_finished_before_retention(aged):
    output = run("sessionmgr_prune")
    assert output == "Deleted 4 session row(s) older than 90 days.\n"
    kept = {name for name, r in aged.items() if r.pk in remaining()}
    assert kept == {
        "ended_recent",
        "revoked_recent",
        "expired_recent",
        "lapsed_recent",
        "active_old_login",
    }


def test_prune_days_option_and_setting(aged):
    with override_settings(SESSIONMGR={"RETENTION_DAYS": 200}):
        assert run("sessionmgr_prune") == "Deleted 0 session row(s) older than 200 days.\n"
    assert run("sessionmgr_prune", "--days", "5") == "Deleted 8 session row(s) older than 5 days.\n"
    assert remaining() == {aged["active_old_login"].pk}


def test_prune_dry_run_changes_nothing(aged):
    before = remaining()
    assert run("sessionmgr_prune", "--dry-run") == (
        "Would delete 4 session row(s) older than 90 days.\n"
    )
    assert remaining() == before


@pytest.mark.parametrize("days", ["0", "-3", "36501", "1000000", str(10**30)])
def test_prune_days_out_of_range(aged, days):
    # 1000000 used to die in the date arithmetic with an OverflowError traceback.
    with pytest.raises(CommandError, match=r"--days must be at least 1 and at most 36500"):
        run("sessionmgr_prune", "--days", days)
    assert len(remaining()) == len(aged)


@pytest.mark.parametrize("days", ["many", "1.5", "", "0x10"])
def test_prune_rejects_a_non_number(aged, days):
    with pytest.raises(CommandError, match="--days"):
        run("sessionmgr_prune", "--days", days)
    assert len(remaining()) == len(aged)


@pytest.mark.parametrize("days", [-1, 10**6, "7", 2.5, True])
def test_prune_days_checked_when_passed_from_python(aged, days):
    # call_command(days=...) skips argparse, so handle() checks the value itself.
    with pytest.raises(CommandError, match="--days must be"):
        call_command("sessionmgr_prune", days=days, stdout=StringIO())
    assert len(remaining()) == len(aged)


@pytest.mark.parametrize("retention", [0, -5, 10**6, "ninety", None])
def test_prune_refuses_a_bad_retention_setting(aged, retention):
    with (
        override_settings(SESSIONMGR={"RETENTION_DAYS": retention}),
        pytest.raises(CommandError, match=r'RETENTION_DAYS"\] must be'),
    ):
        run("sessionmgr_prune")
    assert len(remaining()) == len(aged)


def test_prune_longest_retention_runs(aged):
    assert run("sessionmgr_prune", "--days", "36500") == (
        "Deleted 0 session row(s) older than 36500 days.\n"
    )


def test_expire_takes_no_arguments():
    with pytest.raises(CommandError, match="unrecognized arguments"):
        run("sessionmgr_expire", "--days", "3")


def test_prune_works_in_batches(user, monkeypatch):
    monkeypatch.setattr(sessionmgr_prune, "BATCH_SIZE", 7)
    old = timezone.now() - timedelta(days=100)
    UserSession.objects.bulk_create(
        UserSession(user=user, status="ended", ended_at=old, expires_at=old) for _ in range(30)
    )
    keep = make_row(user)
    with CaptureQueriesContext(connection) as captured:
        assert run("sessionmgr_prune") == "Deleted 30 session row(s) older than 90 days.\n"
    deletes = [q for q in captured if q["sql"].startswith("DELETE")]
    assert len(deletes) == 5  # 7 + 7 + 7 + 7 + 2
    assert remaining() == {keep.pk}


def test_pruning_a_lapsed_row_does_not_revive_its_session(user):
    client = logged_in_client(user)
    UserSession.objects.update(expires_at=timezone.now() - timedelta(days=100))
    run("sessionmgr_prune")
    assert not UserSession.objects.exists()
    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert whoami(client) is None


# sessionmgr_expire


def test_expire_marks_lapsed_rows_in_one_statement(user):
    now = timezone.now()
    lapsed = [make_row(user, expires_at=now - timedelta(minutes=i + 1)) for i in range(3)]
    live = make_row(user)
    ended = make_row(user, status="ended", ended_at=now, expires_at=now - timedelta(days=1))

    with CaptureQueriesContext(connection) as captured:
        assert run("sessionmgr_expire") == "Marked 3 session(s) as expired.\n"

    assert len(captured) == 1
    assert set(UserSession.objects.filter(status="expired").values_list("pk", flat=True)) == {
        r.pk for r in lapsed
    }
    live.refresh_from_db()
    ended.refresh_from_db()
    assert (live.status, ended.status) == ("active", "ended")
    assert run("sessionmgr_expire") == "Marked 0 session(s) as expired.\n"
