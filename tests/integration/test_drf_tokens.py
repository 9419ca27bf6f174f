"""DRF's authtoken as token sessions: real HTTP through DRF's views and the app's."""

from __future__ import annotations

import secrets
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
from rest_framework.authtoken.models import Token

from django_sessionmgr.models import UserSession
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

KIND = "drf_token"
PHONE_IP = "198.51.100.23"


def obtain(user: Any, password: str = PASSWORD) -> str:
    """DRF's obtain view (the app's subclass), from a phone; the key."""
    client = make_client(user_agent=IPHONE, ip=PHONE_IP)
    response = client.post(
        "/api-token-auth/", {"username": user.get_username(), "password": password}
    )
    assert response.status_code == 200, response.content
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    key: str = response.json()["token"]
    return key


def with_token(key: str, path: str = "/token-whoami/") -> Any:
    return make_client(HTTP_AUTHORIZATION=f"Token {key}").get(path)


def unknown_key() -> str:
    return secrets.token_hex(20)


def token_row(user: Any) -> UserSession:
    return UserSession.objects.get(user=user, kind=KIND, status="active")


def test_obtain_records_one_row_with_the_requests_device_and_no_session(user: Any) -> None:
    key = obtain(user)

    row = token_row(user)
    assert (row.kind, str(row.ip_address), row.device_type) == (KIND, PHONE_IP, "mobile")
    assert row.device_os.startswith("iOS") and not row.adopted
    assert row.expires_at > timezone.now() + timedelta(days=365 * 99)  # no expiry of its own
    assert not UserSession.objects.filter(kind="session").exists()
    assert not Session.objects.exists()
    assert with_token(key).json() == {"user": "alice"}
    # Obtaining it again hands out the same key: the same row.
    assert obtain(user) == key
    assert UserSession.objects.filter(kind=KIND).count() == 1


def test_activity_is_written_once_per_interval_and_costs_no_query_between(user: Any) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = obtain(user)
        client = make_client(HTTP_AUTHORIZATION=f"Token {key}", ip="192.0.2.50")
        stock_status, stock = queries_of(client, "/stock-whoami/")
        status, ours = queries_of(client, "/token-whoami/")
        assert stock_status == status == 200
        assert ours == stock and len(stock) == 1  # DRF's own read of the key

        clock.shift(59)
        assert queries_of(client, "/token-whoami/")[1] == stock
        clock.shift(2)
        status, due = queries_of(client, "/token-whoami/")
        assert status == 200 and due[:-1] == stock and due[-1].startswith("UPDATE"), due
        assert queries_of(client, "/token-whoami/")[1] == stock

    row = token_row(user)
    assert row.last_activity_at > row.created_at + timedelta(seconds=60)
    assert str(row.last_ip_address) == "192.0.2.50" and str(row.ip_address) == PHONE_IP


@pytest.mark.parametrize("way", REVOKE_WAYS)
def test_every_revoke_makes_the_next_request_401_as_an_unknown_token(
    user: Any, django_user_model: Any, way: str
) -> None:
    key = obtain(user)
    assert with_token(key).status_code == 200

    revoke(way, user, str(token_row(user).pk), django_user_model)

    assert_refused_as_unknown(with_token, key, unknown_key())
    assert not Token.objects.filter(key=key).exists()
    # Obtaining a token again makes a new key and a new row.
    new = obtain(user, NEW_PASSWORD if way == "password_change" else PASSWORD)
    assert new != key and with_token(new).status_code == 200
    assert UserSession.objects.filter(kind=KIND).count() == 2


def test_deleting_the_token_or_regenerating_the_key_ends_the_row(user: Any) -> None:
    obtain(user)
    first = token_row(user)

    call_command("drf_create_token", "-r", user.get_username(), stdout=StringIO())

    first.refresh_from_db()
    assert first.status == "ended" and first.ended_at is not None
    second = token_row(user)  # made by the command: no device
    assert second.ip_address is None and second.device_summary == "Unknown device"
    Token.objects.get(user=user).delete()
    second.refresh_from_db()
    assert second.status == "ended"
    assert not UserSession.objects.filter(status="active").exists()


