"""A revoke never answers success while a session it was asked to end is held by
another revoke it did not finish, however many revokes are pending."""

from __future__ import annotations

import uuid

import pytest

from django_sessionmgr.models import PendingRevoke, UserSession
from tests.helpers import logged_in_client, row_of, whoami


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ["db"], indirect=True)
def test_a_revoke_never_reports_success_while_a_pending_revoke_holds_the_session(engine, user):
    """>FINISH_AT_ONCE interrupted revokes are pending (killed workers). The
    one holding the victim's session is not among the 100 finished: the
    user's revoke answers success (count 0 / 204) and the session is served."""
    # 100 fresh bare pending records (revokes in flight / killed before claim)
    for _ in range(100):
        PendingRevoke.objects.create(batch=uuid.uuid4())
    thief = logged_in_client(user, ip="203.0.113.66")
    held = uuid.uuid4()
    PendingRevoke.objects.create(batch=held)
    UserSession.objects.filter(pk=row_of(thief).pk).update(revoke_batch=held, revoke_reason="x")
    # The owner signs out all others / staff revokes this session
    count = UserSession.objects.filter(user=user).revoke()
    assert whoami(thief) is None, f"served after revoke returned {count} without error"


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ["db"], indirect=True)
def test_revoke_all_never_reports_success_while_a_pending_revoke_holds_a_session(
    engine, user, capsys
):
    from django.core.management import call_command

    thief = logged_in_client(user, ip="203.0.113.66")
    for _ in range(100):
        b = uuid.uuid4()
        PendingRevoke.objects.create(batch=b)  # 100 killed revokes of other rows
    held = uuid.uuid4()
    PendingRevoke.objects.create(batch=held)
    UserSession.objects.filter(pk=row_of(thief).pk).update(revoke_batch=held, revoke_reason="x")
    call_command("sessionmgr_revoke", "--all")
    assert whoami(thief) is None, "served after sessionmgr_revoke --all reported success"
