"""The lists' ``?status=`` filter (``api/filters.py``): one filter for the
self-service and the staff list, one message for a value it does not know."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from django_sessionmgr.api.filters import StatusFilterField, unknown_status_message
from django_sessionmgr.api.staff import StaffSessionFilterSerializer
from django_sessionmgr.models import STATUS_FILTERS
from tests.helpers import logged_in_client, make_staff

pytestmark = pytest.mark.django_db

SELF = "/api/sessions/"
STAFF = "/api/admin/sessions/"


@pytest.fixture
def viewer(django_user_model: Any) -> Client:
    return logged_in_client(make_staff(django_user_model, "vera", "view_usersession"))


@pytest.mark.parametrize("value", ["bogus", "ACTIVE", "active\x00", "all "])
def test_both_lists_answer_an_unknown_status_with_the_same_bytes(
    user: Any, viewer: Client, value: str
) -> None:
    own = logged_in_client(user).get(SELF, {"status": value})
    staff = viewer.get(STAFF, {"status": value})

    assert own.status_code == staff.status_code == 400
    assert own.content == staff.content
    assert own.json() == {"status": [unknown_status_message()]}


@pytest.mark.parametrize("value", STATUS_FILTERS)
def test_both_lists_take_every_status_the_filter_names(
    user: Any, viewer: Client, value: str
) -> None:
    assert logged_in_client(user).get(SELF, {"status": value}).status_code == 200
    assert viewer.get(STAFF, {"status": value}).status_code == 200


def test_the_message_names_every_status_in_each_requests_language(settings: Any, user: Any) -> None:
    """Worded when the answer is made, so each request reads its own language."""
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ]
    with translation.override("de"):
        german = unknown_status_message()
    english = unknown_status_message()
    client = logged_in_client(user)

    assert german != english
    assert english == "Unknown status; use one of: active, ended, expired, revoked, all."
    for language, words in (("de", german), ("en", english)):
        answer = client.get(SELF, {"status": "x"}, headers={"accept-language": language})
        assert answer.json() == {"status": [words]}


def test_the_staff_filter_is_the_shared_field_with_its_own_default() -> None:
    field = StaffSessionFilterSerializer().fields["status"]
    assert isinstance(field, StatusFilterField)
    assert field.default == "all"


def test_a_blank_status_is_refused_by_the_self_service_list_and_read_as_absent_by_staff(
    user: Any, viewer: Client
) -> None:
    """As before the filter was shared: the self-service list refuses a blank
    value; the staff list, like its other parameters, reads it as absent."""
    own = logged_in_client(user).get(SELF, {"status": ""})
    staff = viewer.get(STAFF, {"status": ""})

    assert own.status_code == 400
    assert own.json() == {"status": [unknown_status_message()]}
    assert staff.status_code == 200
