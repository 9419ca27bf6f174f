"""django-allauth (account, mfa) with the app installed: run by ``make test-integration``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.helpers import (
    PASSWORD,
    SLACK,
    active_rows,
    assert_one_row_following,
    assert_password_change_revokes_others,
    assert_revoke_ends,
    assert_rotation_followed,
    make_client,
    row_of,
    whoami,
    without_sessionmgr,
)

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "another horse battery staple"


def allauth_login(client: Client, user: Any, **extra: str) -> Any:
    return client.post(
        "/accounts/login/", {"login": user.get_username(), "password": PASSWORD, **extra}
    )


def logged_in(client: Client, user: Any, **extra: str) -> Client:
    response = allauth_login(client, user, **extra)
    assert response.status_code == 302, response.content
    assert whoami(client) == user.get_username()
    return client


def test_login_makes_one_row_that_follows_the_session(user):
    client = logged_in(make_client(), user)
    assert_one_row_following(client, user)
    # Logging in again inside the same session adds no row.
    logged_in(client, user)
    assert len(active_rows(user)) == 1


def test_remember_me_expiry_is_recorded(user):
    client = logged_in(make_client(), user, remember="on")
    expected = timezone.now() + timedelta(seconds=settings.ACCOUNT_SESSION_COOKIE_AGE)
    assert abs(client.session.get_expiry_date() - expected) <= SLACK
    assert_one_row_following(client, user)


def test_remember_me_expiry_is_recorded_when_the_login_request_had_a_session(user):
    client = make_client()
    client.get("/set-expiry/?seconds=600")  # a session cookie before the login
    logged_in(client, user, remember="on")
    assert_one_row_following(client, user)


def test_login_without_remember_me_ends_with_the_browser(user):
    client = logged_in(make_client(), user)
    assert client.session.get_expire_at_browser_close()
    assert_one_row_following(client, user)


def test_rotation_and_revoke(user):
    assert_rotation_followed(logged_in(make_client(), user), user)


def test_revoke_ends_the_session(user):
    assert_revoke_ends(logged_in(make_client(), user), user)


def test_signup_logs_in_with_one_row(django_user_model):
    client = make_client()
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302, response.content
    carol = django_user_model.objects.get(username="carol")
    assert whoami(client) == "carol"
    assert_one_row_following(client, carol)
    assert_revoke_ends(client, carol)


def test_password_change_revokes_the_other_sessions(user):
    def change(client: Client) -> None:
        response = client.post(
            "/accounts/password/change/",
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert response.status_code == 302, response.content

    assert_password_change_revokes_others(change, user, lambda client: logged_in(client, user))


def reset_password(user: Any) -> Any:
    client = make_client()
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302, response.content
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    return client.post(
        form.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )


def test_password_reset_revokes_every_session(user):
    signed_in = logged_in(make_client(), user)
    response = reset_password(user)
    assert response.status_code == 302, response.content
    assert whoami(signed_in) is None
    assert active_rows(user) == []
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def totp_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())  # now, within allauth's tolerance
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def test_mfa_totp_login_makes_one_row(user):
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    client = make_client()
    response = allauth_login(client, user)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert whoami(client) is None
    assert active_rows(user) == []
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302, response.content
    assert whoami(client) == user.get_username()
    assert_one_row_following(client, user)
    assert_rotation_followed(client, user)


def flow(user: Any) -> list[tuple[int, str]]:
    """allauth's login, a page, the password change and logout, as status and redirect."""
    client = make_client()
    answers = []
    for method, path, data in [
        ("post", "/accounts/login/", {"login": user.get_username(), "password": PASSWORD}),
        ("get", "/accounts/password/change/", {}),
        (
            "post",
            "/accounts/password/change/",
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        ),
        ("post", "/accounts/logout/", {}),
    ]:
        response = getattr(client, method)(path, data)
        answers.append((response.status_code, response.get("Location", "")))
    user.set_password(PASSWORD)
    user.save()
    return answers


def test_allauth_flow_answers_as_without_the_app(user):
    with without_sessionmgr():
        stock = flow(user)
    assert flow(user) == stock
    assert stock[0] == (302, settings.LOGIN_REDIRECT_URL)


def test_row_of_a_logged_out_session_is_ended(user):
    client = logged_in(make_client(), user)
    row = row_of(client)
    client.post("/accounts/logout/")
    row.refresh_from_db()
    assert row.status == "ended"
