"""Last seen, a changed client, "you were signed out"."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from django_sessionmgr.signals import session_client_changed
from django_sessionmgr.signouts import mark_cache
from tests.helpers import (
    FIREFOX,
    IPHONE,
    clone,
    count_queries,
    logged_in_client,
    row_of,
    session_cookie,
    whoami,
)

pytestmark = pytest.mark.django_db(transaction=True)

LONDON = "81.2.69.142"  # in the GeoIP test databases


def test_last_seen_follows_the_activity_write(engine: str, user: Any, settings: Any) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip="203.0.113.9")
        moved = clone(client, ip=LONDON)
        assert whoami(moved) == "alice"  # within the interval: nothing written
        assert row_of(client).last_ip_address == "203.0.113.9"
        traveller.shift(61)
        assert whoami(moved) == "alice"
    row = row_of(moved)
    assert row.ip_address == "203.0.113.9"  # where it signed in stays
    assert row.last_ip_address == LONDON
    assert (row.last_location_city, row.last_location_country) == ("London", "GB")
    [item] = moved.get("/api/sessions/").json()["results"]
    assert item["last_ip_address"] == LONDON
    assert item["last_location"] == {"city": "London", "country": "GB"}
    assert item["impersonated"] is False
    page = logged_in_client(user, ip="198.51.100.7").get("/account/sessions/").content.decode()
    assert "London ·" in page


def test_a_changed_client_is_signalled_and_a_new_browser_logged(
    engine: str, user: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 0}
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    session_client_changed.connect(receiver, dispatch_uid="test-client-changed")
    try:
        client = logged_in_client(user, ip="203.0.113.9", user_agent=FIREFOX)
        assert whoami(client) == "alice"
        assert seen == []  # same address, same browser
        assert whoami(clone(client, ip="198.51.100.7", user_agent=FIREFOX)) == "alice"
        with caplog.at_level(logging.WARNING, "django_sessionmgr"):
            assert whoami(clone(client, ip="198.51.100.7", user_agent=IPHONE)) == "alice"
    finally:
        session_client_changed.disconnect(dispatch_uid="test-client-changed")
    assert [(s["previous_ip_address"], s["previous_user_agent"]) for s in seen] == [
        ("203.0.113.9", FIREFOX),
        ("198.51.100.7", FIREFOX),
    ]
    assert seen[0]["session"].last_ip_address == "198.51.100.7"
    assert "changed browser" in caplog.text
    assert session_cookie(client) not in caplog.text


def test_no_extra_query_between_activity_writes_with_all_of_it_on(
    engine: str, user: Any, settings: Any
) -> None:
    from tests.helpers import without_sessionmgr

    client = logged_in_client(user)
    with without_sessionmgr():
        stock = count_queries(clone(client), "/whoami/")
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 900, "MAX_SESSIONS": 5, "NOTIFY_NEW_DEVICE": True}
    whoami(client)  # the policy change is written once
    extra = 1 if engine == "signed_cookies" and mark_cache() is None else 0
    assert count_queries(clone(client, ip="198.51.100.7"), "/whoami/") == stock + extra


@pytest.mark.parametrize("how", ["revoked", "expired", "ended"])
def test_the_first_request_after_the_end_says_why(
    engine: str, user: Any, how: str, settings: Any
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        api = clone(client)
        if how == "revoked":
            row_of(client).revoke()
        elif how == "ended":
            clone(client).post("/accounts/logout/")  # signed out in another tab
        else:
            client.get("/set-expiry/?seconds=120")
            api = clone(client)
            traveller.shift(121)
        response = client.get("/account/sessions/", follow=True)
        messages = [str(m) for m in response.context["messages"]]
        answer = api.get("/api/sessions/")
    assert len(messages) == 1, messages
    word = "expired" if how == "expired" else "signed out"
    assert word in messages[0]
    assert answer.status_code in (401, 403)
    assert answer.json()["code"] == f"session_{how}"
    # Only that first request says it: the cookie is gone afterwards.
    again = client.get("/account/sessions/", follow=True)
    assert [str(m) for m in again.context["messages"]] == []
