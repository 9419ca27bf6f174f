"""What a token session looks like wherever sessions are shown: the JSON of
both APIs, the sessions page (browsers and apps apart), the admin's list,
change page, filter and user page. Its token digest is never shown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import IPHONE, logged_in_client, make_row, make_staff, row_of

pytestmark = pytest.mark.django_db

API = "/api/sessions/"
STAFF_API = "/api/admin/sessions/"
PAGE = "/account/sessions/"
CHANGELIST = "/admin/django_sessionmgr/usersession/"
#: What a token's row holds to find it: a secret, never to be shown.
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def knox_row(user: Any, **fields: Any) -> UserSession:
    return make_row(
        user,
        kind=UserSession.Kind.KNOX,
        token_digest=DIGEST,
        device_browser="okhttp 4.12",
        device_os="Android 14",
        device_type="mobile",
        **fields,
    )


def jwt_row(user: Any, **fields: Any) -> UserSession:
    return make_row(
        user,
        kind=UserSession.Kind.JWT,
        token_digest=DIGEST[::-1],
        device_browser="MyApp 3.1",
        device_os="iOS 17",
        device_type="mobile",
        **fields,
    )


def page(client: Client, path: str = PAGE, **extra: Any) -> str:
    response = client.get(path, **extra)
    assert response.status_code == 200, response.status_code
    html: str = response.content.decode()
    return html


# -- JSON ---------------------------------------------------------------------------


def test_each_session_in_the_json_says_its_kind_and_name(user):
    client = logged_in_client(user)
    browser = row_of(client)
    window = timezone.now() + timedelta(minutes=5)
    knox = knox_row(user, name="Build server")
    jwt = jwt_row(user, access_valid_until=window)

    response = client.get(API)
    items = {item["id"]: item for item in response.json()["results"]}

    assert {pk: (i["kind"], i["name"]) for pk, i in items.items()} == {
        str(browser.pk): ("session", ""),
        str(knox.pk): ("knox", "Build server"),
        str(jwt.pk): ("jwt", ""),
    }
    assert items[str(browser.pk)]["access_valid_until"] is None
    assert items[str(knox.pk)]["access_valid_until"] is None
    assert items[str(jwt.pk)]["access_valid_until"] is not None
    assert "token_digest" not in response.content.decode()
    assert DIGEST not in response.content.decode()
    assert DIGEST[::-1] not in response.content.decode()


def test_the_staff_api_shows_kind_and_name_and_never_the_digest(user, django_user_model):
    staff = logged_in_client(make_staff(django_user_model, "erin", "view_usersession"))
    knox = knox_row(user, name="Build server")

    listed = staff.get(STAFF_API, {"user": user.pk})
    one = staff.get(f"{STAFF_API}{knox.pk}/")

    assert [(i["kind"], i["name"]) for i in listed.json()["results"]] == [("knox", "Build server")]
    assert (one.json()["kind"], one.json()["name"]) == ("knox", "Build server")
    for response in (listed, one):
        assert DIGEST not in response.content.decode()


# -- the sessions page --------------------------------------------------------------


def test_the_page_lists_browsers_and_apps_apart(user):
    client = logged_in_client(user)
    logged_in_client(user, user_agent=IPHONE)
    knox_row(user)
    jwt_row(user, name="My phone's app")

    html = page(client)
    browsers, apps = html.split('id="sessionmgr-apps"')

    assert '<h2 class="sessionmgr-section-title" id="sessionmgr-browsers">Browsers</h2>' in html
    assert ">Apps and API tokens</h2>" in html
    assert browsers.count('data-kind="session"') == 2 and "data-kind=" not in apps.replace(
        'data-kind="knox"', ""
    ).replace('data-kind="jwt"', "")
    assert apps.count('data-kind="knox"') == 1 and apps.count('data-kind="jwt"') == 1
    # This device leads its own section.
    first_browser = browsers.split('<li class="sessionmgr-session')[1]
    assert "sessionmgr-session--current" in first_browser
    # A token says what it is, with its name and device.
    knox_item = apps.split('data-kind="knox"')[1].split("</li>")[0]
    jwt_item = apps.split('data-kind="jwt"')[1].split("</li>")[0]
    assert 'class="sessionmgr-device">API token</h3>' in knox_item
    assert "okhttp 4.12 on Android 14" in knox_item
    assert 'class="sessionmgr-device">My phone&#x27;s app</h3>' in jwt_item
    assert "App · MyApp 3.1 on iOS 17" in jwt_item
    assert DIGEST not in html and DIGEST[::-1] not in html


def test_a_page_of_browsers_only_has_no_sections(user):
    client = logged_in_client(user)
    logged_in_client(user, user_agent=IPHONE)

    html = page(client)

    assert "sessionmgr-section-title" not in html
    assert ">iPhone</h2>" in html
    assert html.count('data-kind="session"') == 2


def test_apps_alone_get_their_section_on_the_ended_page(user):
    client = logged_in_client(user)
    knox_row(user, status=UserSession.Status.REVOKED, revoked_at=timezone.now())

    html = page(client, f"{PAGE}?show=ended")

    assert ">Apps and API tokens</h2>" in html
    assert 'id="sessionmgr-browsers"' not in html
    assert 'class="sessionmgr-device">API token</h3>' in html


def test_the_sections_are_in_german(user, settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ]
    german = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
    client = logged_in_client(user, **german)
    knox_row(user)
    jwt_row(user)

    html = page(client, **german)

    assert ">Browser</h2>" in html and ">Apps und API-Tokens</h2>" in html
    assert ">API-Token</h3>" in html and ">Anwendung</h3>" in html


def test_the_sign_out_others_question_names_a_token_by_its_kind(user):
    client = logged_in_client(user)
    knox_row(user)

    html = page(client, f"{PAGE}revoke-others/confirm/")

    assert '<p class="sessionmgr-device">API token</p>' in html
    assert DIGEST not in html


# -- the admin ----------------------------------------------------------------------


@pytest.fixture
def admin_client_of(superuser: Any) -> Client:
    return logged_in_client(superuser)


def test_the_admin_list_shows_kind_and_name_and_never_the_digest(user, admin_client_of):
    knox = knox_row(user, name="Build server")
    browser = make_row(user, name="Kitchen iMac", device_browser="Safari 17", device_os="macOS")

    html = page(admin_client_of, CHANGELIST)

    assert "API token · Build server" in html
    assert 'Kitchen iMac<br><span class="quiet">Safari 17 on macOS</span>' in html
    assert DIGEST not in html
    change = page(admin_client_of, f"{CHANGELIST}{knox.pk}/change/")
    assert "API token" in change and "Build server" in change
    assert DIGEST not in change
    assert page(admin_client_of, f"{CHANGELIST}{browser.pk}/change/").count("Kitchen iMac") >= 1


def test_the_admin_filters_by_kind_and_nothing_else_on_it(user, admin_client_of):
    knox = knox_row(user)
    browser = make_row(user, device_browser="Firefox 128")

    html = page(admin_client_of, CHANGELIST, data={"kind__exact": "knox"})

    assert f"{knox.pk}/change/" in html and f"{browser.pk}/change/" not in html
    assert admin_client_of.get(CHANGELIST, {"kind__startswith": "kn"}).status_code == 400
    # The digest is refused like the session key: a right and a wrong one alike.
    right, wrong = (
        admin_client_of.get(CHANGELIST, {"token_digest": value}) for value in (DIGEST, "0" * 64)
    )
    assert right.status_code == wrong.status_code != 200
    assert right.get("Location") == wrong.get("Location")


def test_the_user_page_shows_kind_and_name(user, admin_client_of):
    knox_row(user, name="Build server")
    jwt_row(user)

    html = page(admin_client_of, f"/admin/auth/user/{user.pk}/change/")
    table = html.split('class="sessionmgr-user-sessions"')[1]

    assert "API token · Build server" in table
    assert '>App<br><span class="quiet">MyApp 3.1 on iOS 17</span>' in table
    assert DIGEST not in html and DIGEST[::-1] not in html
