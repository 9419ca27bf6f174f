"""django-allauth headless: an app client's login (its ``X-Session-Token``) as
an ``app_session`` row, through allauth's own headless views and the app's."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from django_sessionmgr.checks import check_headless
from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_client_changed
from tests.helpers import (
    IPHONE,
    PASSWORD,
    active_rows,
    logged_in_client,
    make_client,
    stored_session_exists,
    whoami,
)
from tests.integration.token_checks import NEW_PASSWORD, REVOKE_WAYS, queries_of, revoke

pytestmark = pytest.mark.django_db

KIND = "app_session"
PHONE_IP = "198.51.100.23"
APP = "/_allauth/app/v1"
STOCK_STRATEGY = "allauth.headless.tokens.strategies.sessions.SessionTokenStrategy"


def app_login(user: Any, password: str = PASSWORD) -> str:
    """allauth's app-client login, from a phone; the session token."""
    client = make_client(user_agent=IPHONE, ip=PHONE_IP)
    response = client.post(
        f"{APP}/auth/login",
        json.dumps({"username": user.get_username(), "password": password}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    token: str = response.json()["meta"]["session_token"]
    return token


def app_client(token: str, ip: str = PHONE_IP) -> Client:
    return make_client(user_agent=IPHONE, ip=ip, HTTP_X_SESSION_TOKEN=token)


def app_session(token: str) -> Any:
    return app_client(token).get(f"{APP}/auth/session")


def reads(client: Client, path: str) -> tuple[int, list[str]]:
    """A request's status and its statements, without their WHERE clauses (which hold the time)."""
    status, sqls = queries_of(client, path)
    return status, [sql.split(" WHERE ")[0] for sql in sqls]


def app_row(user: Any) -> UserSession:
    return UserSession.objects.get(user=user, kind=KIND)


def assert_signed_out_as_unknown(token: str) -> None:
    """The app's next request is not authenticated: allauth's own answer to a
    token it does not know (410, the session is gone), same body."""
    refused, stranger = app_session(token), app_session(secrets.token_hex(16))
    assert refused.status_code == stranger.status_code == 410, refused.content
    assert refused.content == stranger.content
    assert refused.json()["meta"]["is_authenticated"] is not True
    assert not stored_session_exists(token)


def test_app_login_makes_one_app_session_row_with_the_phones_device_and_no_cookie(user):
    token = app_login(user)

    row = app_row(user)
    assert (row.kind, row.status, str(row.ip_address)) == (KIND, "active", PHONE_IP)
    assert row.device_type == "mobile" and row.device_os.startswith("iOS")
    assert row.get_kind_display() == "Mobile app"
    assert active_rows(user) == [row]  # no browser row
    assert stored_session_exists(token)
    response = app_session(token)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["user"]["username"] == user.get_username()


def test_app_requests_write_activity_once_per_interval_at_no_query_of_their_own(user, settings):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = app_login(user)
        app = app_client(token, ip="192.0.2.50")
        path = f"{APP}/auth/session"
        status, ours = reads(app, path)
        ours_strategy, settings.HEADLESS_TOKEN_STRATEGY = (
            settings.HEADLESS_TOKEN_STRATEGY,
            STOCK_STRATEGY,
        )
        stock_status, stock = reads(app, path)
        settings.HEADLESS_TOKEN_STRATEGY = ours_strategy
        assert status == stock_status == 200
        assert ours == stock

        clock.shift(59)
        assert reads(app, path)[1] == stock
        assert app_row(user).last_activity_at == app_row(user).created_at
        clock.shift(2)
        status, due = reads(app, path)
        assert status == 200
        writes = [sql for sql in due if sql.startswith("UPDATE") and "usersession" in sql]
        assert len(writes) == 1, due
        assert reads(app, path)[1] == stock  # the marker was saved with the session

    row = app_row(user)
    assert row.last_activity_at >= row.created_at + timedelta(seconds=61)
    assert str(row.last_ip_address) == "192.0.2.50" and str(row.ip_address) == PHONE_IP


@pytest.mark.parametrize("way", REVOKE_WAYS)
def test_every_revoke_signs_the_app_out_at_its_next_request(user, django_user_model, way):
    token = app_login(user)
    assert app_session(token).status_code == 200

    revoke(way, user, str(app_row(user).pk), django_user_model)

    assert_signed_out_as_unknown(token)
    # Signing in again makes a new token and a new row.
    new = app_login(user, NEW_PASSWORD if way == "password_change" else PASSWORD)
    assert new != token and app_session(new).status_code == 200
    assert UserSession.objects.filter(kind=KIND).count() == 2


def test_a_revoke_signs_the_app_out_on_every_server_side_engine(user, server_engine):
    token = app_login(user)
    assert app_session(token).status_code == 200

    browser = logged_in_client(user)
    response = browser.delete(f"/api/sessions/{app_row(user).pk}/")
    assert response.status_code == 204, response.content

    assert_signed_out_as_unknown(token)
    assert whoami(browser) == user.get_username()


def test_a_password_change_through_allauths_browser_view_ends_the_app_session(user):
    token = app_login(user)
    browser = make_client()
    response = browser.post("/allauth/login/", {"login": user.get_username(), "password": PASSWORD})
    assert response.status_code == 302, response.content

    response = browser.post(
        "/allauth/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content

    assert_signed_out_as_unknown(token)
    assert app_row(user).status == "revoked"
    assert whoami(browser) == user.get_username()


def test_without_the_revoke_on_password_change_the_auth_hash_signs_the_app_out(user, settings):
    settings.SESSIONMGR = {"REVOKE_ON_PASSWORD_CHANGE": False}
    token = app_login(user)
    user.set_password(NEW_PASSWORD)
    user.save()

    response = app_session(token)
    assert response.status_code == 401, response.content
    assert response.json()["meta"]["is_authenticated"] is False


@pytest.mark.parametrize("policy", ["IDLE_TIMEOUT", "ABSOLUTE_TIMEOUT"])
def test_a_timeout_ends_the_app_session_and_its_row_reads_expired(user, settings, policy):
    settings.SESSIONMGR = {policy: 600, "ACTIVITY_UPDATE_INTERVAL": 60}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = app_login(user)
        clock.shift(300)
        assert app_session(token).status_code == 200  # an activity write: idle from here
        # The idle end is the last write plus IDLE_TIMEOUT and one interval.
        clock.shift(301 if policy == "ABSOLUTE_TIMEOUT" else 661)
        assert_signed_out_as_unknown(token)
    assert app_row(user).status == "expired"


def test_allauths_app_logout_ends_the_row(user):
    token = app_login(user)

    response = app_client(token).delete(f"{APP}/auth/session")
    assert response.status_code == 401, response.content

    assert app_row(user).status == "ended"
    assert not stored_session_exists(token)
    assert_signed_out_as_unknown(token)


def test_allauths_browser_logins_stay_browser_sessions(user):
    headless = make_client()
    response = headless.post(
        "/_allauth/browser/v1/auth/login",
        json.dumps({"username": user.get_username(), "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert "session_token" not in response.json()["meta"]
    pages = make_client()
    response = pages.post("/allauth/login/", {"login": user.get_username(), "password": PASSWORD})
    assert response.status_code == 302, response.content

    rows = active_rows(user)
    assert [row.kind for row in rows] == ["session", "session"]
    assert whoami(headless) == whoami(pages) == user.get_username()


def test_a_password_change_in_the_app_keeps_its_session_and_follows_its_new_key(user):
    token = app_login(user)
    browser = logged_in_client(user)

    response = app_client(token).post(
        f"{APP}/account/password/change",
        json.dumps({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    new = response.json()["meta"]["session_token"]  # Django cycled the key

    assert app_session(new).status_code == 200
    assert app_row(user).status == "active"
    assert whoami(browser) is None  # the other sessions are revoked
    # The row holds the new key: a revoke still reaches the session.
    call_command("sessionmgr_revoke", user.get_username(), stdout=StringIO())
    assert_signed_out_as_unknown(new)


def test_an_app_request_beside_a_browser_cookie_is_the_apps_alone(user, other_user, settings):
    """An app request that also carries a browser's cookie (a web view, say),
    with a middleware that reads the browser's user before the view: the app's
    token serves the app's user, and the browser's session and row go on."""
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    token = app_login(user)
    browser = logged_in_client(other_user)
    browser_row = active_rows(other_user)[0]

    response = browser.get(f"{APP}/auth/session", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["user"]["username"] == user.get_username()
    response = browser.post(
        f"{APP}/auth/login",
        json.dumps({"username": user.get_username(), "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content

    assert [row.kind for row in active_rows(user)] == [KIND, KIND]
    assert UserSession.objects.get(pk=browser_row.pk).status == "active"
    assert whoami(browser) == other_user.get_username()


def test_allauths_drf_class_writes_the_apps_activity_and_applies_the_timeouts(
    user: Any, settings: Any
) -> None:
    # A project's own API authenticated by allauth's XSessionTokenAuthentication,
    # which looks the token up without asking the strategy for it.
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 60, "IDLE_TIMEOUT": 3600}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = app_login(user)
        api = app_client(token, ip="192.0.2.51")
        clock.shift(61)
        response = api.get("/app-api/whoami/")
        assert response.status_code == 200 and response.json() == {"user": "alice"}
        row = app_row(user)
        assert row.last_activity_at > row.created_at
        assert str(row.last_ip_address) == "192.0.2.51"

        clock.shift(3601)
        assert api.get("/app-api/whoami/").status_code in (401, 403)
        assert app_row(user).status == "expired"


def test_the_check_warns_when_the_apps_strategy_is_allauths_own(settings: Any) -> None:
    assert check_headless() == []
    settings.HEADLESS_TOKEN_STRATEGY = STOCK_STRATEGY
    assert [message.id for message in check_headless()] == ["django_sessionmgr.W005"]
    settings.HEADLESS_CLIENTS = ("browser",)
    assert check_headless() == []


# ---------------------------------------------------------------------------
# Hostile review 2: a thief holding an app's X-Session-Token.
# ---------------------------------------------------------------------------


def app_session_from_before_the_install(user: Any) -> str:
    """The token of an app login made before the app was installed: a Django
    session with the user's login in it, and no marker or row of ours."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return session.session_key


def test_an_app_session_from_before_the_install_does_not_survive_sign_out_everywhere(user):
    # A browser session from before the install gets its row at its next
    # request (docs/install.md); an app's, used through allauth's app views,
    # must too, or it is never listed and no revoke but a password change
    # reaches it.
    token = app_session_from_before_the_install(user)
    for _ in range(2):
        assert app_session(token).status_code == 200

    (row,) = UserSession.objects.filter(user=user)
    assert (row.kind, row.adopted, str(row.ip_address)) == (KIND, True, PHONE_IP)
    assert logged_in_client(user).post("/api/sessions/revoke-others/").status_code == 200
    assert_signed_out_as_unknown(token)


def test_a_revoke_landing_while_an_app_request_runs_does_not_come_back(user, server_engine):
    # The app's request writes its activity (it moved: a client change), and a
    # revoke from the browser lands right then, before allauth saves the
    # session after its view: on cache and file that save would write the
    # deleted session back, and the revoked token would work again.
    token = app_login(user)
    row = app_row(user)

    def revoke_meanwhile(sender, session, **kwargs):
        assert UserSession.objects.filter(pk=session.pk).revoke() == 1

    session_client_changed.connect(revoke_meanwhile, dispatch_uid="tests.headless.meanwhile")
    try:
        with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
            app_client(token, ip="192.0.2.77").get(f"{APP}/auth/session")
    finally:
        session_client_changed.disconnect(dispatch_uid="tests.headless.meanwhile")

    assert UserSession.objects.get(pk=row.pk).status == "revoked"
    assert_signed_out_as_unknown(token)
