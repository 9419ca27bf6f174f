"""A revoked session stays revoked whatever an insider holding its cookie does.

Sessions that carry no marker (from before the install, or a login whose row
could not be written) are adopted under the same policies as a login, and a
revoked one is never adopted again, however it is signed anew. A session past
its end is never stamped anew by a request that never read the user.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path

from django_sessionmgr.models import UserSession
from tests.helpers import failing, logged_in_client, make_client, session_cookie, whoami
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

SIGNED = "django.contrib.sessions.backends.signed_cookies"


def write_without_reading_the_user(request: HttpRequest) -> JsonResponse:
    request.session["cart"] = request.GET.get("item", "book")
    return JsonResponse({})


def touch_nothing(request: HttpRequest) -> JsonResponse:
    """Reads the session, writes nothing (saved anyway under SESSION_SAVE_EVERY_REQUEST)."""
    return JsonResponse({"cart": request.session.get("cart")})


def rotate_without_reading_the_user(request: HttpRequest) -> JsonResponse:
    request.session.cycle_key()
    return JsonResponse({})


def expire_later_without_reading_the_user(request: HttpRequest) -> JsonResponse:
    request.session.set_expiry(7 * 86400)
    return JsonResponse({})


urlpatterns = [
    path("blind-write/", write_without_reading_the_user),
    path("blind-read/", touch_nothing),
    path("blind-rotate/", rotate_without_reading_the_user),
    path("blind-expiry/", expire_later_without_reading_the_user),
    *project_urlpatterns,
]


def stock_signed_cookie(user: Any) -> str:
    """A signed-cookie session as stock Django signed the user in: no marker."""
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return str(session.session_key)


def holding(cookie: str) -> Client:
    client = make_client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


def signed_anew(cookie: str, url: str, **overrides: Any) -> str:
    """The same session, signed again by a request of its holder."""
    client = holding(cookie)
    response = client.get(url)
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME in response.cookies, "the session was not saved"
    new = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert new and new != cookie
    return str(new)


def adopt_then_revoke(user: Any) -> str:
    cookie = stock_signed_cookie(user)
    assert whoami(holding(cookie)) == "alice"  # adopted: a row of its own
    row = UserSession.objects.get(user=user, adopted=True)
    assert row.revoke()
    assert whoami(holding(cookie)) is None
    return cookie


# Adopted signed cookies: no way back after a revoke.


def test_a_revoked_adopted_cookie_written_to_without_reading_the_user_stays_out(
    settings: Any, user: Any
) -> None:
    settings.SESSION_ENGINE = SIGNED
    cookie = stock_signed_cookie(user)
    assert whoami(holding(cookie)) == "alice"
    UserSession.objects.get(user=user).revoke()

    # The thief's copy, signed again by a view that never reads the user.
    revived = signed_anew(cookie, "/blind-write/?item=tv")

    assert whoami(holding(revived)) is None
    assert not UserSession.objects.filter(status=UserSession.Status.ACTIVE).exists()


def test_a_revoked_adopted_cookie_saved_on_every_request_stays_out(
    settings: Any, user: Any
) -> None:
    settings.SESSION_ENGINE = SIGNED
    settings.SESSION_SAVE_EVERY_REQUEST = True
    cookie = adopt_then_revoke(user)

    with time_machine.travel(time.time() + 5):  # the signature's timestamp moves on
        revived = signed_anew(cookie, "/blind-read/")

    assert whoami(holding(revived)) is None
    assert not UserSession.objects.filter(status=UserSession.Status.ACTIVE).exists()


def test_a_revoked_adopted_cookie_stays_out_across_a_secret_key_rotation(
    settings: Any, user: Any
) -> None:
    settings.SESSION_ENGINE = SIGNED
    cookie = adopt_then_revoke(user)
    old_secret = settings.SECRET_KEY

    settings.SECRET_KEY = "a-new-secret-for-this-test-only"
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    revived = signed_anew(cookie, "/blind-write/")  # signed under the new key

    assert whoami(holding(revived)) is None
    assert whoami(holding(cookie)) is None
    assert not UserSession.objects.filter(status=UserSession.Status.ACTIVE).exists()


def test_every_later_revoke_holds_too(settings: Any, user: Any) -> None:
    settings.SESSION_ENGINE = SIGNED
    cookie = adopt_then_revoke(user)
    for item in ("tv", "radio", "lamp"):
        cookie = signed_anew(cookie, f"/blind-write/?item={item}")
        assert whoami(holding(cookie)) is None
    assert UserSession.objects.filter(user=user).count() == 1


def test_a_signed_out_adopted_cookie_does_not_come_back(settings: Any, user: Any) -> None:
    settings.SESSION_ENGINE = SIGNED
    cookie = stock_signed_cookie(user)
    client = holding(cookie)
    assert whoami(client) == "alice"
    client.post("/accounts/logout/")

    assert whoami(holding(signed_anew(cookie, "/blind-write/"))) is None


def test_the_rule_spares_sessions_that_carry_a_marker(settings: Any, user: Any) -> None:
    """Only marker-less cookies pay for a revoked adoption: logins go on as usual."""
    settings.SESSION_ENGINE = SIGNED
    adopt_then_revoke(user)

    client = logged_in_client(user)
    assert whoami(client) == "alice"
    assert whoami(holding(signed_anew(session_cookie(client), "/blind-write/"))) == "alice"


def test_server_side_adoption_keeps_one_row_per_stored_session(user: Any) -> None:
    """A stored session has a stable key: re-saving it keeps its one row."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    client = holding(str(session.session_key))
    assert whoami(client) == "alice"
    client.get("/blind-write/")
    assert whoami(client) == "alice"
    assert UserSession.objects.filter(user=user).count() == 1
    UserSession.objects.get(user=user).revoke()
    assert whoami(client) is None


