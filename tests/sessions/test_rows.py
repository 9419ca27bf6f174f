"""The rule "the row is active and no revoke has claimed it", read two ways
(``rows.active_and_unclaimed`` for the ORM, ``rows.row_is_active`` in raw SQL),
gives one answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from django_sessionmgr.models import UserSession
from django_sessionmgr.rows import active_and_unclaimed, end_row, row_is_active
from tests.helpers import make_row

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "goes_on"),
    [
        ({}, True),
        ({"revoke_batch": uuid.uuid4()}, False),
        ({"status": UserSession.Status.REVOKED}, False),
        ({"status": UserSession.Status.ENDED}, False),
        ({"status": UserSession.Status.EXPIRED}, False),
    ],
)
def test_the_orm_and_the_raw_read_agree(user: Any, fields: dict[str, Any], goes_on: bool) -> None:
    row = make_row(user, **fields)
    in_orm = UserSession.objects.filter(active_and_unclaimed(), pk=row.pk).exists()
    assert (in_orm, row_is_active(str(row.pk))) == (goes_on, goes_on)


def test_end_row_ends_or_expires_an_active_row_only(user: Any) -> None:
    ended, expired = make_row(user), make_row(user)
    revoked = make_row(user, status=UserSession.Status.REVOKED)
    end_row(str(ended.pk))
    end_row(str(expired.pk), UserSession.Status.EXPIRED)
    end_row(str(revoked.pk))
    ended.refresh_from_db()
    expired.refresh_from_db()
    revoked.refresh_from_db()
    assert (ended.status, ended.ended_at is not None) == (UserSession.Status.ENDED, True)
    assert (expired.status, expired.ended_at) == (UserSession.Status.EXPIRED, None)
    assert (revoked.status, revoked.ended_at) == (UserSession.Status.REVOKED, None)
