"""The bundled HTML pages, through the test client and real session engines."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_script_prefix
from django.urls import reverse
from django.utils import timezone

from django_sessionmgr.models import UserSession
from django_sessionmgr.templatetags.sessionmgr_tags import device_name, time_ago
from tests.helpers import (
    FIREFOX,
    IPHONE,
    PASSWORD,
    logged_in_client,
    make_client,
    make_row,
    on_every_engine,
    whoami,
)

pytestmark = pytest.mark.django_db

LIST = "/account/sessions/"
REVOKE_OTHERS = "/account/sessions/revoke-others/"
CONFIRM_OTHERS = "/account/sessions/revoke-others/confirm/"


def revoke_url(pk: Any) -> str:
    return f"/account/sessions/{pk}/revoke/"


def page_text(client: Client, path: str = LIST) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_url_names():
    pk = uuid.uuid4()

    assert reverse("sessionmgr:list") == LIST
    assert reverse("sessionmgr:revoke", args=[pk]) == revoke_url(pk)
    assert reverse("sessionmgr:revoke_others") == REVOKE_OTHERS
    assert reverse("sessionmgr:revoke_others_confirm") == CONFIRM_OTHERS


@pytest.mark.parametrize(
    "path",
    [LIST, REVOKE_OTHERS, CONFIRM_OTHERS, revoke_url("2f51685c-5337-4a29-a5c8-83eaf0c9d558")],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_go_to_the_login_page(user, path, method):
    logged_in_client(user)

    response = getattr(make_client(), method)(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"
    assert UserSession.objects.active().count() == 1


def test_list_shows_the_users_active_sessions(user, other_user, settings):
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)
    settings.SESSIONMGR = {"ANOMALY_DETECTION": False}  # a sign-in from Sweden is not flagged
    client = logged_in_client(user, user_agent=FIREFOX, ip="81.2.69.142")
    logged_in_client(user, user_agent=IPHONE, ip="89.160.20.112")
    logged_in_client(other_user, user_agent="Bob's Browser/1.0", ip="175.16.199.1")
    make_row(user, status=UserSession.Status.REVOKED, user_agent="Revoked/1.0")
    make_row(user, expires_at=timezone.now() - timedelta(minutes=1), user_agent="Lapsed/1.0")
    phone = UserSession.objects.get(user_agent=IPHONE)

    html = page_text(client)

    assert "<h1>Where you're signed in</h1>" in html
    assert html.count('class="sessionmgr-session') == 2
    current, other = html.split('<li class="sessionmgr-session')[1:3]
    assert "sessionmgr-session--current" in current
    assert "This device" in current and "This device" not in other
    assert "Firefox 128 on Ubuntu" in current and "Desktop" in current
    assert "London, GB" in current and "81.2.69.142" in current
    assert ">iPhone</h2>" in other and "Safari 17 on iOS 17.0" in other and "Mobile" in other
    assert ">Ubuntu <strong" in current
    assert "Linköping, SE" in other and "89.160.20.112" in other
    assert "less than a minute ago" in other
    assert f'action="{revoke_url(phone.pk)}"' in other
    assert "/revoke/" not in current
    assert "Sign out all other sessions" in html
    assert "Bob" not in html and "Revoked/1.0" not in html and "Lapsed" not in html


def test_no_revoke_buttons_when_alone(user):
    client = logged_in_client(user)

    html = page_text(client)

    assert "This device" in html
    assert "/revoke" not in html
    assert "Sign out all other sessions" not in html


def test_relative_times(user):
    client = logged_in_client(user)
    now = timezone.now()
    make_row(
        user,
        created_at=now - timedelta(days=3, hours=1),
        last_activity_at=now - timedelta(hours=2, minutes=5),
    )

    html = page_text(client)

    assert ">3 days ago</time>" in html
    assert ">2 hours ago</time>" in html


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-30, "less than a minute ago"),
        (59, "less than a minute ago"),
        (60, "1 minute ago"),
        (3599, "59 minutes ago"),
        (3600, "1 hour ago"),
        (86399, "23 hours ago"),
        (86400, "1 day ago"),
        (86400 * 45, "45 days ago"),
    ],
)
def test_time_ago(seconds, text):
    assert time_ago(timezone.now() - timedelta(seconds=seconds)) == text


def test_time_ago_of_nothing_is_empty():
    assert time_ago(None) == ""


def test_the_session_key_never_appears(server_engine, user):
    client = logged_in_client(user)
    logged_in_client(user, user_agent=IPHONE)

    html = page_text(client)

    for key in UserSession.objects.values_list("session_key", flat=True):
        assert key and key not in html


def test_list_paginates_with_this_device_on_every_page(user):
    client = logged_in_client(user)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    for _ in range(50):
        make_row(user, last_activity_at=an_hour_ago)

    first = page_text(client)
    second = page_text(client, LIST + "?page=2")

    # Page 1 lists this device and 49 others, page 2 the last other one.
    assert first.count('class="sessionmgr-session') == 50
    assert second.count('class="sessionmgr-session') == 2
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert first.count("This device") == 1 and second.count("This device") == 1


def test_list_page_runs_a_fixed_number_of_queries(user, django_assert_num_queries):
    client = logged_in_client(user)
    for _ in range(30):
        make_row(user)
    client.get(LIST)

    # Session, user, this device's row, COUNT, and the page of rows.
    with django_assert_num_queries(5):
        client.get(LIST)


def test_revoke_signs_the_other_session_out(user):
    client = logged_in_client(user, user_agent=FIREFOX)
    phone = logged_in_client(user, user_agent=IPHONE)
    row = UserSession.objects.get(user_agent=IPHONE)

    response = client.post(revoke_url(row.pk), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert messages_of(response) == ["Signed out Safari 17 on iOS 17.0."]
    row.refresh_from_db()
    assert row.status == UserSession.Status.REVOKED
    assert (row.revoked_by, row.revoke_reason) == (user, "user")
    assert whoami(phone) is None
    assert whoami(client) == "alice"
    assert "This device" in response.content.decode()


def test_revoking_the_current_session_is_refused(engine, user):
    client = logged_in_client(user)
    row = UserSession.objects.get()

    response = client.post(revoke_url(row.pk), follow=True)

    assert messages_of(response) == ["This is the session you are using. To end it, sign out."]
    row.refresh_from_db()
    assert row.status == UserSession.Status.ACTIVE
    assert whoami(client) == "alice"


def test_revoking_an_ended_session_says_so(user):
    client = logged_in_client(user)
    ended = make_row(user, status=UserSession.Status.ENDED, ended_at=timezone.now())

    response = client.post(revoke_url(ended.pk), follow=True)

    assert messages_of(response) == ["That session had already ended."]
    ended.refresh_from_db()
    assert ended.status == UserSession.Status.ENDED


@pytest.mark.parametrize("target", ["foreign", "unknown", "malformed"])
def test_revoking_anything_but_an_own_session_is_a_404(user, other_user, target):
    client = logged_in_client(user)
    bob = logged_in_client(other_user)
    foreign = UserSession.objects.get(user=other_user)
    path = {
        "foreign": revoke_url(foreign.pk),
        "unknown": revoke_url(uuid.uuid4()),
        "malformed": "/account/sessions/not-a-uuid/revoke/",
    }[target]

    response = client.post(path)

    assert response.status_code == 404
    assert whoami(bob) == "bob"
    assert UserSession.objects.active().count() == 2


@on_every_engine(
    ("others", "message"),
    [
        (3, "Signed out 3 other sessions."),
        (0, "There were no other sessions to sign out."),
        (1, "Signed out 1 other session."),
    ],
)
def test_revoke_others(engine, user, other_user, others, message):
    client = logged_in_client(user)
    phones = [logged_in_client(user, user_agent=IPHONE) for _ in range(others)]
    bob = logged_in_client(other_user)

    response = client.post(REVOKE_OTHERS, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert messages_of(response) == [message]
    assert [whoami(phone) for phone in phones] == [None] * others
    assert whoami(client) == "alice"
    assert whoami(bob) == "bob"
    assert UserSession.objects.filter(status=UserSession.Status.REVOKED).count() == others


@pytest.mark.parametrize("path", [REVOKE_OTHERS, "revoke-one"])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_state_changes_are_post_only(user, path, method):
    client = logged_in_client(user)
    logged_in_client(user, user_agent=IPHONE)
    if path == "revoke-one":
        path = revoke_url(UserSession.objects.get(user_agent=IPHONE).pk)

    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert UserSession.objects.active().count() == 2


def csrf_login(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True, headers={"user-agent": FIREFOX})
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        {
            "username": user.get_username(),
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302
    return client


def form_token(html: str, action: str) -> str:
    form = re.search(rf'action="{re.escape(action)}">(.*?)</form>', html, re.S)
    assert form is not None
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(1))
    assert token is not None
    return token.group(1)


@pytest.mark.parametrize("which", ["one", "others"])
def test_posts_need_the_csrf_token(user, which):
    client = csrf_login(user)
    logged_in_client(user, user_agent=IPHONE)
    phone = UserSession.objects.get(user_agent=IPHONE)
    action = revoke_url(phone.pk) if which == "one" else REVOKE_OTHERS

    refused = client.post(action)
    forged = client.post(action, {"csrfmiddlewaretoken": "x" * 64})

    assert (refused.status_code, forged.status_code) == (403, 403)
    assert UserSession.objects.active().count() == 2
    token = form_token(page_text(client), action)
    accepted = client.post(action, {"csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    phone.refresh_from_db()
    assert phone.status == UserSession.Status.REVOKED


def test_base_template_can_be_overridden(user, settings, tmp_path: Path):
    override = tmp_path / "django_sessionmgr" / "base.html"
    override.parent.mkdir()
    override.write_text(
        "<div id='project-layout'>{% block sessionmgr_content %}{% endblock %}</div>"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    client = logged_in_client(user)

    html = page_text(client)

    assert html.startswith("<div id='project-layout'>")
    assert "This device" in html
    assert "sessionmgr.css" not in html


def test_sign_out_others_asks_first_on_its_own_page(user, other_user):
    client = logged_in_client(user, user_agent=FIREFOX)
    phones = [logged_in_client(user, user_agent=IPHONE) for _ in range(2)]
    bob = logged_in_client(other_user, user_agent=IPHONE)
    current = UserSession.objects.get(user=user, user_agent=FIREFOX)

    listing = page_text(client)
    html = page_text(client, CONFIRM_OTHERS)

    # The list's button is a link here when there is no script to open the
    # dialog: no GET form, whose submission would add a stray "?".
    assert f'href="{CONFIRM_OTHERS}" data-sessionmgr-dialog=' in listing
    assert 'method="get"' not in listing
    # One heading, the question, then the list under a heading of its own.
    assert '<h1 id="sessionmgr-confirm-title">Sign out 2 other sessions?</h1>' in html
    assert html.count("Sign out 2 other sessions?") == 1
    assert ">Sessions that will be signed out</h2>" in html
    assert ">Sign out 2 sessions</button>" in html
    assert html.count('<p class="sessionmgr-device">iPhone</p>') == 2
    assert str(current.pk) not in html and "Ubuntu" not in html
    assert f'href="{LIST}">Cancel</a>' in html
    # Looking changed nothing.
    assert [whoami(phone) for phone in phones] == ["alice", "alice"]
    response = client.post(REVOKE_OTHERS, {}, follow=True)
    assert messages_of(response) == ["Signed out 2 other sessions."]
    assert [whoami(phone) for phone in phones] == [None, None]
    assert whoami(client) == "alice" and whoami(bob) == "bob"


def test_the_confirmation_page_is_get_only(user):
    client = logged_in_client(user)
    logged_in_client(user, user_agent=IPHONE)

    response = client.post(CONFIRM_OTHERS)

    assert response.status_code == 405
    assert UserSession.objects.active().count() == 2


def test_the_confirmation_page_with_no_other_sessions(user):
    client = logged_in_client(user)

    html = page_text(client, CONFIRM_OTHERS)

    assert "There are no other sessions to sign out." in html
    assert REVOKE_OTHERS not in html
    assert f'href="{LIST}"' in html


def test_the_confirmation_page_names_ten_and_counts_the_rest(user, django_assert_num_queries):
    client = logged_in_client(user)
    for _ in range(12):
        make_row(user, device_family="iPad", device_type="tablet")
    client.get(CONFIRM_OTHERS)

    # Session, user, the ten named, and the count.
    with django_assert_num_queries(4):
        html = page_text(client, CONFIRM_OTHERS)

    assert "Sign out 12 other sessions?" in html
    assert html.count('<p class="sessionmgr-device">iPad</p>') == 10
    assert "and 2 more" in html


def test_the_list_page_carries_the_confirmation_dialog(user):
    client = logged_in_client(user, user_agent=FIREFOX)
    logged_in_client(user, user_agent=IPHONE)

    html = page_text(client)

    dialog = re.search(r'<dialog id="sessionmgr-confirm-others"[^>]*>.*?</dialog>', html, re.S)
    assert dialog is not None
    # Shown only by the script: a browser without <dialog> shows nothing inline.
    assert dialog.group().split(">")[0].endswith(" hidden")
    assert "Sign out 1 other session?" in dialog.group()
    assert f'action="{REVOKE_OTHERS}"' in dialog.group()
    assert 'formmethod="dialog"' in dialog.group()
    assert "sessionmgr.js" in html


def test_breadcrumbs_lead_back_to_the_site(user):
    client = logged_in_client(user)

    listing = page_text(client)
    confirm = page_text(client, CONFIRM_OTHERS)
    with override_script_prefix("/shop/"):
        prefixed = page_text(client)

    assert '<a href="/">Back to the site</a>' in listing
    assert '<li aria-current="page">Your sessions</li>' in listing
    assert '<a href="/">Back to the site</a>' in confirm
    assert f'<a href="{LIST}">Your sessions</a>' in confirm
    assert '<a href="/shop/">Back to the site</a>' in prefixed


def test_the_back_link_is_a_template_block(user, settings, tmp_path: Path):
    override = tmp_path / "django_sessionmgr" / "session_list.html"
    override.parent.mkdir()
    override.write_text(
        '{% extends "django_sessionmgr/session_list.html" %}'
        '{% block back_link %}<a href="/dashboard/">Dashboard</a>{% endblock %}'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    client = logged_in_client(user)

    html = page_text(client)

    assert '<a href="/dashboard/">Dashboard</a>' in html
    assert "Back to the site" not in html


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"device_family": "iPad", "device_os": "iPadOS 17.5"}, "iPad"),
        ({"device_family": "Pixel 8", "device_os": "Android 14"}, "Pixel 8"),
        ({"device_family": "Other", "device_os": "Windows 11"}, "Windows 11"),
        ({"device_family": "Other", "device_os": "Other", "device_browser": "curl 8"}, "curl 8"),
        (
            {"device_family": "Spider", "device_type": "bot", "device_browser": "Googlebot 2"},
            "Googlebot 2",
        ),
        ({"device_type": "bot"}, "Bot"),
        ({}, "Unknown device"),
    ],
)
def test_device_names_on_the_page(fields, name):
    assert device_name(UserSession(**fields)) == name


def test_the_ended_sessions_view_and_its_bad_values(user):
    client = logged_in_client(user, user_agent=FIREFOX)
    phone = logged_in_client(user, user_agent=IPHONE)
    client.post(REVOKE_OTHERS)

    html = page_text(client, f"{LIST}?show=ended")

    assert "<h1>Sessions that have ended</h1>" in html
    assert html.count('class="sessionmgr-session') == 1
    assert "Signed out by you from another device" in html
    assert "sessionmgr:revoke" not in html and "/revoke/" not in html
    assert whoami(phone) is None
    for bad in ("all", "", "ENDED", "x" * 500):
        response = client.get(LIST, {"show": bad})
        assert response.status_code == 400, bad
        assert response.content == b"Unknown value for show: use active or ended."


def test_signing_out_this_device_from_the_page(engine, user, settings):
    client = logged_in_client(user, user_agent=FIREFOX)
    other = logged_in_client(user, user_agent=IPHONE)
    assert 'action="/account/sessions/sign-out/"' in page_text(client)
    assert client.get("/account/sessions/sign-out/").status_code == 405

    response = client.post("/account/sessions/sign-out/")

    assert response.status_code == 302 and response["Location"] == "/"
    assert whoami(client) is None and whoami(other) == "alice"
    assert UserSession.objects.filter(status="ended").count() == 1