# Adoption applies the login's policies.


@pytest.mark.parametrize("engine_name", ["db", "signed_cookies"])
def test_adoption_applies_the_session_limit(settings: Any, user: Any, engine_name: str) -> None:
    from django.contrib.sessions.backends.db import SessionStore as DBStore

    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine_name}"
    settings.SESSIONMGR = {"MAX_SESSIONS": 1}
    first = logged_in_client(user)
    assert whoami(first) == "alice"

    if engine_name == "db":
        session = DBStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookie = str(session.session_key)
    else:
        cookie = stock_signed_cookie(user)
    adopted = holding(cookie)
    assert whoami(adopted) == "alice"

    assert UserSession.objects.filter(user=user, status="active").count() == 1
    assert UserSession.objects.get(user=user, status="active").adopted
    assert UserSession.objects.get(user=user, adopted=False).revoke_reason == "session_limit"
    assert whoami(first) is None


def test_an_adopted_session_gets_the_absolute_timeout(settings: Any, user: Any) -> None:
    settings.SESSION_ENGINE = SIGNED
    settings.SESSIONMGR = {"ABSOLUTE_TIMEOUT": 3600, "ACTIVITY_UPDATE_INTERVAL": 60}
    with time_machine.travel(time.time(), tick=False) as clock:
        client = holding(stock_signed_cookie(user))
        assert whoami(client) == "alice"
        clock.shift(3601)
        assert whoami(client) is None
    assert UserSession.objects.get(user=user).effective_status == "expired"


# A session past its end is never stamped anew.


@pytest.mark.parametrize("url", ["/blind-rotate/", "/blind-expiry/"])
def test_a_session_past_its_idle_end_is_not_revived_by_a_blind_rotation(
    engine: str, settings: Any, user: Any, url: str
) -> None:
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 600, "ACTIVITY_UPDATE_INTERVAL": 60}
    with time_machine.travel(time.time(), tick=False) as clock:
        client = logged_in_client(user)
        assert whoami(client) == "alice"
        row = UserSession.objects.get(user=user)
        clock.shift(700)  # past the idle end (600 s + one interval)

        client.get(url)

        assert whoami(client) is None
        row.refresh_from_db()
        assert row.effective_status == "expired"
        assert row.expires_at.timestamp() <= time.time()


@pytest.mark.django_db(transaction=True)  # a trigger is DDL: MariaDB commits it
@pytest.mark.parametrize("engine_name", ["db", "signed_cookies"])
def test_logins_whose_row_could_not_be_written_stay_within_the_limit(
    settings: Any, user: Any, engine_name: str
) -> None:
    """Logins whose row INSERT failed (a locked database under concurrent
    logins, say) go on without a marker; each is adopted on its next request,
    under the same limit as a login."""
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine_name}"
    settings.SESSIONMGR = {"MAX_SESSIONS": 1}
    clients = []
    with failing(UserSession._meta.db_table, "INSERT"):
        for second in range(4):  # signed cookies of one second would be identical
            with time_machine.travel(time.time() + second):
                clients.append(logged_in_client(user))
    assert not UserSession.objects.exists()

    served = [whoami(client) for client in clients]

    assert UserSession.objects.filter(user=user, status="active").count() == 1
    if engine_name == "db":
        assert served == ["alice"] * 4  # each adopted in turn, revoking the one before
    else:
        # Once the limit revoked an adopted signed cookie, no other marker-less
        # one of the user is adopted (it has no identity a revoke could hold).
        assert served == ["alice", "alice", None, None]
    assert [whoami(client) for client in clients].count("alice") == 1
