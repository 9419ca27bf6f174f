"""The staff endpoints under ``api/admin/sessions/``, over real HTTP and real engines."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_revoked
from tests.helpers import (
    PASSWORD,
    logged_in_client,
    make_rows,
    make_staff,
    row_of,
    stored_session_exists,
    whoami,
)

pytestmark = pytest.mark.django_db

URL = "/api/admin/sessions/"


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return make_staff(django_user_model, "carol", "view_usersession", "revoke_usersession")


@pytest.fixture
def staff_client(staff: Any) -> Client:
    return logged_in_client(staff)


def post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


# Revoking. The revoke itself runs on every engine in tests/revoke/; here, only the
# cases that look into the store or spare the acting session take every engine.


def test_destroy_revokes_with_the_staff_user_and_reason(engine, user, staff, staff_client):
    victim = logged_in_client(user)
    row = row_of(victim)
    key = victim.session.session_key

    response = staff_client.delete(
        f"{URL}{row.pk}/", json.dumps({"reason": "stolen laptop"}), content_type="application/json"
    )

    assert response.status_code == 204
    row.refresh_from_db()
    assert row.status == UserSession.Status.REVOKED
    assert row.revoked_by == staff
    assert row.revoke_reason == "stolen laptop"
    assert whoami(victim) is None
    if engine != "signed_cookies":
        assert not stored_session_exists(key)
    assert whoami(staff_client) == "carol"


def test_destroy_without_a_body_records_the_default_reason(user, staff_client):
    row = row_of(logged_in_client(user))
    assert staff_client.delete(f"{URL}{row.pk}/").status_code == 204
    row.refresh_from_db()
    assert (row.status, row.revoke_reason) == (UserSession.Status.REVOKED, "api")


def test_destroy_of_an_ended_session_changes_nothing(user, staff_client):
    client = logged_in_client(user)
    row = row_of(client)
    client.post("/accounts/logout/")
    assert staff_client.delete(f"{URL}{row.pk}/").status_code == 204
    row.refresh_from_db()
    assert (row.status, row.revoked_by) == (UserSession.Status.ENDED, None)


def test_destroy_with_a_bad_reason_answers_400_and_revokes_nothing(user, staff_client):
    victim = logged_in_client(user)
    row = row_of(victim)
    response = staff_client.delete(
        f"{URL}{row.pk}/", json.dumps({"reason": "x" * 300}), content_type="application/json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()
    assert whoami(victim) == "alice"


def test_bulk_revoke_by_users(user, other_user, staff, staff_client):
    phone, laptop = logged_in_client(user), logged_in_client(user)
    bob = logged_in_client(other_user)
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append({**kwargs, "ids": {str(r.pk) for r in kwargs["sessions"]}})

    session_revoked.connect(receiver)
    try:
        response = post_json(staff_client, f"{URL}revoke/", {"users": [user.pk], "reason": "hr"})
    finally:
        session_revoked.disconnect(receiver)

    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert whoami(phone) is None
    assert whoami(laptop) is None
    assert whoami(bob) == "bob"
    assert len(received) == 1
    assert received[0]["count"] == 2
    assert received[0]["revoked_by"] == staff
    assert received[0]["reason"] == "hr"
    assert received[0]["ids"] == {str(r.pk) for r in UserSession.objects.filter(user=user)}


def test_bulk_revoke_by_ids(user, staff_client):
    first, second, kept = (logged_in_client(user) for _ in range(3))
    ids = [str(row_of(first).pk), str(row_of(second).pk)]

    response = post_json(staff_client, f"{URL}revoke/", {"ids": ids})

    assert response.json() == {"revoked": 2}
    assert whoami(first) is None
    assert whoami(second) is None
    assert whoami(kept) == "alice"
    assert set(UserSession.objects.filter(revoke_reason="api").values_list("pk", flat=True)) == {
        uuid.UUID(i) for i in ids
    }


def test_bulk_revoke_counts_only_sessions_that_were_active(user, staff_client):
    client = logged_in_client(user)
    row = row_of(client)
    client.post("/accounts/logout/")
    assert post_json(staff_client, f"{URL}revoke/", {"ids": [str(row.pk)]}).json() == {"revoked": 0}


def test_bulk_revoke_query_count_does_not_grow(user, other_user, staff_client):
    make_rows(user, 2)
    make_rows(other_user, 300)

    def queries_for(target: Any) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = post_json(staff_client, f"{URL}revoke/", {"users": [target.pk]})
        assert response.status_code == 200
        return len(captured)

    assert queries_for(user) == queries_for(other_user)
    assert UserSession.objects.filter(status="revoked").count() == 302


# The acting staff member's own session is never revoked


def test_destroy_of_own_current_session_is_refused(engine, staff, staff_client):
    own = row_of(staff_client)

    response = staff_client.delete(f"{URL}{own.pk}/")

    assert response.status_code == 400
    assert response.json()["code"] == "current_session"
    assert str(own.pk) not in response.json()["detail"]
    own.refresh_from_db()
    assert own.status == UserSession.Status.ACTIVE
    assert whoami(staff_client) == "carol"


def test_destroy_of_own_other_session_is_allowed(staff, staff_client):
    phone = logged_in_client(staff)
    assert staff_client.delete(f"{URL}{row_of(phone).pk}/").status_code == 204
    assert whoami(phone) is None
    assert whoami(staff_client) == "carol"


def test_bulk_revoke_by_users_keeps_the_acting_session(engine, user, staff, staff_client):
    phone = logged_in_client(staff)
    victim = logged_in_client(user)

    response = post_json(staff_client, f"{URL}revoke/", {"users": [staff.pk, user.pk]})

    assert response.status_code == 200
    assert response.json() == {"revoked": 2, "kept_current": True}
    assert whoami(staff_client) == "carol"
    assert whoami(phone) is None
    assert whoami(victim) is None
    assert row_of(staff_client).status == UserSession.Status.ACTIVE


def test_bulk_revoke_by_ids_keeps_the_acting_session(user, staff, staff_client):
    victim = logged_in_client(user)
    ids = [str(row_of(staff_client).pk), str(row_of(victim).pk)]

    response = post_json(staff_client, f"{URL}revoke/", {"ids": ids})

    assert response.json() == {"revoked": 1, "kept_current": True}
    assert whoami(staff_client) == "carol"
    assert whoami(victim) is None


def test_bulk_revoke_without_the_acting_session_says_nothing_of_it(user, staff_client):
    logged_in_client(user)
    response = post_json(staff_client, f"{URL}revoke/", {"users": [user.pk]})
    assert response.json() == {"revoked": 1}


def test_bulk_revoke_under_basic_auth_has_no_session_to_keep(user, staff):
    # Basic auth is in DRF's default authentication classes: no session acts here.
    import base64

    credentials = base64.b64encode(f"carol:{PASSWORD}".encode()).decode()
    browser = logged_in_client(staff)
    response = post_json(
        Client(headers={"authorization": f"Basic {credentials}"}),
        f"{URL}revoke/",
        {"users": [staff.pk]},
    )
    assert response.json() == {"revoked": 1}
    assert whoami(browser) is None


# Bad bodies: 400 naming the field, nothing revoked

UNKNOWN = str(uuid.uuid4())
ALICE: list[int] = []  # stands for [alice's pk] (the user exists only inside the test)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": []}, "ids"),
        ({"users": []}, "users"),
        ({"ids": "all"}, "ids"),
        ({"ids": {"a": 1}}, "ids"),
        ({"ids": ["not-a-uuid"]}, "ids"),
        ({"ids": [7]}, "ids"),
        ({"ids": [UNKNOWN]}, "ids"),
        ({"ids": [str(uuid.uuid4()) for _ in range(501)]}, "ids"),
        ({"users": ["abc"]}, "users"),
        ({"users": [True]}, "users"),
        ({"users": [None]}, "users"),
        ({"users": [10**30]}, "users"),
        ({"users": [987654]}, "users"),
        ({"users": [1] * 501}, "users"),
        ({"users": "1"}, "users"),
        ({"ids": [UNKNOWN], "users": ALICE}, "ids"),
        ({"users": ALICE, "reason": "x" * 300}, "reason"),
        ({"users": ALICE, "reason": ["x"]}, "reason"),
        ({"users": ALICE, "reason": "a\x00b"}, "reason"),
        ({"users": ALICE, "reason": None}, "reason"),
        ({"ids": [None]}, "ids"),
        ({"ids": ["\x00"]}, "ids"),
        ({"users": ["1\x00"]}, "users"),
        ({"users": [1.5]}, "users"),
        ({"users": [{"pk": 1}]}, "users"),
        ([], "non_field_errors"),
    ],
)
def test_bulk_revoke_bad_bodies(user, staff_client, body, field):
    victim = logged_in_client(user)
    if isinstance(body, dict) and body.get("users") is ALICE:
        body = {**body, "users": [user.pk]}
    response = post_json(staff_client, f"{URL}revoke/", body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert whoami(victim) == "alice"
    assert not UserSession.objects.filter(status="revoked").exists()


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ('{"reason": "a\\u0000b"}', "application/json", "reason"),
        ('{"reason": 5}', "application/json", None),
        ('{"reason": "' + "x" * 300 + '"}', "application/json", "reason"),
        ("[]", "application/json", "non_field_errors"),
        ('"text"', "application/json", "non_field_errors"),
        ("{nope", "application/json", "detail"),
        ("reason=a%00b", "application/x-www-form-urlencoded", "reason"),
        ("\xff\xfe", "text/plain", "detail"),
    ],
)
def test_destroy_bad_bodies_answer_400_and_revoke_nothing(
    user, staff_client, body, content_type, field
):
    victim = logged_in_client(user)
    row = row_of(victim)
    response = staff_client.delete(f"{URL}{row.pk}/", body, content_type=content_type)
    if field is None:  # a number is taken as its text, as DRF's CharField does
        assert response.status_code == 204
        return
    assert response.status_code in (400, 415), response.content
    assert field in response.json()
    assert whoami(victim) == "alice"


def test_bulk_revoke_with_one_unknown_id_revokes_none(user, staff_client):
    victim = logged_in_client(user)
    body = {"ids": [str(row_of(victim).pk), UNKNOWN]}
    response = post_json(staff_client, f"{URL}revoke/", body)
    assert response.status_code == 400
    assert UNKNOWN in response.json()["ids"][0]
    assert whoami(victim) == "alice"


def test_bulk_revoke_malformed_json(staff_client):
    response = staff_client.post(f"{URL}revoke/", "{nope", content_type="application/json")
    assert response.status_code == 400


def test_bulk_revoke_is_post_only(staff_client):
    assert staff_client.get(f"{URL}revoke/").status_code == 405


def test_user_ids_echo_as_given(user):
    from django_sessionmgr.api.staff import StaffSessionFilterSerializer

    params = StaffSessionFilterSerializer(data={"user": str(user.pk), "status": "active"})
    assert params.is_valid()
    assert params.data["user"] == user.pk


# Reading


def test_retrieve_shows_the_audit_trail_and_never_the_key(user, staff, staff_client):
    victim = logged_in_client(user, ip="81.2.69.142")
    row = row_of(victim)
    row.revoke(by=staff, reason="suspicious")

    response = staff_client.get(f"{URL}{row.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == str(row.pk)
    assert data["status"] == "revoked"
    assert data["user"] == {"id": user.pk, "username": "alice"}
    assert data["revoked_by"] == {"id": staff.pk, "username": "carol"}
    assert data["revoke_reason"] == "suspicious"
    assert data["ip_address"] == "81.2.69.142"
    assert row.session_key
    assert row.session_key not in response.content.decode()
    assert "session_key" not in data


@pytest.mark.parametrize("pk", ["5b0c8f2e-0f4e-4a8e-9d0c-3a1f0e6b7c21", "not-a-uuid", "1", "%00"])
def test_retrieve_unknown_or_malformed_is_404(staff_client, pk):
    assert staff_client.get(f"{URL}{pk}/").status_code == 404
    assert staff_client.delete(f"{URL}{pk}/").status_code == 404


def test_list_is_newest_first_with_cursor_pages_and_no_count(user, staff_client):
    rows = make_rows(user, 120)
    expected = [str(r.pk) for r in sorted(rows, key=lambda r: r.created_at, reverse=True)]
    staff_row = str(UserSession.objects.exclude(user=user).get().pk)

    first = staff_client.get(URL).json()
    assert set(first) == {"next", "previous", "results"}
    assert first["previous"] is None
    assert first["results"][0]["id"] == staff_row  # the staff login is the newest
    seen = [r["id"] for r in first["results"]]
    page = first
    while page["next"]:
        page = staff_client.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]
    assert seen == [staff_row, *expected]

    back = staff_client.get(page["previous"]).json()
    assert [r["id"] for r in back["results"]] == seen[
        -len(page["results"]) - 50 : -len(page["results"])
    ]
    assert back["next"] and back["previous"]


def test_list_orders_rows_created_in_the_same_instant_by_id(user, staff_client):
    now = timezone.now()
    UserSession.objects.bulk_create(
        UserSession(user=user, created_at=now, expires_at=now + timedelta(days=1))
        for _ in range(120)
    )
    seen: list[str] = []
    url: str | None = f"{URL}?user={user.pk}"
    while url:
        page = staff_client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 120


def test_list_filters(user, other_user, staff_client):
    now = timezone.now()
    make_rows(user, 2, ip_address="81.2.69.142")
    make_rows(user, 1, status="revoked", revoked_at=now)
    make_rows(other_user, 1, ip_address="81.2.69.142")
    UserSession.objects.create(user=user, expires_at=now - timedelta(minutes=1))

    def ids(query: str) -> int:
        response = staff_client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return len(response.json()["results"])

    assert ids(f"user={user.pk}") == 4
    assert ids(f"user={user.pk}&status=active") == 2
    assert ids(f"user={user.pk}&status=revoked") == 1
    assert ids(f"user={user.pk}&status=expired") == 1
    assert ids("ip=81.2.69.142") == 3
    assert ids(f"ip=81.2.69.142&user={other_user.pk}") == 1
    assert ids("status=all") == 6


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("user=abc", "user"),
        ("user=99999999999999999999999999", "user"),
        ("status=bogus", "status"),
        ("ip=999.1.1.1", "ip"),
        ("ip=nope", "ip"),
        ("cursor=garbage", "cursor"),
        ("cursor=eHx5fHo=", "cursor"),
        ("cursor=bnwyMDI0LTAxLTAxVDAwOjAwOjAwfDE=", "cursor"),
    ],
)
def test_list_bad_filters_answer_400_naming_the_field(staff_client, query, field):
    response = staff_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_list_query_count_is_fixed_per_page(user, other_user, staff, staff_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(URL).status_code == 200
        return len(captured)

    make_rows(user, 3)
    few = queries()
    make_rows(other_user, 40, status="revoked", revoked_by=staff, revoked_at=timezone.now())
    make_rows(user, 40)
    assert queries() == few


# Permissions


def test_anonymous_is_refused(user):
    client = Client()
    row = make_rows(user, 1)[0]
    assert client.get(URL).status_code in (401, 403)
    assert client.delete(f"{URL}{row.pk}/").status_code in (401, 403)
    assert post_json(client, f"{URL}revoke/", {"users": [user.pk]}).status_code in (401, 403)
    row.refresh_from_db()
    assert row.status == "active"


@pytest.mark.parametrize(
    ("codenames", "staff_flag", "can_read", "can_revoke"),
    [
        ((), True, False, False),
        (("view_usersession", "revoke_usersession"), False, False, False),
        (("view_usersession",), True, True, False),
        (("revoke_usersession",), True, False, True),
        (("change_usersession", "delete_usersession"), True, False, False),
    ],
)
def test_permissions(django_user_model, user, codenames, staff_flag, can_read, can_revoke):
    member = make_staff(django_user_model, "dave", *codenames, staff=staff_flag)
    client = logged_in_client(member)
    victim = logged_in_client(user)
    row = row_of(victim)

    assert client.get(URL).status_code == (200 if can_read else 403)
    assert client.get(f"{URL}{row.pk}/").status_code == (200 if can_read else 403)
    revoke = post_json(client, f"{URL}revoke/", {"users": [user.pk]})
    assert revoke.status_code == (200 if can_revoke else 403)
    assert client.delete(f"{URL}{row.pk}/").status_code == (204 if can_revoke else 403)
    assert whoami(victim) == (None if can_revoke else "alice")


def test_superuser_may_do_everything(django_user_model, user):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = logged_in_client(admin)
    victim = logged_in_client(user)
    assert client.get(URL).status_code == 200
    assert post_json(client, f"{URL}revoke/", {"users": [user.pk]}).json() == {"revoked": 1}
    assert whoami(victim) is None


# OpenAPI


def test_openapi_documents_the_staff_endpoints():
    pytest.importorskip("drf_spectacular", reason="the openapi extra is not installed")
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    problems = [
        message
        for message in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
        if "Staff" in message
    ]
    GENERATOR_STATS.reset()
    assert problems == []

    paths = schema["paths"]
    listing = paths["/api/admin/sessions/"]["get"]
    assert set(listing["responses"]) == {"200", "400", "403"}
    assert {p["name"] for p in listing["parameters"]} == {"cursor", "user", "status", "ip"}
    page = schema["components"]["schemas"]["PaginatedStaffUserSessionList"]
    assert set(page["properties"]) == {"next", "previous", "results"}
    assert set(paths["/api/admin/sessions/{id}/"]["get"]["responses"]) == {"200", "403", "404"}
    assert set(paths["/api/admin/sessions/{id}/"]["delete"]["responses"]) == {
        "204",
        "400",
        "403",
        "404",
    }
    revoke = paths["/api/admin/sessions/revoke/"]["post"]
    assert set(revoke["responses"]) == {"200", "400", "403"}
    revoked = schema["components"]["schemas"]["StaffRevoked"]
    assert set(revoked["properties"]) == {"revoked", "kept_current"}
    assert revoked["required"] == ["revoked"]
    body = revoke["requestBody"]["content"]["application/json"]["schema"]
    assert body["oneOf"] == [{"required": ["ids"]}, {"required": ["users"]}]
    assert body["properties"]["ids"]["maxItems"] == 500
    assert body["properties"]["users"]["maxItems"] == 500
