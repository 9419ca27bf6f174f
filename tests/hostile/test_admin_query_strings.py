"""Property: whatever the query string, the admin changelists never answer 5xx or show a key."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.admin.test_admin import CHANGELIST, row_of
from tests.helpers import PASSWORD, logged_in_client

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"

#: Parameter names the changelists know, plus lookups a hostile user would try.
KNOWN_KEYS = [
    "o",
    "p",
    "q",
    "e",
    "all",
    "_facets",
    "_popup",
    "_to_field",
    "_changelist_filters",
    "status",
    "user",
    "user__id__exact",
    "user__in",
    "user__username",
    "user__password__startswith",
    "id",
    "id__in",
    "pk",
    "ip_address",
    "ip_address__in",
    "ip_address__startswith",
    "created_at__gte",
    "created_at__lt",
    "created_at__year",
    "created_at__range",
    "last_activity_at__gte",
    "expires_at__lt",
    "revoked_at__isnull",
    "revoke_reason",
    "session_key",
    "session_key__startswith",
    "user_sessions__session_key",
    "is_staff__exact",
    "is_superuser__exact",
    "is_active__exact",
    "groups__id__exact",
    "date_joined__gte",
    "last_login__lt",
]

HOSTILE_VALUES = [
    "",
    "0",
    "-1",
    "1.5",
    "1e309",
    "nan",
    "99999",
    "9223372036854775808",
    "99999999999999999999999999",
    "-99999999999999999999999999",
    "2026-13-45",
    "0000-00-00",
    "9999-12-31 23:59:59",
    "0001-01-01",
    "2026-01-01T00:00:00+99:00",
    "True",
    "False",
    "null",
    "a,b",
    ",",
    "1,2,3",
    "0.0.0.0",
    "::ffff:1.2.3.4",
    "300.1.1.1",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "'",
    '"',
    "%",
    "\\",
    "x" * 5000,
    "ß" * 50,
    "-0.1",
    "0.1.2",
    "1.-1",
    "status",
]

keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=30))
values = st.one_of(
    st.sampled_from(HOSTILE_VALUES),
    st.integers().map(str),
    st.text(max_size=60),
    st.lists(st.sampled_from(["1", "2", "0", "-1"]), max_size=4).map(".".join),
)
known_pairs = st.tuples(st.sampled_from(KNOWN_KEYS), st.sampled_from(HOSTILE_VALUES))
pairs = st.one_of(known_pairs, known_pairs, known_pairs, st.tuples(keys, values))
query_strings = st.lists(pairs, max_size=5).map(urlencode)

#: Each of these answered 500 before the admin caught values the database
#: refuses (found by the property below); kept as fixed regressions.
FOUND = [
    "user=99999999999999999999999",
    "user__in=99999999999999999999999",
    "created_at__year=99999",
    "p=99999999999999999999",
    "o=99999999999999999999",
    "created_at__range=a,b",
    "groups__id__exact=99999999999999999999999",
    "date_joined__gte=1e309",
    "_to_field=user",
]


@pytest.fixture
def world(django_user_model: Any, user: Any) -> tuple[Client, str]:
    """A superuser's client (every column and filter) and a live key to look for."""
    root = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    victim = logged_in_client(user, ip="81.2.69.142")
    key = row_of(victim).session_key
    assert key
    return logged_in_client(root), key


@pytest.mark.parametrize("url", [CHANGELIST, USERS])
@pytest.mark.slow
@settings(
    max_examples=400,
    deadline=None,
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=query_strings)
def test_no_query_string_breaks_the_changelist(world, url, query):
    client, key = world
    response = client.get(f"{url}?{query}")
    assert response.status_code < 500, query
    assert key not in response.content.decode(errors="replace")


@pytest.mark.parametrize("url", [CHANGELIST, USERS])
@pytest.mark.parametrize("query", FOUND)
def test_known_hostile_query_strings(world, url, query):
    client, key = world
    response = client.get(f"{url}?{query}")
    assert response.status_code < 500
    assert key not in response.content.decode()
