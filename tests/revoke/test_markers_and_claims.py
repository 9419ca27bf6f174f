"""Edges of the revoke core: markers from earlier releases, a claim whose
record is gone, and a sign-out mark that cannot be read at a row write."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import caches

from django_sessionmgr.markers import SESSION_MARKER, read_marker
from django_sessionmgr.models import UserSession
from tests.helpers import (
    current_row_id,
    logged_in_client,
    session_cookie,
    stored_session_exists,
    whoami,
)
from tests.revoke.test_every_live_session import own_redis  # noqa: F401 (a fixture)
from tests.sessions.test_signouts import redis_cache

pytestmark = pytest.mark.django_db

ROW = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ([ROW, 10, 20, 5, "ab", "tok"], (ROW, 10, 20, 5, "ab", "tok")),  # today's
        ([ROW, 10, 20, 5, "ab"], (ROW, 10, 20, 5, "ab", None)),  # 0.1's last: no mark
        ([ROW, 10, 20], (ROW, 10, 20, None, None, None)),
        ([ROW, 10], (ROW, 10, None, None, None, None)),
        ([ROW, 10, 20, 5, 7], None),  # a client digest that is not text
        ([7, 10, 20, 5, "ab"], None),
        ([ROW, 10, 20, 5, "ab", 3], None),
        ([ROW], None),
        ("nonsense", None),
    ],
)
def test_markers_of_every_release_are_read_and_bad_ones_refused(stored: Any, expected: Any) -> None:
    session = SessionStore()
    session[SESSION_MARKER] = stored
    marker = read_marker(session)
    assert (tuple(marker) if marker is not None else None) == expected


def test_a_session_with_an_older_marker_is_checked_and_stamped_anew(
    user: Any, settings: Any
) -> None:
    client = logged_in_client(user)
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 0}  # the next request writes
    row_id = current_row_id(client)
    session = SessionStore(session_key=session_cookie(client))
    session[SESSION_MARKER] = list(read_marker(session))[:5]  # as 0.1.x left it
    session.save()

    assert whoami(client) == "alice"
    marker = read_marker(SessionStore(session_key=session_cookie(client)))
    assert marker is not None and marker.row_id == row_id and marker.mark == ""  # no marks
    UserSession.objects.filter(pk=row_id).revoke()
    assert whoami(client) is None


def test_a_claim_whose_record_is_gone_is_taken_over(user: Any) -> None:
    """A row claimed by a revoke that left no record (nothing else would
    finish it) is revoked, and counted, by the next revoke of it."""
    client = logged_in_client(user)
    row_id = current_row_id(client)
    key = session_cookie(client)
    UserSession.objects.filter(pk=row_id).update(revoke_batch=uuid.uuid4(), revoke_reason="x")

    assert UserSession.objects.filter(user=user).revoke() == 1

    assert UserSession.objects.get(pk=row_id).status == "revoked"
    assert not stored_session_exists(key)
    assert whoami(client) is None


def test_a_login_goes_on_when_the_mark_cannot_be_read(
    own_redis: Any,  # noqa: F811
    settings: Any,
    user: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The mark is read before each row write; with the cache down the login
    still works, and the session reads its row instead of trusting a mark."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.CACHES = redis_cache(own_redis.url)
    own_redis.stop()
    caches["default"].close()

    client = logged_in_client(user)

    assert "could not read a sign-out mark" in caplog.text
    marker = read_marker(client.session)
    assert marker is not None and marker.mark == ""
    assert whoami(client) == "alice"
    UserSession.objects.filter(pk=marker.row_id).update(status="revoked")
    assert whoami(client) is None
