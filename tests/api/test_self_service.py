"""The self-service JSON API, through real HTTP requests and real session engines."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from django_sessionmgr.api.serializers import UserSessionSerializer
from django_sessionmgr.api.views import UserSessionViewSet
from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_revoked
from tests.helpers import FIREFOX, IPHONE, PASSWORD, logged_in_client, make_client, make_row, whoami

pytestmark = pytest.mark.django_db

LIST = "/api/sessions/"
CURRENT = "/api/sessions/current/"
REVOKE_OTHERS = "/api/sessions/revoke-others/"

SESSION_FIELDS = {
    "id",
    "status",
    "is_current",
    "ip_address",
    "user_agent",
    "device",
    "location",
    "created_at",
    "last_activity_at",
    "expires_at",
    "ended_at",
    "revoked_at",
    "idle_timeout",  # when the session ends for inactivity
    "last_ip_address",  # where it was last seen
    "last_location",
    "impersonated",
    "revoke_reason",  # the code, and the same as a sentence
    "revoke_reason_display",
    "kind",  # token sessions: what it is, the user's name for it,
    "name",
    "access_valid_until",  # and a JWT access token's window
    "flagged_at",  # theft signals
    "flag_reason",
}


def detail(pk: Any) -> str:
    return f"/api/sessions/{pk}/"


def current_id(client: Client) -> str:
    response = client.get(CURRENT)
    assert response.status_code == 200
    return str(response.json()["id"])


# -- list ---------------------------------------------------------------------------


def test_list_shows_own_active_sessions_in_contract_shape(user, other_user):
    client = logged_in_client(user, user_agent=FIREFOX, ip="203.0.113.9")
    logged_in_client(user, user_agent=IPHONE, ip="198.51.100.7")
    logged_in_client(other_user)

    response = client.get(LIST)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert body["next"] is None and body["previous"] is None
    by_agent = {item["user_agent"]: item for item in body["results"]}
    assert set(by_agent) == {FIREFOX, IPHONE}
    firefox, iphone = by_agent[FIREFOX], by_agent[IPHONE]
    assert set(firefox) == SESSION_FIELDS
    assert firefox["is_current"] is True and iphone["is_current"] is False
    assert firefox["status"] == "active"
    assert firefox["ip_address"] == "203.0.113.9"
    assert firefox["device"] == {
        "browser": "Firefox 128",
        "os": "Ubuntu",
        "device": "Other",
        "type": "desktop",
    }
    assert iphone["device"]["type"] == "mobile"
    assert firefox["location"] is None
    assert firefox["ended_at"] is None and firefox["revoked_at"] is None
    assert firefox["flagged_at"] is None and firefox["flag_reason"] is None


def test_list_is_newest_activity_first(user):
    client = logged_in_client(user)
    now = timezone.now()
    old = make_row(user, last_activity_at=now - timedelta(hours=2))
    recent = make_row(user, last_activity_at=now - timedelta(minutes=5))

    ids = [item["id"] for item in client.get(LIST).json()["results"]]

    assert ids == [current_id(client), str(recent.pk), str(old.pk)]


def test_location_comes_from_geoip_at_login(user, settings):
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)
    client = logged_in_client(user, ip="81.2.69.142")

    item = client.get(CURRENT).json()

    assert item["location"] == {"city": "London", "country": "GB"}


def test_the_session_key_never_appears(server_engine, user):
    client = logged_in_client(user)
    logged_in_client(user, user_agent=IPHONE)
    keys = list(UserSession.objects.values_list("session_key", flat=True))
    assert all(keys)

    bodies = [
        client.get(LIST).content,
        client.get(LIST + "?status=all").content,
        client.get(CURRENT).content,
    ]

    for key in keys:
        assert all(key.encode() not in body for body in bodies)


# -- status filter ------------------------------------------------------------------


@pytest.fixture
def rows_in_every_status(user):
    now = timezone.now()
    return {
        "ended": make_row(user, status=UserSession.Status.ENDED, ended_at=now),
        "revoked": make_row(user, status=UserSession.Status.REVOKED, revoked_at=now),
        "expired": make_row(user, status=UserSession.Status.EXPIRED),
        # Still marked active, but its expiry has passed: the API says expired.
        "lapsed": make_row(user, expires_at=now - timedelta(minutes=1)),
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ended", {"ended"}),
        ("revoked", {"revoked"}),
        ("expired", {"expired", "lapsed"}),
    ],
)
def test_status_filter(user, rows_in_every_status, status, expected):
    client = logged_in_client(user)

    body = client.get(LIST, {"status": status}).json()

    assert {item["id"] for item in body["results"]} == {
        str(rows_in_every_status[name].pk) for name in expected
    }
    assert {item["status"] for item in body["results"]} == {status}
    assert body["count"] == len(expected)


def test_status_defaults_to_active_and_all_lists_everything(user, rows_in_every_status):
    client = logged_in_client(user)

    active = client.get(LIST).json()
    everything = client.get(LIST, {"status": "all"}).json()

    assert [item["id"] for item in active["results"]] == [current_id(client)]
    assert everything["count"] == 5


@pytest.mark.parametrize("value", ["bogus", "ACTIVE", ""])
def test_unknown_status_is_a_400_naming_the_choices(user, value):
    client = logged_in_client(user)

    response = client.get(LIST, {"status": value})

    assert response.status_code == 400
    message = response.json()["status"][0]
    assert "active, ended, expired, revoked, all" in message


# -- pagination ---------------------------------------------------------------------


def test_pagination_defaults_to_20_with_links(user):
    client = logged_in_client(user)
    for _ in range(24):
        make_row(user)

    first = client.get(LIST).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["previous"] is None
    assert "limit=20" in first["next"] and "offset=20" in first["next"]
    assert len(second["results"]) == 5
    assert second["next"] is None
    ids = [item["id"] for item in first["results"] + second["results"]]
    assert len(set(ids)) == 25


def test_limit_and_offset(user):
    client = logged_in_client(user)
    for _ in range(9):
        make_row(user)
    everything = [item["id"] for item in client.get(LIST, {"limit": 500}).json()["results"]]

    page = client.get(LIST, {"limit": 3, "offset": 4}).json()

    assert len(everything) == 10
    assert [item["id"] for item in page["results"]] == everything[4:7]
    assert client.get(LIST, {"offset": 50}).json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": -3}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "9" * 5000}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "1.5"}, "offset"),
    ],
)
def test_bad_limit_or_offset_is_a_400(user, params, field):
    client = logged_in_client(user)

    response = client.get(LIST, params)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert "whole number" in response.json()[field][0]


@pytest.mark.parametrize("limit", [1, 50])
def test_list_runs_a_fixed_number_of_queries(user, django_assert_num_queries, limit):
    client = logged_in_client(user)
    for _ in range(60):
        make_row(user, user_agent=IPHONE, ip_address="81.2.69.142")
    client.get(LIST)  # settles the activity write, which is throttled per interval

    # Session, user, COUNT and one SELECT of the page.
    with django_assert_num_queries(4):
        response = client.get(LIST, {"limit": limit})

    assert len(response.json()["results"]) == limit


# -- current and retrieve -----------------------------------------------------------


def test_current_is_the_requesting_session(user):
    firefox = logged_in_client(user, user_agent=FIREFOX)
    iphone = logged_in_client(user, user_agent=IPHONE)

    mine = firefox.get(CURRENT).json()
    theirs = iphone.get(CURRENT).json()

    assert mine["user_agent"] == FIREFOX and mine["is_current"] is True
    assert theirs["user_agent"] == IPHONE and theirs["is_current"] is True
    assert mine["id"] != theirs["id"]


def test_retrieve_own_session_in_any_status(user):
    client = logged_in_client(user)
    revoked = make_row(user, status=UserSession.Status.REVOKED, revoked_at=timezone.now())

    response = client.get(detail(revoked.pk))

    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert response.json()["is_current"] is False
    assert response.json()["revoked_at"] is not None


@pytest.mark.parametrize("method", ["get", "delete"])
def test_foreign_unknown_and_malformed_ids_answer_the_same_404(user, other_user, method):
    client = logged_in_client(user)
    logged_in_client(other_user)
    foreign = UserSession.objects.get(user=other_user)

    responses = [
        getattr(client, method)(detail(pk))
        for pk in (foreign.pk, uuid.uuid4(), "not-a-uuid", "12345", "%00")
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert len({r.content for r in responses}) == 1
    foreign.refresh_from_db()
    assert foreign.status == UserSession.Status.ACTIVE


# -- destroy ------------------------------------------------------------------------


def test_destroy_revokes_another_session(user):
    client = logged_in_client(user, user_agent=FIREFOX)
    phone = logged_in_client(user, user_agent=IPHONE)
    phone_id = current_id(phone)
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    session_revoked.connect(receiver)
    try:
        response = client.delete(detail(phone_id))
    finally:
        session_revoked.disconnect(receiver)

    assert response.status_code == 204
    assert response.content == b""
    row = UserSession.objects.get(pk=phone_id)
    assert row.status == UserSession.Status.REVOKED
    assert row.revoked_by == user
    assert row.revoke_reason == "user"
    assert [r["count"] for r in received] == [1]
    assert whoami(phone) is None
    assert whoami(client) == "alice"


def test_destroy_refuses_the_current_session(engine, user):
    client = logged_in_client(user)
    mine = current_id(client)

    response = client.delete(detail(mine))

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "current_session"
    assert "log out" in body["detail"]
    assert UserSession.objects.get(pk=mine).status == UserSession.Status.ACTIVE
    assert whoami(client) == "alice"


def test_destroy_of_an_ended_session_is_idempotent(user):
    client = logged_in_client(user)
    ended = make_row(user, status=UserSession.Status.ENDED, ended_at=timezone.now())

    response = client.delete(detail(ended.pk))

    assert response.status_code == 204
    ended.refresh_from_db()
    assert ended.status == UserSession.Status.ENDED
    assert ended.revoked_at is None


# -- revoke-others ------------------------------------------------------------------


def test_revoke_others_revokes_every_other_session_of_the_user(engine, user, other_user):
    client = logged_in_client(user, user_agent=FIREFOX)
    phones = [logged_in_client(user, user_agent=IPHONE) for _ in range(2)]
    bob = logged_in_client(other_user)

    response = client.post(REVOKE_OTHERS)

    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert [whoami(phone) for phone in phones] == [None, None]
    assert whoami(client) == "alice"
    assert whoami(bob) == "bob"
    revoked = UserSession.objects.filter(status=UserSession.Status.REVOKED)
    assert {(row.user, row.revoked_by, row.revoke_reason) for row in revoked} == {
        (user, user, "user")
    }
    assert client.post(REVOKE_OTHERS).json() == {"revoked": 0}


def test_revoke_others_answers_405_to_get(user):
    client = logged_in_client(user)
    logged_in_client(user, user_agent=IPHONE)

    assert client.get(REVOKE_OTHERS).status_code == 405
    assert UserSession.objects.active().count() == 2


# -- authentication, CSRF and throttling --------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", LIST),
        ("get", CURRENT),
        ("get", detail("4a8bf63d-17f4-42c9-a077-89129bd47e20")),
        ("delete", detail("9f571986-e6ce-4205-a324-d50bc89e9558")),
        ("post", REVOKE_OTHERS),
    ],
)
def test_anonymous_requests_are_refused(user, method, path):
    logged_in_client(user)

    response = getattr(make_client(), method)(path)

    assert response.status_code == 403
    assert UserSession.objects.active().count() == 1


def test_session_authenticated_writes_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True, headers={"user-agent": FIREFOX})
    client.force_login(user)
    logged_in_client(user, user_agent=IPHONE)
    client.get(LIST)
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else None

    refused = client.post(REVOKE_OTHERS)

    assert refused.status_code == 403
    assert UserSession.objects.active().count() == 2
    assert token is None  # the API sets no CSRF cookie; fetch one the usual way
    client.get("/accounts/login/")
    accepted = client.post(REVOKE_OTHERS, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert accepted.json() == {"revoked": 1}


def test_works_with_non_session_authentication(user):
    # DRF's default authentication classes, which the test project keeps, include Basic.
    logged_in_client(user, user_agent=IPHONE)
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    basic = make_client(HTTP_AUTHORIZATION=f"Basic {credentials}")

    listed = basic.get(LIST)
    current = basic.get(CURRENT)
    revoked = basic.post(REVOKE_OTHERS)

    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert listed.json()["results"][0]["is_current"] is False
    # A request without a browser session has no current session; all are "others".
    assert current.status_code == 404
    assert revoked.json() == {"revoked": 1}


@pytest.fixture
def throttle_cache():
    cache.clear()
    yield
    cache.clear()


def test_no_throttling_without_configured_rates(user, throttle_cache):
    client = logged_in_client(user)

    statuses = {client.get(LIST).status_code for _ in range(30)}

    assert statuses == {200}


def test_sessionmgr_scope_throttles_every_endpoint(user, settings, throttle_cache):
    settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {"sessionmgr": "3/min"}}
    client = logged_in_client(user)
    other = logged_in_client(user, user_agent=IPHONE)

    statuses = [
        client.get(LIST).status_code,
        client.get(CURRENT).status_code,
        client.post(REVOKE_OTHERS).status_code,
        client.get(LIST).status_code,
    ]

    assert statuses == [200, 200, 200, 429]
    assert "Retry-After" in client.get(LIST).headers
    assert other.get(LIST).status_code == 403  # revoked by the third request


def test_sessionmgr_revoke_scope_throttles_only_revoking(user, settings, throttle_cache):
    settings.REST_FRAMEWORK = {
        "DEFAULT_THROTTLE_RATES": {"sessionmgr": "100/min", "sessionmgr_revoke": "1/min"}
    }
    client = logged_in_client(user)
    first = make_row(user)
    second = make_row(user)

    assert client.delete(detail(first.pk)).status_code == 204
    assert client.delete(detail(second.pk)).status_code == 429
    assert client.post(REVOKE_OTHERS).status_code == 429
    assert client.get(LIST).status_code == 200
    second.refresh_from_db()
    assert second.status == UserSession.Status.ACTIVE


def test_project_scoped_throttle_does_not_count_twice(user, settings, throttle_cache):
    settings.REST_FRAMEWORK = {
        "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"sessionmgr": "2/min"},
    }
    client = logged_in_client(user)

    statuses = [client.get(LIST).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


# -- override points ----------------------------------------------------------------


class BriefSerializer(UserSessionSerializer):
    class Meta(UserSessionSerializer.Meta):
        fields = ["id", "is_current"]
        read_only_fields = fields


class PhonesOnlyViewSet(UserSessionViewSet):
    serializer_class = BriefSerializer

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(device_type=UserSession.DeviceType.MOBILE)


def test_serializer_and_queryset_can_be_overridden(user):
    logged_in_client(user, user_agent=FIREFOX)
    logged_in_client(user, user_agent=IPHONE)
    phone = UserSession.objects.get(user_agent=IPHONE)
    request = APIRequestFactory().get(LIST)
    force_authenticate(request, user=user)

    response = PhonesOnlyViewSet.as_view({"get": "list"})(request)

    assert response.status_code == 200
    assert response.data["results"] == [{"id": str(phone.pk), "is_current": False}]


def test_serializer_json_is_exactly_the_contract(user):
    row = make_row(user, location_city="", location_country="SE", device_type="tablet")

    data = UserSessionSerializer(row).data

    assert set(data) == SESSION_FIELDS
    assert data["location"] == {"city": "", "country": "SE"}
    assert data["is_current"] is False
