"""MAX_SESSIONS, IDLE_TIMEOUT and ABSOLUTE_TIMEOUT, on every engine."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import time_machine
from django.core.checks import run_checks
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.helpers import (
    PASSWORD,
    count_queries,
    logged_in_client,
    make_client,
    on_every_engine,
    row_of,
    stock_middleware,
    whoami,
)

pytestmark = pytest.mark.django_db(transaction=True)


def staff_one_others_five(user: Any) -> int:
    return 1 if user.is_staff else 5


@on_every_engine(
    ("limit",), [(2,), (staff_one_others_five,), ("tests.sessions.test_policies.two",)]
)
def test_a_login_past_the_limit_revokes_the_least_recently_active(
    engine: str, user: Any, limit: Any, settings: Any
) -> None:
    settings.SESSIONMGR = {"MAX_SESSIONS": limit, "ACTIVITY_UPDATE_INTERVAL": 0}
    expected = 5 if limit is staff_one_others_five else 2
    clients = []
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(expected):
            clients.append(logged_in_client(user))
            traveller.shift(10)
        # The first session is used again: now the second is the least recently active.
        assert whoami(clients[0]) == "alice"
        traveller.shift(10)
        newest = logged_in_client(user)

    assert whoami(newest) == "alice"
    assert whoami(clients[0]) == "alice"
    assert whoami(clients[1]) is None
    assert UserSession.objects.active().count() == expected
    revoked = UserSession.objects.get(status=UserSession.Status.REVOKED)
    assert revoked.revoke_reason == "session_limit"
    assert revoked.revoked_by is None


def two(user: Any) -> int:
    return 2


def test_a_callable_limit_sees_the_user(django_user_model: Any, settings: Any) -> None:
    settings.SESSIONMGR = {"MAX_SESSIONS": staff_one_others_five}
    staff = django_user_model.objects.create_user("staff", "s@example.com", PASSWORD, is_staff=True)
    first = logged_in_client(staff)
    second = logged_in_client(staff)
    assert whoami(first) is None
    assert whoami(second) == "staff"


def test_concurrent_logins_never_leave_more_than_the_limit(user: Any, settings: Any) -> None:
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite's shared in-memory test database fails concurrent writers instead of "
            "waiting; CI runs this on PostgreSQL and MariaDB"
        )
    settings.SESSIONMGR = {"MAX_SESSIONS": 1}
    start = threading.Barrier(6)
    results: list[int] = []

    def login() -> None:
        client = make_client()
        start.wait(10)
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        results.append(response.status_code)
        connections.close_all()

    for _ in range(3):
        threads = [threading.Thread(target=login) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        start.reset()
        assert UserSession.objects.active().filter(user=user).count() == 1
    # A login whose new session a concurrent login already revoked gets stock
    # Django's 400 for a session deleted under a request; none may fail otherwise.
    assert set(results) <= {302, 400}
    assert results.count(302) >= 3


@pytest.mark.parametrize("policy", ["IDLE_TIMEOUT", "ABSOLUTE_TIMEOUT"])
def test_a_timeout_ends_the_session_and_the_row_reads_expired(
    engine: str, user: Any, policy: str, settings: Any
) -> None:
    settings.SESSIONMGR = {policy: 900, "ACTIVITY_UPDATE_INTERVAL": 60}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        row = row_of(client)
        if policy == "IDLE_TIMEOUT":
            # Busy, then idle: the end follows the last activity.
            for _ in range(5):
                traveller.shift(300)
                assert whoami(client) == "alice"
            traveller.shift(900 + 60)
        else:
            # However busy, the session ends 900 s after login.
            for _ in range(5):
                traveller.shift(170)
                assert whoami(client) == "alice"
            traveller.shift(60)
        response = client.get("/account/sessions/", follow=True)
    assert whoami(client) is None
    row.refresh_from_db()
    assert row.status == UserSession.Status.EXPIRED
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert "15 minutes" in messages[0]


def test_the_idle_end_is_never_sooner_than_the_timeout(
    engine: str, user: Any, settings: Any
) -> None:
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 900, "ACTIVITY_UPDATE_INTERVAL": 60}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        traveller.shift(59)  # a request just before the next activity write
        assert whoami(client) == "alice"
        traveller.shift(899)  # idle 899 s since that request: still signed in
        assert whoami(client) == "alice"
        traveller.shift(900 + 60)  # idle past the timeout and one interval
        assert whoami(client) is None


@pytest.mark.slow
def test_a_timeout_in_real_time(user: Any, settings: Any) -> None:
    """No time travel: the real clock (one engine; the others run under time travel)."""
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 3, "ACTIVITY_UPDATE_INTERVAL": 0}
    client = logged_in_client(user)
    assert whoami(client) == "alice"
    time.sleep(4)
    assert whoami(client) is None


def test_expires_at_is_the_earliest_end(engine: str, user: Any, settings: Any) -> None:
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 1800, "ABSOLUTE_TIMEOUT": 3600}
    client = logged_in_client(user)
    row = row_of(client)
    assert abs((row.expires_at - timezone.now()).total_seconds() - (1800 + 60)) < 5
    [item] = client.get("/api/sessions/").json()["results"]
    assert item["idle_timeout"] == 1800
    assert item["expires_at"].startswith(row.expires_at.strftime("%Y-%m-%dT%H:%M"))
    page = client.get("/account/sessions/").content.decode()
    assert "30 minutes without activity" in page

    settings.SESSIONMGR = {"ABSOLUTE_TIMEOUT": 600}
    assert whoami(client) == "alice"  # a policy change reaches the session's next request
    row.refresh_from_db()
    assert abs((row.expires_at - timezone.now()).total_seconds() - 600) < 5


def test_policies_cost_no_query_between_activity_writes(
    engine: str, user: Any, settings: Any
) -> None:
    client = logged_in_client(user)
    with override_settings(MIDDLEWARE=stock_middleware()):
        from tests.helpers import clone

        stock = count_queries(clone(client), "/whoami/")
    settings.SESSIONMGR = {"MAX_SESSIONS": 3, "IDLE_TIMEOUT": 900, "ABSOLUTE_TIMEOUT": 86400}
    whoami(client)  # the policy change is written once
    from django_sessionmgr.signouts import mark_cache

    # A signed cookie reads its row unless a shared cache holds the user's mark.
    extra = 1 if engine == "signed_cookies" and mark_cache() is None else 0
    assert count_queries(client, "/whoami/") == stock + extra
    assert count_queries(client, "/whoami/") == stock + extra


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"MAX_SESSIONS": 0}, ["django_sessionmgr.E008"]),
        ({"MAX_SESSIONS": "no.such.callable"}, ["django_sessionmgr.E008"]),
        ({"MAX_SESSIONS": 3}, []),
        ({"MAX_SESSIONS": "tests.sessions.test_policies.two"}, []),
        ({"IDLE_TIMEOUT": 0}, ["django_sessionmgr.E009"]),
        ({"ABSOLUTE_TIMEOUT": -5}, ["django_sessionmgr.E009"]),
        ({"ABSOLUTE_TIMEOUT": "1h"}, ["django_sessionmgr.E009"]),
        ({"IDLE_TIMEOUT": 30, "ACTIVITY_UPDATE_INTERVAL": 60}, ["django_sessionmgr.E010"]),
        ({"IDLE_TIMEOUT": 60, "ACTIVITY_UPDATE_INTERVAL": 60}, []),
    ],
    ids=str,
)
def test_each_invalid_policy_is_a_check_error(value: dict[str, Any], expected: list[str]) -> None:
    with override_settings(SESSIONMGR=value):
        ids = [m.id for m in run_checks() if (m.id or "").startswith("django_sessionmgr.")]
    assert ids == expected


def test_duration_words() -> None:
    from django_sessionmgr.endings import duration

    assert [duration(s) for s in (1, 90, 120, 7200, 86400 * 30)] == [
        "1 second",
        "90 seconds",
        "2 minutes",
        "2 hours",
        "30 days",
    ]
