"""``PATCH sessions/<id>/``: a user names one of their sessions, and the name
shows in the API and on the sessions page."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import PASSWORD, logged_in_client, make_row, row_of

pytestmark = pytest.mark.django_db

API = "/api/sessions/"
PAGE = "/account/sessions/"


def detail(pk: Any) -> str:
    return f"{API}{pk}/"


def patch(client: Client, pk: Any, body: Any, **extra: Any) -> Any:
    return client.patch(detail(pk), json.dumps(body), content_type="application/json", **extra)


def test_naming_a_token_session_answers_it_and_keeps_the_name(user):
    client = logged_in_client(user)
    token = make_row(user, kind=UserSession.Kind.KNOX, device_browser="python-requests 2.32")

    response = patch(client, token.pk, {"name": "  CI deploy key  "})

    assert response.status_code == 200
    assert response.json()["id"] == str(token.pk)
    assert response.json()["name"] == "CI deploy key"
    assert response.json()["kind"] == "knox"
    assert response.json()["is_current"] is False
    token.refresh_from_db()
    assert token.name == "CI deploy key"
    assert token.status == UserSession.Status.ACTIVE
    # A name only: no PUT of the whole session.
    put = client.put(detail(token.pk), json.dumps({"name": "x"}), content_type="application/json")
    assert put.status_code == 405


def test_the_current_browser_session_and_an_ended_one_can_be_named(user):
    client = logged_in_client(user)
    current = row_of(client)
    ended = make_row(user, status=UserSession.Status.ENDED, ended_at=timezone.now())
    expired = make_row(user, expires_at=timezone.now() - timedelta(minutes=1))

    answers = [
        patch(client, current.pk, {"name": "Work laptop"}),
        patch(client, ended.pk, {"name": "Old phone"}),
        patch(client, expired.pk, {"name": "Hotel PC"}),
    ]

    assert [r.status_code for r in answers] == [200, 200, 200]
    assert answers[0].json()["is_current"] is True
    assert [r.json()["status"] for r in answers] == ["active", "ended", "expired"]
    names = dict(UserSession.objects.filter(user=user).values_list("pk", "name"))
    assert names == {current.pk: "Work laptop", ended.pk: "Old phone", expired.pk: "Hotel PC"}
    ended.refresh_from_db()
    assert ended.status == UserSession.Status.ENDED  # naming brings nothing back


def test_an_empty_name_clears_it_and_64_characters_fit(user):
    client = logged_in_client(user)
    row = make_row(user, name="Old name")
    longest = "é" * 64

    cleared = patch(client, row.pk, {"name": "   "})
    row.refresh_from_db()
    assert (cleared.status_code, row.name) == (200, "")
    # Counted after the spaces around it are removed.
    full = patch(client, row.pk, {"name": f" {longest} "})
    row.refresh_from_db()
    assert (full.status_code, row.name) == (200, longest)


def test_another_users_session_is_the_same_404_as_unknown_and_get(user, other_user):
    client = logged_in_client(user)
    foreign = row_of(logged_in_client(other_user))

    answers = [
        patch(client, pk, {"name": "Mine now"}) for pk in (foreign.pk, uuid.uuid4(), "not-a-uuid")
    ]
    read = client.get(detail(foreign.pk))

    assert [r.status_code for r in answers] == [404, 404, 404]
    assert {r.content for r in answers} == {read.content}
    foreign.refresh_from_db()
    assert foreign.name == ""


BAD_BODIES = [
    pytest.param({"name": "Laptop", "status": "revoked"}, "status", id="unknown-key"),
    pytest.param({"label": "Laptop"}, "label", id="only-unknown-key"),
    pytest.param({}, "name", id="no-name"),
    pytest.param({"name": 5}, "name", id="number"),
    pytest.param({"name": True}, "name", id="boolean"),
    pytest.param({"name": None}, "name", id="null"),
    pytest.param({"name": ["Laptop"]}, "name", id="list"),
    pytest.param({"name": "x" * 65}, "name", id="too-long"),
    pytest.param({"name": "two\nlines"}, "name", id="line-break"),
    pytest.param({"name": "Laptop\n"}, "name", id="trailing-line-break"),
    pytest.param({"name": "tab\there"}, "name", id="tab"),
    pytest.param({"name": "nul\x00"}, "name", id="nul"),
    pytest.param({"name": "bell\x07"}, "name", id="control"),
    pytest.param({"name": "\u202egnp.exe"}, "name", id="bidi-override"),
    pytest.param(["Laptop"], "non_field_errors", id="list-body"),
    pytest.param("Laptop", "non_field_errors", id="string-body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_anything_but_a_printable_name_is_a_400_and_changes_nothing(user, body, field):
    client = logged_in_client(user)
    row = make_row(user, kind=UserSession.Kind.JWT, name="Kept")

    response = patch(client, row.pk, body)

    assert response.status_code == 400
    assert field in response.json()
    assert all(isinstance(m, str) and m for m in response.json()[field])
    row.refresh_from_db()
    assert row.name == "Kept"


def test_malformed_json_is_a_400_and_changes_nothing(user):
    client = logged_in_client(user)
    row = make_row(user, name="Kept")

    response = client.patch(detail(row.pk), "{name:", content_type="application/json")

    assert response.status_code == 400
    row.refresh_from_db()
    assert row.name == "Kept"


def test_a_session_authenticated_patch_needs_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=user.get_username(), password=PASSWORD)
    row = make_row(user)

    refused = patch(client, row.pk, {"name": "Forged"})
    row.refresh_from_db()
    assert refused.status_code == 403 and row.name == ""

    client.get(PAGE)  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = patch(client, row.pk, {"name": "Mine"}, HTTP_X_CSRFTOKEN=token)
    row.refresh_from_db()
    assert accepted.status_code == 200 and row.name == "Mine"


def test_naming_counts_against_the_write_throttle(user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"sessionmgr_revoke": "2/min"},
    }
    client = logged_in_client(user)
    row = make_row(user)

    codes = [patch(client, row.pk, {"name": f"n{i}"}).status_code for i in range(3)]

    assert codes == [200, 200, 429]
    assert client.get(detail(row.pk)).status_code == 200  # reads are not that scope
    row.refresh_from_db()
    assert row.name == "n1"


def test_the_name_shows_in_the_list_and_on_the_page(user):
    client = logged_in_client(user)
    current = row_of(client)
    token = make_row(user, kind=UserSession.Kind.DRF_TOKEN, device_browser="curl 8.5")
    patch(client, current.pk, {"name": "Kitchen <b>iMac</b>"})
    patch(client, token.pk, {"name": "Backup script"})

    listed = {item["id"]: item["name"] for item in client.get(API).json()["results"]}
    html = client.get(PAGE).content.decode()

    assert listed == {str(current.pk): "Kitchen <b>iMac</b>", str(token.pk): "Backup script"}
    assert "Kitchen &lt;b&gt;iMac&lt;/b&gt;" in html and "<b>iMac</b>" not in html
    browser_item = html.split('data-kind="session"')[1].split("</li>")[0]
    token_item = html.split('data-kind="drf_token"')[1].split("</li>")[0]
    # The name is the title; the device (a browser's) or the kind (a token's) stays in view.
    assert 'class="sessionmgr-device">Kitchen &lt;b&gt;iMac&lt;/b&gt; <strong' in browser_item
    assert "Firefox 128 on Ubuntu" in browser_item
    assert 'class="sessionmgr-device">Backup script</h3>' in token_item
    assert "API token · curl 8.5" in token_item


def test_the_schema_documents_the_rename():
    generators = pytest.importorskip("drf_spectacular.generators")
    schema = generators.SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/sessions/{id}/"]["patch"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]

    assert set(operation["responses"]) == {"200", "400", "401", "403", "404"}
    assert body["required"] == ["name"] and body["additionalProperties"] is False
    assert body["properties"]["name"]["maxLength"] == 64
    assert set(operation["requestBody"]["content"]) == {"application/json"}
