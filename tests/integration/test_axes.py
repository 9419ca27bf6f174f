"""django-axes (AxesBackend) with the app installed: run by ``make test-integration``."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.test import Client

from django_sessionmgr.models import UserSession
from tests.helpers import (
    PASSWORD,
    assert_one_row_following,
    assert_password_change_revokes_others,
    assert_revoke_ends,
    assert_rotation_followed,
    logged_in_client,
    make_client,
    whoami,
    without_sessionmgr,
)

pytestmark = pytest.mark.django_db


def attempt(client: Client, user: Any, password: str) -> int:
    response = client.post(
        "/accounts/login/", {"username": user.get_username(), "password": password}
    )
    return response.status_code


def lockout(user: Any) -> list[int]:
    """Three wrong passwords, then the right one, then a reset and the right one again."""
    client = make_client()
    answers = [attempt(client, user, "wrong") for _ in range(3)]
    answers.append(attempt(client, user, PASSWORD))
    answers.append(int(whoami(client) is not None))
    reset(username=user.get_username())
    answers.append(attempt(client, user, PASSWORD))
    answers.append(int(whoami(client) is not None))
    return answers


def test_lockout_then_a_successful_login_makes_one_row(user):
    client = make_client()
    assert [attempt(client, user, "wrong") for _ in range(3)] == [200, 200, 429]
    assert attempt(client, user, PASSWORD) == 429
    assert whoami(client) is None
    assert not UserSession.objects.filter(user=user).exists()
    reset(username=user.get_username())
    assert attempt(client, user, PASSWORD) == 302
    assert whoami(client) == user.get_username()
    assert_one_row_following(client, user)


def test_rotation_and_revoke(user):
    assert_rotation_followed(logged_in_client(user), user)


def test_revoke_ends_the_session(user):
    assert_revoke_ends(logged_in_client(user), user)


def test_password_change_revokes_the_other_sessions(user):
    def change(client: Client) -> None:
        response = client.post(
            "/accounts/password/",
            {"old_password": PASSWORD, "new_password1": "n3w-Pw!x", "new_password2": "n3w-Pw!x"},
        )
        assert response.status_code == 302, response.content

    assert_password_change_revokes_others(change, user, lambda client: logged_in_client(user))


def test_axes_flow_answers_as_without_the_app(user):
    with without_sessionmgr():
        stock = lockout(user)
    AccessAttempt.objects.all().delete()
    assert lockout(user) == stock
    assert stock == [200, 200, 429, 429, 0, 302, 1]
