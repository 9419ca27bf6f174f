"""Which session is current when a token session's own token authenticated the
request: that row, in ``is_current``, ``current/``, the ``current_session``
refusal and "sign out all others"; under basic auth or a token without a row,
none.

The API here runs behind ``tests.urls_token_auth``'s token class, which names
the token session the way the app's token authentication classes do
(``RequestState.token_row_id``).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from django_sessionmgr.models import UserSession
from tests.helpers import FIREFOX, PASSWORD, logged_in_client, make_row, row_of
from tests.urls_token_auth import digest_of

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_token_auth")]

API = "/token-api/sessions/"
CURRENT = f"{API}current/"
SECRET = "s3cret-knox-token"


def token_client(secret: str = SECRET) -> Client:
    return Client(headers={"authorization": f"Token {secret}", "user-agent": FIREFOX})


def basic_client(user: Any) -> Client:
    pair = base64.b64encode(f"{user.get_username()}:{PASSWORD}".encode()).decode()
    return Client(headers={"authorization": f"Basic {pair}"})


@pytest.fixture
def knox_row(user: Any) -> UserSession:
    return make_row(user, kind=UserSession.Kind.KNOX, token_digest=digest_of(SECRET))


def current_flags(client: Client) -> dict[str, bool]:
    response = client.get(API)
    assert response.status_code == 200, response.content
    return {item["id"]: item["is_current"] for item in response.json()["results"]}


@pytest.mark.parametrize(
    "kind", [UserSession.Kind.DRF_TOKEN, UserSession.Kind.KNOX, UserSession.Kind.JWT]
)
def test_the_token_session_is_current_when_its_token_authenticated_the_request(user, kind):
    browser = row_of(logged_in_client(user))
    token = make_row(user, kind=kind, token_digest=digest_of(SECRET))
    client = token_client()

    flags = current_flags(client)
    current = client.get(CURRENT)
    one = client.get(f"{API}{token.pk}/")

    assert flags == {str(token.pk): True, str(browser.pk): False}
    assert current.status_code == 200
    assert current.json()["id"] == str(token.pk)
    assert current.json()["kind"] == kind
    assert one.json()["is_current"] is True


def test_a_browser_cookie_riding_along_with_a_token_is_not_current(user, knox_row):
    browser_client = logged_in_client(user)
    browser = row_of(browser_client)
    browser_client.defaults["HTTP_AUTHORIZATION"] = f"Token {SECRET}"

    flags = current_flags(browser_client)

    assert flags == {str(knox_row.pk): True, str(browser.pk): False}
    assert browser_client.get(CURRENT).json()["id"] == str(knox_row.pk)


def test_the_current_token_session_cannot_be_revoked_by_id(user, knox_row):
    response = token_client().delete(f"{API}{knox_row.pk}/")

    assert response.status_code == 400
    assert response.json()["code"] == "current_session"
    knox_row.refresh_from_db()
    assert knox_row.status == UserSession.Status.ACTIVE


def test_revoke_others_from_a_token_spares_that_token_session(user, knox_row):
    browser = row_of(logged_in_client(user))
    other_token = make_row(user, kind=UserSession.Kind.DRF_TOKEN, token_digest=digest_of("x"))

    response = token_client().post(f"{API}revoke-others/")

    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    statuses = {row.pk: row.status for row in UserSession.objects.filter(user=user).order_by("pk")}
    assert statuses == {
        knox_row.pk: UserSession.Status.ACTIVE,
        browser.pk: UserSession.Status.REVOKED,
        other_token.pk: UserSession.Status.REVOKED,
    }


def test_current_follows_what_authenticated_the_request(user, knox_row):
    """The token session by its own token; the browser's by session
    authentication; none under basic auth or a token that has no row."""
    browser_client = logged_in_client(user)
    browser = row_of(browser_client)
    rowless = token_client(f"user:{user.get_username()}")
    basic = basic_client(user)

    assert current_flags(token_client()) == {str(knox_row.pk): True, str(browser.pk): False}
    assert current_flags(browser_client) == {str(knox_row.pk): False, str(browser.pk): True}
    assert current_flags(basic) == {str(knox_row.pk): False, str(browser.pk): False}
    assert current_flags(rowless) == {str(knox_row.pk): False, str(browser.pk): False}
    assert browser_client.get(CURRENT).json()["id"] == str(browser.pk)
    assert [basic.get(CURRENT).status_code, rowless.get(CURRENT).status_code] == [404, 404]
    # Without a current session, every session is another one.
    assert rowless.delete(f"{API}{knox_row.pk}/").status_code == 204
