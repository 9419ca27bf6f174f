"""``current/`` and ``is_current`` follow the authenticator, not the cookie.

A project may list DRF's ``TokenAuthentication`` and basic auth before
``SessionAuthentication``. A request then can carry one user's token and the
browser's session cookie of another user (or of the same user): the session
did not authenticate it, so no session is current. ``authentication_classes``
is bound when a view class is created, so an override of
``DEFAULT_AUTHENTICATION_CLASSES`` cannot reach the app's viewsets; the
token-first viewsets here are what such a project gets.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path
from rest_framework.authentication import (
    BasicAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)
from rest_framework.authtoken.models import Token
from rest_framework.routers import SimpleRouter

from django_sessionmgr.api.staff import StaffUserSessionViewSet
from django_sessionmgr.api.views import UserSessionViewSet
from django_sessionmgr.models import UserSession
from tests.urls import urlpatterns as project_urlpatterns

from .helpers import IPHONE, PASSWORD, logged_in_client, make_staff, whoami

TOKEN_FIRST = [TokenAuthentication, BasicAuthentication, SessionAuthentication]


class TokenFirstSessions(UserSessionViewSet):
    authentication_classes = TOKEN_FIRST


class TokenFirstStaffSessions(StaffUserSessionViewSet):
    authentication_classes = TOKEN_FIRST


router = SimpleRouter()
router.register("sessions", TokenFirstSessions, basename="session")
router.register("admin/sessions", TokenFirstStaffSessions, basename="admin-session")
urlpatterns = [
    path("api/", include((router.urls, "sessionmgr_api"))),
    *project_urlpatterns,
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

CURRENT = "/api/sessions/current/"
LIST = "/api/sessions/?status=all"


def token(user: Any) -> dict[str, str]:
    key = Token.objects.get_or_create(user=user)[0].key
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def browsers(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The browser sessions among ``results``: a DRF token has a row of its own."""
    ids = {
        str(pk) for pk in UserSession.objects.filter(kind="session").values_list("pk", flat=True)
    }
    return [r for r in results if r["id"] in ids]


def basic(user: Any) -> dict[str, str]:
    credentials = base64.b64encode(f"{user.get_username()}:{PASSWORD}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {credentials}"}


def row_id(client: Client) -> str:
    from django_sessionmgr.markers import SESSION_MARKER

    return str(client.session[SESSION_MARKER][0])


@pytest.fixture(params=["token", "basic"])
def credentials(request: pytest.FixtureRequest) -> Any:
    return {"token": token, "basic": basic}[request.param]


def test_session_alone_still_makes_a_current_session(user):
    browser = logged_in_client(user)
    response = browser.get(CURRENT)
    assert response.status_code == 200
    assert response.json()["id"] == row_id(browser)
    listed = browser.get(LIST).json()["results"]
    assert [r["is_current"] for r in listed] == [True]


def test_another_users_cookie_is_not_current(engine, user, other_user, credentials):
    # Alice's browser also carries Bob's credentials: Bob is the one asking.
    alices_browser = logged_in_client(user)
    logged_in_client(other_user, user_agent=IPHONE)
    headers = credentials(other_user)

    current = alices_browser.get(CURRENT, **headers)
    listed = alices_browser.get(LIST, **headers)

    assert current.status_code == 404
    assert row_id(alices_browser) not in current.content.decode()
    results = listed.json()["results"]
    assert [r["user_agent"] for r in browsers(results)] == [IPHONE]
    assert not any(r["is_current"] for r in results)
    assert whoami(alices_browser) == "alice"


def test_own_cookie_under_a_token_is_not_current_either(user, credentials):
    browser = logged_in_client(user)
    headers = credentials(user)
    mine = row_id(browser)

    assert browser.get(CURRENT, **headers).status_code == 404
    listed = browser.get(LIST, **headers).json()["results"]
    assert not any(r["is_current"] for r in listed)
    assert [(r["id"], r["is_current"]) for r in browsers(listed)] == [(mine, False)]
    assert browser.get(f"/api/sessions/{mine}/", **headers).json()["is_current"] is False


def test_revoke_others_under_a_token_reaches_the_cookies_session(user, other_user):
    alices_browser = logged_in_client(user)
    bobs_phone = logged_in_client(other_user, user_agent=IPHONE)
    bobs_laptop = logged_in_client(other_user)

    response = alices_browser.post("/api/sessions/revoke-others/", **token(other_user))

    # Bob asked with a token: none of his sessions is "this one", and Alice's is not his.
    # DRF's stock TokenAuthentication marks no row current: his token's own row goes too.
    assert response.json() == {"revoked": 3}
    assert whoami(bobs_phone) is None
    assert whoami(bobs_laptop) is None
    assert whoami(alices_browser) == "alice"


def test_staff_token_request_marks_no_row_current(django_user_model, user):
    staff = make_staff(django_user_model, "carol", "view_usersession", "revoke_usersession")
    browser = logged_in_client(staff)
    logged_in_client(user)
    own = row_id(browser)

    listed = browser.get("/api/admin/sessions/", **token(staff)).json()["results"]
    session_listed = browser.get("/api/admin/sessions/").json()["results"]

    assert len(browsers(listed)) == 2 and not any(r["is_current"] for r in listed)
    assert {r["id"] for r in session_listed if r["is_current"]} == {own}
    # Asked with a token, the browser session is not the one acting: it may be revoked.
    response = browser.delete(
        f"/api/admin/sessions/{own}/",
        json.dumps({"reason": "lost laptop"}),
        content_type="application/json",
        **token(staff),
    )
    assert response.status_code == 204
    assert UserSession.objects.get(pk=own).status == "revoked"
    assert whoami(browser) is None
