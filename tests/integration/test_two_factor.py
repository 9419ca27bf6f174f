"""django-two-factor-auth's two-step login with the app installed (``make test-integration``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_sessionmgr.models import UserSession
from tests.helpers import (
    PASSWORD,
    assert_one_row_following,
    assert_password_change_revokes_others,
    assert_revoke_ends,
    assert_rotation_followed,
    make_client,
    whoami,
    without_sessionmgr,
)

pytestmark = pytest.mark.django_db
LOGIN = "/account/login/"


@pytest.fixture
def device(user: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def token(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def two_step_login(client: Client, user: Any, device: TOTPDevice) -> list[tuple[int, str]]:
    """The password step, then the token step; each answer as status and redirect."""
    answers = []
    for data in (
        {
            "login_view-current_step": "auth",
            "auth-username": user.get_username(),
            "auth-password": PASSWORD,
        },
        {"login_view-current_step": "token", "token-otp_token": token(device)},
    ):
        response = client.post(LOGIN, data)
        answers.append((response.status_code, response.get("Location", "")))
    return answers


def logged_in(user: Any, device: TOTPDevice, client: Client | None = None) -> Client:
    client = client or make_client()
    assert two_step_login(client, user, device)[-1] == (302, "/whoami/")
    assert whoami(client) == user.get_username()
    return client


def test_password_step_alone_signs_nobody_in(user, device):
    client = make_client()
    response = client.post(
        LOGIN,
        {
            "login_view-current_step": "auth",
            "auth-username": user.get_username(),
            "auth-password": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert whoami(client) is None
    assert not UserSession.objects.filter(user=user).exists()


def test_two_step_login_makes_one_row_that_follows_the_session(user, device):
    client = logged_in(user, device)
    assert_one_row_following(client, user)


def test_rotation_and_revoke(user, device):
    assert_rotation_followed(logged_in(user, device), user)


def test_revoke_ends_the_session(user, device):
    assert_revoke_ends(logged_in(user, device), user)


def test_password_change_revokes_the_other_sessions(user, device):
    def change(client: Client) -> None:
        response = client.post(
            "/accounts/password/",
            {"old_password": PASSWORD, "new_password1": "n3w-Pw!x", "new_password2": "n3w-Pw!x"},
        )
        assert response.status_code == 302, response.content

    def login(client: Client) -> Client:
        # A token is accepted once: each login waits for a fresh one.
        device.refresh_from_db()
        device.last_t = -1
        device.save()
        return logged_in(user, device, client)

    assert_password_change_revokes_others(change, user, login)


def test_two_factor_flow_answers_as_without_the_app(user, device):
    with without_sessionmgr():
        stock = two_step_login(make_client(), user, device)
    device.last_t = -1
    device.save()
    assert two_step_login(make_client(), user, device) == stock
    assert stock == [(200, ""), (302, "/whoami/")]
