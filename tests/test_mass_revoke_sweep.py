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

from .helpers import logged_in_client, whoami

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
