"""django-rest-knox tokens as token sessions: real HTTP through knox's own views."""

from __future__ import annotations

import base64
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken, get_digest_token

from django_sessionmgr.models import UserSession
from django_sessionmgr.tokens.lookup import token_digest
from tests.helpers import IPHONE, PASSWORD, logged_in_client, make_client, whoami
from tests.integration.token_checks import (
    NEW_PASSWORD,
    REVOKE_WAYS,
    assert_nothing_shows,
    assert_refused_as_unknown,
    log_everything,
    queries_of,
    revoke,
    secret_parts,
)

pytestmark = pytest.mark.django_db

KIND = "knox"
PHONE_IP = "198.51.100.42"
UNKNOWN = "f" * 64


def basic_auth(user: Any, password: str = PASSWORD) -> dict[str, str]:
    credentials = f"{user.get_username()}:{password}".encode()
    return {"HTTP_AUTHORIZATION": f"Basic {base64.b64encode(credentials).decode()}"}


def knox_login(user: Any, client: Client | None = None, password: str = PASSWORD) -> str:
    """Knox's LoginView (basic auth, as knox's docs set it up), from a phone; the token."""
    client = client or make_client(user_agent=IPHONE, ip=PHONE_IP)
    response = client.post("/knox/login/", **basic_auth(user, password))
    assert response.status_code == 200, response.content
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    token: str = response.json()["token"]
    return token


def with_token(token: str, path: str = "/knox/app-whoami/") -> Any:
    return make_client(HTTP_AUTHORIZATION=f"Token {token}").get(path)


def knox_post(token: str, path: str, client: Client | None = None) -> int:
    client = client or make_client()
    status: int = client.post(path, HTTP_AUTHORIZATION=f"Token {token}").status_code
    return status


def row_of_token(token: str) -> UserSession:
    """The row of a knox token, found as the app finds it: by knox's own digest."""
    return UserSession.objects.get(token_digest=token_digest(KIND, hash_token(token)))


def test_login_records_one_row_with_the_requests_device_and_no_session(user: Any) -> None:
    token = knox_login(user)

    row = UserSession.objects.get()
    assert (row.kind, row.status, str(row.ip_address), row.device_type) == (
        KIND,
        "active",
        PHONE_IP,
        "mobile",
    )
    assert str(row.last_ip_address) == PHONE_IP
    assert row.expires_at == AuthToken.objects.get().expiry  # knox's TOKEN_TTL
    assert row_of_token(token).pk == row.pk
    assert not Session.objects.exists()
    assert with_token(token).json() == {"user": "alice"}


def test_activity_is_written_once_per_interval_and_costs_no_query_between(user: Any) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = knox_login(user)
        client = make_client(HTTP_AUTHORIZATION=f"Token {token}", ip="192.0.2.77")
        stock_status, stock = queries_of(client, "/knox/whoami/")  # knox's own class
        status, ours = queries_of(client, "/knox/app-whoami/")
        assert stock_status == status == 200
        assert ours == stock, (ours, stock)

        clock.shift(59)
        assert queries_of(client, "/knox/app-whoami/")[1] == stock
        clock.shift(2)
        status, due = queries_of(client, "/knox/app-whoami/")
        assert status == 200 and due[:-1] == stock and due[-1].startswith("UPDATE"), due
        assert queries_of(client, "/knox/app-whoami/")[1] == stock

    row = row_of_token(token)
    assert row.last_activity_at > row.created_at + timedelta(seconds=60)
    assert str(row.last_ip_address) == "192.0.2.77"


@pytest.mark.parametrize("way", REVOKE_WAYS)
def test_every_revoke_makes_the_next_request_401_as_an_unknown_token(
    user: Any, django_user_model: Any, way: str
) -> None:
    token = knox_login(user)
    assert with_token(token).status_code == 200

    revoke(way, user, str(row_of_token(token).pk), django_user_model)

    assert_refused_as_unknown(with_token, token, UNKNOWN)
    # Knox's own views refuse it too: the token is gone.
    assert_refused_as_unknown(lambda t: with_token(t, "/knox/whoami/"), token, UNKNOWN)
    assert not AuthToken.objects.exists()
    again = knox_login(user, password=NEW_PASSWORD if way == "password_change" else PASSWORD)
    assert with_token(again).status_code == 200


def test_logout_ends_that_row_and_logoutall_every_knox_row_but_no_browser(user: Any) -> None:
    first, second, third = (knox_login(user) for _ in range(3))
    browser = logged_in_client(user)
    browser_row = UserSession.objects.get(kind="session")

    assert knox_post(first, "/knox/logout/") == 204
    assert row_of_token(first).status == "ended" and row_of_token(first).ended_at is not None
    assert row_of_token(second).status == "active"

    # From the browser itself, which also carries its session cookie.
    assert knox_post(second, "/knox/logoutall/", client=browser) == 204

    assert {row_of_token(t).status for t in (second, third)} == {"ended"}
    assert_refused_as_unknown(with_token, third, UNKNOWN)
    browser_row.refresh_from_db()
    assert browser_row.status == "active" and whoami(browser) == "alice"


