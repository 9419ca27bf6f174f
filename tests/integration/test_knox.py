"""django-rest-knox: its token login is no browser login, with the app installed."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from django_sessionmgr.models import UserSession
from tests.helpers import (
    PASSWORD,
    active_rows,
    assert_one_row_following,
    logged_in_client,
    make_client,
    row_of,
    session_cookie,
    whoami,
)

pytestmark = pytest.mark.django_db


def basic_auth(user: Any) -> dict[str, str]:
    credentials = f"{user.get_username()}:{PASSWORD}".encode()
    return {"HTTP_AUTHORIZATION": f"Basic {base64.b64encode(credentials).decode()}"}


def knox_login(client: Client, user: Any) -> str:
    """Knox's LoginView with basic auth, as knox's docs set it up; the token.
    The response neither sets nor depends on a session cookie."""
    response = client.post("/knox/login/", **basic_auth(user))
    assert response.status_code == 200, response.content
    sets_a_cookie = settings.SESSION_COOKIE_NAME in response.cookies  # keeps the key out of reports
    assert not sets_a_cookie
    assert "Cookie" not in response.get("Vary", "")
    token: str = response.json()["token"]
    return token


def knox_whoami(token: str) -> str:
    response = make_client(HTTP_AUTHORIZATION=f"Token {token}").get("/knox/whoami/")
    assert response.status_code == 200, response.content
    username: str = response.json()["user"]
    return username


def assert_no_stored_session(engine: str, folder: Path) -> None:
    """What the engine's store can list; the cache engine cannot list its keys
    and signed cookies store nothing on the server: there, no cookie is the proof."""
    if engine in ("db", "cached_db"):
        assert not Session.objects.exists()
    elif engine == "file":
        assert not list(folder.iterdir())


def test_knox_login_gives_a_token_and_no_session(engine: str, tmp_path: Path, user: Any) -> None:
    client = make_client()
    token = knox_login(client, user)

    # The token's own row only: no browser row.
    browser_rows = UserSession.objects.filter(kind="session")
    assert not browser_rows.exists()
    assert list(UserSession.objects.values_list("kind", flat=True)) == ["knox"]
    assert_no_stored_session(engine, tmp_path)

    assert knox_whoami(token) == user.get_username()
    api = make_client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/sessions/")
    assert api.status_code == 200, api.content
    assert api.json()["count"] == 1
    assert not browser_rows.exists()

    # A browser login in the same project still gets its row.
    assert_one_row_following(logged_in_client(user), user)


def test_knox_login_from_a_signed_in_browser_leaves_its_session_alone(
    user: Any, other_user: Any
) -> None:
    browser = logged_in_client(other_user)
    row, cookie = row_of(browser), session_cookie(browser)

    token = knox_login(browser, user)

    assert knox_whoami(token) == user.get_username()
    same_cookie = session_cookie(browser) == cookie
    assert same_cookie
    assert whoami(browser) == other_user.get_username()
    assert row_of(browser).pk == row.pk
    assert [active.pk for active in UserSession.objects.active().filter(kind="session")] == [row.pk]

    # Knox's other documented login view calls Django's login(): that one is a
    # browser login, over the previous user's.
    response = browser.post(
        "/knox/session-login/", {"username": user.get_username(), "password": PASSWORD}
    )
    assert response.status_code == 200, response.content
    assert knox_whoami(response.json()["token"]) == user.get_username()
    assert whoami(browser) == user.get_username()
    assert_one_row_following(browser, user)
    assert not active_rows(other_user)
