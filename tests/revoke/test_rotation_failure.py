"""A key rotation whose row cannot learn the new key (the database fails for
the app's write) fails closed: a key no row holds is out of every revoke's
reach, so it is not kept. A new expiry alone goes on without its write."""

from __future__ import annotations

from typing import Any

import pytest

from django_sessionmgr.models import UserSession
from tests.helpers import failing, logged_in_client, whoami

pytestmark = pytest.mark.django_db(transaction=True)  # a trigger is DDL: MariaDB commits it

TABLE = UserSession._meta.db_table


def test_a_new_key_the_row_cannot_learn_is_not_kept(user: Any, server_engine: str) -> None:
    client = logged_in_client(user)

    with failing(TABLE, "UPDATE"):
        response = client.get("/rotate/")

    assert response.status_code == 200  # the app's failure never fails the response
    assert whoami(client) is None  # signed out: the new key was not kept


def test_a_new_expiry_the_row_cannot_learn_goes_on(user: Any, server_engine: str) -> None:
    client = logged_in_client(user)

    with failing(TABLE, "UPDATE"):
        response = client.get("/set-expiry/?seconds=7200")

    assert response.status_code == 200
    assert whoami(client) == user.get_username()