def test_an_expired_token_reads_expired(user: Any) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = knox_login(user)
        row = row_of_token(token)
        clock.shift(10 * 3600 + 1)  # knox's TOKEN_TTL
        assert_refused_as_unknown(with_token, token, UNKNOWN)
    row.refresh_from_db()
    assert row.status == "expired" and not AuthToken.objects.exists()


def test_a_token_made_in_the_admin_gets_a_row_with_an_unknown_device(
    user: Any, superuser: Any
) -> None:
    admin = logged_in_client(superuser)
    response = admin.post("/admin/knox/authtoken/add/", {"user": user.pk})
    assert response.status_code == 302, response.content
    auth_token = AuthToken.objects.get(user=user)
    row = UserSession.objects.get(user=user, kind=KIND)
    assert row.token_digest == token_digest(KIND, auth_token.digest)
    assert row.ip_address is None and row.user_agent == "" and row.is_active


def test_knox_session_login_is_one_browser_row_and_one_token_row(user: Any) -> None:
    browser = make_client(user_agent=IPHONE)
    response = browser.post(
        "/knox/session-login/", {"username": user.get_username(), "password": PASSWORD}
    )
    assert response.status_code == 200, response.content
    kinds = sorted(UserSession.objects.filter(status="active").values_list("kind", flat=True))
    assert kinds == [KIND, "session"]
    assert row_of_token(response.json()["token"]).device_type == "mobile"


def test_nothing_shows_the_token(
    user: Any, superuser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    log_everything(caplog)
    token = knox_login(user)
    with_token(token)
    digest = AuthToken.objects.get().digest
    assert knox_post(token, "/knox/logout/") == 204
    other = knox_login(user)
    logged_in_client(user).post("/api/sessions/revoke-others/")
    assert with_token(other).status_code == 401
    parts = secret_parts(KIND, token, digest) + secret_parts(KIND, other)
    assert_nothing_shows(parts, user, superuser, caplog)


@pytest.mark.parametrize("tokens_count", [True, False])
def test_max_sessions_and_tokens(settings: Any, user: Any, tokens_count: bool) -> None:
    settings.SESSIONMGR = {"MAX_SESSIONS": 2, "TOKENS_COUNT_TOWARD_MAX_SESSIONS": tokens_count}
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=True):
        laptop = logged_in_client(user)
    with time_machine.travel(timezone.now() - timedelta(minutes=30), tick=True):
        first = knox_login(user)
    second = knox_login(user)
    third = knox_login(user)

    if tokens_count:
        # Each token login past 2 revokes the least recently active other.
        assert whoami(laptop) is None
        assert_refused_as_unknown(with_token, first, UNKNOWN)
        assert with_token(second).status_code == with_token(third).status_code == 200
    else:
        assert whoami(laptop) == "alice"
        assert all(with_token(t).status_code == 200 for t in (first, second, third))


def test_the_adopt_command_makes_earlier_tokens_revocable_before_their_next_use(
    user: Any,
) -> None:
    # bulk_create sends no post_save: as tokens made before the app was installed.
    (digest, token), (old_digest, expired) = get_digest_token(), get_digest_token()
    now = timezone.now()
    AuthToken.objects.bulk_create(
        [
            AuthToken(
                digest=digest, token_key=token[:15], user=user, expiry=now + timedelta(hours=1)
            ),
            AuthToken(
                digest=old_digest,
                token_key=expired[:15],
                user=user,
                expiry=now - timedelta(hours=1),
            ),
        ]
    )
    out = StringIO()
    call_command("sessionmgr_adopt_tokens", stdout=out)

    assert out.getvalue() == "knox: Adopted 1 token(s); 0 already had a row.\n"
    row = row_of_token(token)
    assert row.adopted and row.expires_at == now + timedelta(hours=1)
    logged_in_client(user).post("/api/sessions/revoke-others/")
    assert_refused_as_unknown(with_token, token, UNKNOWN)


def test_the_token_session_is_current_when_its_own_token_authenticates(user: Any) -> None:
    """With the token, ``current/`` is its row and only it is ``is_current``."""
    token = knox_login(user)
    row = row_of_token(token)
    current = with_token(token, "/api/sessions/current/")
    assert current.status_code == 200
    assert current.json()["id"] == str(row.pk)
    listed = with_token(token, "/api/sessions/?limit=50").json()["results"]
    assert [item["id"] for item in listed if item["is_current"]] == [str(row.pk)]