def test_a_token_made_in_the_admin_gets_a_row_with_an_unknown_device(
    user: Any, superuser: Any
) -> None:
    admin = logged_in_client(superuser)
    response = admin.post("/admin/authtoken/tokenproxy/add/", {"user": user.pk})
    assert response.status_code == 302, response.content
    row = token_row(user)
    assert row.ip_address is None and row.user_agent == "" and row.device_type == "other"
    assert with_token(Token.objects.get(user=user).key).status_code == 200


def test_a_token_from_before_the_install_is_adopted_at_its_first_use(user: Any) -> None:
    # bulk_create sends no post_save: as a token made before the app was installed.
    key = Token.objects.bulk_create([Token(key=unknown_key(), user=user)])[0].key
    assert not UserSession.objects.exists()

    response = make_client(HTTP_AUTHORIZATION=f"Token {key}", user_agent=IPHONE).get(
        "/token-whoami/"
    )

    assert response.status_code == 200
    row = token_row(user)
    assert row.adopted and row.device_type == "mobile"


def test_the_absolute_timeout_ends_the_token(settings: Any, user: Any) -> None:
    settings.SESSIONMGR = {"ABSOLUTE_TIMEOUT": 3600}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = obtain(user)
        clock.shift(3599)
        assert with_token(key).status_code == 200
        clock.shift(2)
        assert_refused_as_unknown(with_token, key, unknown_key())
    assert UserSession.objects.get(kind=KIND).status == "expired"
    assert not Token.objects.filter(key=key).exists()
    assert obtain(user) != key


def test_nothing_shows_the_key(user: Any, superuser: Any, caplog: pytest.LogCaptureFixture) -> None:
    log_everything(caplog)
    key = obtain(user)
    with_token(key)
    logged_in_client(user).post("/api/sessions/revoke-others/")
    assert with_token(key).status_code == 401
    parts = secret_parts(KIND, key)
    assert_nothing_shows(parts, user, superuser, caplog)


@pytest.mark.parametrize("tokens_count", [True, False])
def test_max_sessions_and_tokens(settings: Any, user: Any, tokens_count: bool) -> None:
    settings.SESSIONMGR = {"MAX_SESSIONS": 2, "TOKENS_COUNT_TOWARD_MAX_SESSIONS": tokens_count}
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=True):
        laptop = logged_in_client(user)
    with time_machine.travel(timezone.now() - timedelta(minutes=30), tick=True):
        key = obtain(user)
    desktop = logged_in_client(user)
    phone = logged_in_client(user)

    # Two logins past 2. When the token counts, each revokes the least recently
    # active other: the laptop, then the token. Else browsers alone count:
    # the second login revokes the laptop, and the token stays.
    assert whoami(laptop) is None
    if tokens_count:
        assert_refused_as_unknown(with_token, key, unknown_key())
    else:
        assert with_token(key).status_code == 200
    assert whoami(desktop) == whoami(phone) == "alice"
    assert UserSession.objects.filter(status="revoked", revoke_reason="session_limit").count() == (
        2 if tokens_count else 1
    )


def test_the_browser_client_is_untouched(user: Any) -> None:
    browser: Client = logged_in_client(user)
    key = obtain(user)
    browser.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    assert browser.get("/token-whoami/").json() == {"user": "alice"}
    assert UserSession.objects.filter(kind="session", status="active").count() == 1


def test_the_adopt_command_makes_earlier_tokens_revocable_before_their_next_use(
    user: Any, other_user: Any
) -> None:
    # bulk_create sends no post_save: as tokens made before the app was installed.
    earlier = Token.objects.bulk_create(
        [Token(key=unknown_key(), user=user), Token(key=unknown_key(), user=other_user)]
    )
    out = StringIO()
    call_command("sessionmgr_adopt_tokens", "--dry-run", stdout=out)
    assert out.getvalue() == "DRF: Would adopt 2 token(s); 0 already had a row.\n"
    assert not UserSession.objects.exists()

    call_command("sessionmgr_adopt_tokens", stdout=out)

    assert out.getvalue().endswith("DRF: Adopted 2 token(s); 0 already had a row.\n")
    row = token_row(user)
    assert row.adopted and row.ip_address is None
    logged_in_client(user).post("/api/sessions/revoke-others/")
    assert_refused_as_unknown(with_token, earlier[0].key, unknown_key())
    assert with_token(earlier[1].key).status_code == 200
    call_command("sessionmgr_adopt_tokens", stdout=out)
    assert out.getvalue().endswith("DRF: Adopted 0 token(s); 1 already had a row.\n")
