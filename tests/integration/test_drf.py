"""DRF, TokenAuthentication and SessionAuthentication together, with the app installed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

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


def token_header(user: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}


def api_login(client: Client, user: Any) -> Client:
    """DRF's browsable-API login (rest_framework.urls), which calls Django's login()."""
    response = client.post(
        "/api-auth/login/", {"username": user.get_username(), "password": PASSWORD}
    )
    assert response.status_code == 302, response.content
    return client


def test_api_login_makes_one_row_that_follows_the_session(user):
    client = api_login(make_client(), user)
    row = assert_one_row_following(client, user)
    listing = client.get("/api/sessions/").json()
    assert [item["id"] for item in listing["results"]] == [str(row.pk)]
    assert listing["results"][0]["is_current"] is True


def test_rotation_and_revoke(user):
    assert_rotation_followed(api_login(make_client(), user), user)


def test_revoke_ends_the_session_for_the_api_too(user):
    client = api_login(make_client(), user)
    assert client.get("/api-whoami/").json()["user"] == user.get_username()
    assert_revoke_ends(client, user)
    assert client.get("/api-whoami/").json()["user"] is None
    assert client.get("/api/sessions/").status_code in (401, 403)


def test_token_requests_make_no_row_and_no_session(user):
    client = make_client(**token_header(user))
    response = client.get("/api/sessions/")
    assert response.status_code == 200
    # The token's own row only (an unknown device: made outside DRF's view).
    assert response.json()["count"] == 1
    assert client.get("/api/sessions/current/").status_code == 404
    assert list(UserSession.objects.values_list("kind", flat=True)) == ["drf_token"]
    assert "sessionid" not in client.cookies


def test_token_request_with_someone_elses_cookie_has_no_current_session(user, other_user):
    client = logged_in_client(other_user)
    client.defaults.update(token_header(user))
    assert client.get("/api-whoami/").json()["user"] == user.get_username()
    assert client.get("/api/sessions/current/").status_code == 404


def test_token_request_with_the_users_own_cookie_has_no_current_session(user):
    client = logged_in_client(user)
    client.defaults.update(token_header(user))
    assert client.get("/api/sessions/current/").status_code == 404
    assert all(not item["is_current"] for item in client.get("/api/sessions/").json()["results"])


def test_token_request_does_not_show_the_cookies_sessions(user, other_user):
    client = logged_in_client(other_user)
    client.defaults.update(token_header(user))
    listing = client.get("/api/sessions/").json()
    assert listing["count"] == 1  # the token's own row
    assert UserSession.objects.get(pk=listing["results"][0]["id"]).user == user


def test_password_change_revokes_the_other_sessions(user):
    def change(client: Client) -> None:
        response = client.post(
            "/accounts/password/",
            {"old_password": PASSWORD, "new_password1": "n3w-Pw!x", "new_password2": "n3w-Pw!x"},
        )
        assert response.status_code == 302, response.content

    assert_password_change_revokes_others(change, user, lambda client: api_login(client, user))


def answers(user: Any, other_user: Any) -> list[tuple[int, Any]]:
    header = token_header(user)
    token_only = make_client(**header)
    session_only = api_login(make_client(), other_user)
    both = api_login(make_client(**header), other_user)
    nobody = make_client()
    result = []
    for client in (token_only, session_only, both, nobody):
        response = client.get("/api-whoami/")
        result.append((response.status_code, response.json()))
    Token.objects.all().delete()
    return result


def test_drf_authentication_answers_as_without_the_app(user, other_user):
    with without_sessionmgr():
        stock = answers(user, other_user)
    assert answers(user, other_user) == stock
    assert [answer[1]["user"] for answer in stock] == ["alice", "bob", "alice", None]
    assert whoami(make_client()) is None
