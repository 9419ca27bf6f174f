"""The admin changelist answers only the lookups its own filters and search
produce: a generic lookup on any column would test what
the admin never shows, such as the full address of a row stored before
``IP_ADDRESS_STORAGE`` was lowered.

Run as a staff member holding only ``view_usersession``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from django_sessionmgr.admin.lookups import SECRET_FIELDS
from django_sessionmgr.models import UserSession
from tests.admin.test_admin import CHANGELIST, staff_client_with
from tests.helpers import make_row

pytestmark = pytest.mark.django_db

FULL_IP = "203.0.113.9"

#: Every column, whatever its kind; the key's own fields have their own tests
#: (tests/hostile/test_admin_key_oracle.py), with the admin's "unknown field" answer.
FIELDS = sorted(
    field.name
    for field in UserSession._meta.concrete_fields
    if not field.name.startswith(SECRET_FIELDS)
)
LOOKUPS = ["exact", "startswith", "regex", "contains", "in"]


@pytest.fixture
def victim(user: Any) -> UserSession:
    """A row stored with a full address, a user agent and a place."""
    return make_row(
        user,
        ip_address=FULL_IP,
        last_ip_address=FULL_IP,
        user_agent="Mozilla/5.0 (Windows NT 10.0) Chrome/120.0",
        device_browser="Chrome 120",
        location_city="London",
        location_country="GB",
        last_location_city="London",
        last_location_country="GB",
        session_key_digest="a" * 64,
        revoke_reason="Fraud team: ticket 4711",
    )


@pytest.fixture
def viewer(django_user_model: Any, settings: Any) -> Client:
    settings.SESSIONMGR = {"IP_ADDRESS_STORAGE": "truncated", "ACTIVITY_UPDATE_INTERVAL": 86400}
    return staff_client_with(django_user_model, "view_usersession")


def right_value(row: UserSession, field: str) -> str:
    value = getattr(row, UserSession._meta.get_field(field).attname)
    return "" if value is None else str(value)


@pytest.mark.parametrize("lookup", LOOKUPS)
@pytest.mark.parametrize("field", FIELDS)
def test_no_lookup_on_any_column_is_answered(victim, viewer, field, lookup):
    right = right_value(victim, field)
    values = {
        "exact": (right, "!"),
        "startswith": (right[:3], "!"),
        "regex": (f"^{right[:3]}", "^!"),
        "contains": (right[1:4], "!"),
        "in": (f"{right},!", "!,!"),
    }[lookup]
    # The bare name is the list filter's own parameter for these two.
    bare = lookup == "exact" and field not in ("status", "user")
    names = [f"{field}__{lookup}", *([field] if bare else [])]
    # The kind filter's own parameter: the kind is shown on every row.
    names = [name for name in names if name != "kind__exact"]
    for name in names:
        answers = [viewer.get(CHANGELIST, {name: value}) for value in values]
        # Django's answer to a disallowed lookup, the same for either guess.
        assert [response.status_code for response in answers] == [400, 400], name


def test_a_hidden_full_address_cannot_be_confirmed(victim, viewer):
    for name in ("ip_address", "ip_address__startswith", "last_ip_address"):
        assert viewer.get(CHANGELIST, {name: FULL_IP}).status_code == 400
    assert viewer.get(CHANGELIST, {"ip_address__regex": r"^203\.0\.113\.9$"}).status_code == 400


def test_the_changelists_own_filters_and_search_still_work(victim, viewer, user):
    # As the date filters' own links write them.
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    params = [
        {"status": "active"},
        {"created_at__gte": str(today), "created_at__lt": str(today + timedelta(days=1))},
        {"last_activity_at__gte": str(today - timedelta(days=7))},
        {"expires_at__lt": str(today + timedelta(days=30))},
        {"user": str(user.pk)},  # the user page's "all sessions" link
        {"q": "alice"},
        {"q": "203.0.113.77"},  # an address finds its network's rows, as stored
        {"o": "1", "p": "1"},
    ]
    for query in params:
        response = viewer.get(CHANGELIST, query)
        assert response.status_code == 200, query


def test_the_list_is_not_sorted_by_hidden_addresses(user, viewer):
    # Same network; the older row has the lower hidden last octet.
    now = timezone.now()
    low = make_row(user, ip_address="203.0.113.9", created_at=now - timedelta(hours=1))
    high = make_row(user, ip_address="203.0.113.99", created_at=now)
    network_column = 3  # list_display: user, status, device, network, times

    def order(**query: str) -> list[Any]:
        response = viewer.get(CHANGELIST, {"user": user.pk, **query})
        assert response.status_code == 200
        return [row.pk for row in response.context["cl"].result_list]

    newest_first = [high.pk, low.pk]
    assert order() == newest_first
    assert order(o=str(network_column)) == newest_first
    assert order(o=f"-{network_column}") == newest_first


def test_with_full_addresses_the_list_sorts_by_address(user, viewer, settings):
    settings.SESSIONMGR = {"IP_ADDRESS_STORAGE": "full", "ACTIVITY_UPDATE_INTERVAL": 86400}
    now = timezone.now()
    low = make_row(user, ip_address="203.0.113.9", created_at=now - timedelta(hours=1))
    high = make_row(user, ip_address="203.0.113.99", created_at=now)
    response = viewer.get(CHANGELIST, {"o": "3", "user": user.pk})
    assert [row.pk for row in response.context["cl"].result_list] == [low.pk, high.pk]


@pytest.mark.parametrize(
    ("url", "name", "field"),
    [
        (CHANGELIST, "user__user_sessions__ip_address", "ip_address"),
        (CHANGELIST, "user__user_sessions__user_agent__startswith", "user_agent"),
        ("/admin/auth/user/", "user_sessions__ip_address", "ip_address"),
        ("/admin/auth/user/", "user_sessions__location_city__regex", "location_city"),
    ],
)
def test_no_way_round_through_the_user(victim, django_user_model, settings, url, name, field):
    settings.SESSIONMGR = {"IP_ADDRESS_STORAGE": "truncated", "ACTIVITY_UPDATE_INTERVAL": 86400}
    viewer = staff_client_with(django_user_model, "view_usersession", "view_user")
    assert viewer.get(url, {name: right_value(victim, field)}).status_code == 400
    assert viewer.get(url, {name: "!"}).status_code == 400
