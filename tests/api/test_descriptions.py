"""What the browsable API tells every signed-in user about each endpoint.

DRF shows the view's docstring (or an action's) as the page description, so
those are short user-facing sentences; notes for developers live in comments.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from django_sessionmgr.models import UserSession
from tests.helpers import logged_in_client, make_staff

pytestmark = pytest.mark.django_db

SELF_TEXT = "The places where you are signed in. You can sign out any of them except this one."
STAFF_TEXT = "Every user's sessions, for staff: find them and sign them out."
#: What internal notes look like: reST literals, Python names, advice to developers.
INTERNAL = re.compile(r"``|override|queryset|serializer|_class|docstring|TODO", re.IGNORECASE)


def description(html: str) -> str:
    found = re.search(r'<div class="pull-left">(.*?)</div>', html, re.DOTALL)
    assert found is not None
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip().replace("&#x27;", "'")


@pytest.fixture
def staff_client(django_user_model: Any) -> Any:
    return logged_in_client(
        make_staff(django_user_model, "carol", "view_usersession", "revoke_usersession")
    )


def test_every_endpoint_shows_a_user_facing_description(user, staff_client):
    client = logged_in_client(user)
    own = UserSession.objects.get(user=user).pk
    pages = [
        (client, "/api/sessions/", SELF_TEXT),
        (client, "/api/sessions/current/", SELF_TEXT),
        (client, f"/api/sessions/{own}/", SELF_TEXT),
        (client, "/api/sessions/revoke-others/", SELF_TEXT),
        (staff_client, "/api/admin/sessions/", STAFF_TEXT),
        (staff_client, f"/api/admin/sessions/{own}/", STAFF_TEXT),
        (staff_client, "/api/admin/sessions/revoke/", STAFF_TEXT),
    ]
    for asker, path, expected in pages:
        response = asker.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code in (200, 405), path
        shown = description(response.content.decode())
        assert shown == expected, path
        assert not INTERNAL.search(shown), path
