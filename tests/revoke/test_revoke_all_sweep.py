"""``sessionmgr_revoke --all`` walks the table in login order and still misses nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_revoked
from tests.helpers import logged_in_client, whoami

pytestmark = pytest.mark.django_db


def test_a_session_started_behind_the_sweep_is_revoked_too(user: Any, other_user: Any) -> None:
    clients = [logged_in_client(u) for u in (user, other_user, user, other_user)]
    started: list[UserSession] = []

    def log_in_behind_the_sweep(sender: Any, **kwargs: Any) -> None:
        # A session that turns up during the run behind the sweep (the
        # sweep goes in login order): adopted, or a clock set back.
        if not started:
            client = logged_in_client(other_user)
            row = UserSession.objects.filter(user=other_user).order_by("-created_at")[0]
            UserSession.objects.filter(pk=row.pk).update(
                id=uuid.UUID(int=0), created_at=timezone.now() - timedelta(days=365)
            )
            started.append(row)
            clients.append(client)

    session_revoked.connect(log_in_behind_the_sweep, dispatch_uid="test-behind-the-sweep")
    try:
        out = StringIO()
        call_command("sessionmgr_revoke", "--all", "--batch-size", "1", stdout=out)
    finally:
        session_revoked.disconnect(dispatch_uid="test-behind-the-sweep")

    assert started
    assert out.getvalue().rstrip().endswith("Revoked 5 session(s) of every user.")
    assert not UserSession.objects.filter(status=UserSession.Status.ACTIVE).exists()
    assert UserSession.objects.get(pk=uuid.UUID(int=0)).status == UserSession.Status.REVOKED
    assert [whoami(client) for client in clients] == [None] * 5


def test_a_store_that_fails_stops_the_sweep_and_a_rerun_finishes_it(
    session_folder: Any, user: Any, other_user: Any
) -> None:
    from django.core.management.base import CommandError

    from tests.helpers import read_only

    clients = [logged_in_client(u) for u in (user, other_user, user)]
    read_only(session_folder, True)
    try:
        with pytest.raises(CommandError, match="run the command again"):
            call_command("sessionmgr_revoke", "--all", "--batch-size", "2", stdout=StringIO())
    finally:
        read_only(session_folder, False)
    # Nothing the failed batch touched stays revoked while its session lives.
    assert all(whoami(client) for client in clients)
    assert UserSession.objects.filter(status=UserSession.Status.ACTIVE).count() == 3

    out = StringIO()
    call_command("sessionmgr_revoke", "--all", stdout=out)
    assert out.getvalue().rstrip().endswith("Revoked 3 session(s) of every user.")
    assert [whoami(client) for client in clients] == [None] * 3


def test_the_workers_stretches_cover_the_table_in_login_order(user: Any) -> None:
    """Where W stretches meet: in order, about even, and together every row."""
    from django_sessionmgr.management.commands.sessionmgr_revoke import _stretches, _until

    start = timezone.now() - timedelta(days=1)
    rows = UserSession.objects.bulk_create(
        UserSession(
            user=user, created_at=start + timedelta(minutes=i), expires_at=start + timedelta(days=2)
        )
        for i in range(10)
    )
    active = UserSession.objects.filter(status=UserSession.Status.ACTIVE)

    assert _stretches(active, 1) == [None, None]
    bounds = _stretches(active, 3)
    assert bounds[0] is None and bounds[-1] is None and len(bounds) == 4
    ordered = sorted(rows, key=lambda row: (row.created_at, row.pk))
    assert bounds[1:3] == [(ordered[i].created_at, ordered[i].pk) for i in (2, 5)]
    assert _until(active, bounds[1]).count() == 3
    assert _until(active, bounds[2]).count() == 6
    # Fewer rows than workers: no empty stretch.
    assert _stretches(active.filter(pk=ordered[0].pk), 3) == [None, None]
