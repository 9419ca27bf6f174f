"""Two first uses of one token from before the install, at the same moment
(an app firing its requests in parallel as it starts): one row, not two."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models.signals import pre_save
from django.test import RequestFactory

from django_sessionmgr.models import UserSession
from django_sessionmgr.tokens.core import token_used

KNOX = UserSession.Kind.KNOX

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite takes one writer at a time"),
]


def test_two_first_uses_at_once_adopt_the_token_as_one_row(user: Any) -> None:
    token = secrets.token_hex(20)
    both_read = threading.Barrier(2, timeout=10)

    def after_both_read(sender: Any, instance: UserSession, **kwargs: Any) -> None:
        # Each first use has looked for the token's row and found none.
        both_read.wait()

    rows: list[str | None] = []

    def first_use() -> None:
        try:
            request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
            rows.append(token_used(request, KNOX, token, user=user))
        finally:
            connections.close_all()

    pre_save.connect(after_both_read, sender=UserSession, dispatch_uid="tests.race")
    try:
        threads = [threading.Thread(target=first_use) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        pre_save.disconnect(dispatch_uid="tests.race")

    assert UserSession.objects.filter(kind=KNOX).count() == 1
    (row,) = UserSession.objects.filter(kind=KNOX)
    assert row.adopted and rows == [str(row.pk), str(row.pk)]
