"""Impossible travel: one session seen in two places too far apart for the
time between them, found with real GeoIP lookups (MaxMind's test databases)."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.anomalies.places import BOXFORD, CHANGCHUN, LONDON, SAN_DIEGO
from tests.helpers import clone, count_queries, logged_in_client, row_of, whoami

pytestmark = pytest.mark.django_db(transaction=True)

# Places in the GeoIP test databases.


def test_a_far_place_within_an_hour_is_flagged(engine: str, user: Any, findings: list) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip=LONDON)
        traveller.shift(30 * 60)
        thief = clone(client, ip=CHANGCHUN)
        assert whoami(thief) == "alice"  # flagging is not revoking
    row = row_of(thief)
    assert row.flag_reason == "impossible_travel"
    assert row.flagged_at is not None
    assert (row.last_location_city, row.last_location_country) == ("Changchun", "CN")
    [finding] = findings
    assert finding["kind"] == "impossible_travel"
    assert finding["session"].pk == row.pk
    assert finding["session"].flag_reason == "impossible_travel"
    assert finding["request"].META["REMOTE_ADDR"] == CHANGCHUN


def test_the_same_places_a_day_apart_are_not_flagged(
    engine: str, user: Any, findings: list
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip=LONDON)
        traveller.shift(24 * 60 * 60)
        assert whoami(clone(client, ip=CHANGCHUN)) == "alice"
    row = UserSession.objects.get(user=user)
    assert row.last_location_country == "CN"
    assert (row.flagged_at, row.flag_reason) == (None, "")
    assert findings == []


def test_a_near_place_is_never_flagged(user: Any, findings: list) -> None:
    """About 85 km: within GeoIP's error, however short the time."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip=LONDON)
        traveller.shift(61)
        assert whoami(clone(client, ip=BOXFORD)) == "alice"
    row = UserSession.objects.get(user=user)
    assert row.last_location_city == "Boxford"
    assert row.flag_reason == ""
    assert findings == []


def test_sent_once_per_session_and_pair_of_places(user: Any, findings: list) -> None:
    """The owner in London and the thief in Changchun take turns: one finding;
    a third place is a new pair, and another one."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip=LONDON)
        for ip in (CHANGCHUN, LONDON, CHANGCHUN, LONDON):
            traveller.shift(61)
            assert whoami(clone(client, ip=ip)) == "alice"
        assert [f["kind"] for f in findings] == ["impossible_travel"]
        traveller.shift(61)
        assert whoami(clone(client, ip=SAN_DIEGO)) == "alice"
    assert len(findings) == 2
    other = logged_in_client(user, ip=LONDON)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        traveller.shift(61)
        assert whoami(clone(other, ip=CHANGCHUN)) == "alice"
    assert len(findings) == 3  # the same pair, in another session
    assert {f["session"].pk for f in findings[2:]} == {row_of(other).pk}


def test_off_finds_nothing(user: Any, findings: list, settings: Any) -> None:
    settings.SESSIONMGR = {"ANOMALY_DETECTION": False}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip=LONDON)
        traveller.shift(61)
        assert whoami(clone(client, ip=CHANGCHUN)) == "alice"
    assert UserSession.objects.get(user=user).flag_reason == ""
    assert findings == []


def test_a_slower_plane_setting_is_honoured(user: Any, findings: list, settings: Any) -> None:
    """London to Changchun in ten hours: possible at 1,000 km/h, not at 500."""
    settings.SESSIONMGR = {"MAX_TRAVEL_SPEED_KMH": 500}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip=LONDON)
        traveller.shift(10 * 60 * 60)
        assert whoami(clone(client, ip=CHANGCHUN)) == "alice"
    assert UserSession.objects.get(user=user).flag_reason == "impossible_travel"


def _queries_of_a_move(user: Any, settings: Any, detection: bool) -> tuple[int, int, list[str]]:
    """Queries of a request from Changchun between writes, and of the write
    that sees it, for a session signed in from London."""
    settings.SESSIONMGR = {"ANOMALY_DETECTION": detection}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip=LONDON)
        traveller.shift(61)
        assert whoami(client) == "alice"  # the write from London
        between = count_queries(clone(client, ip=CHANGCHUN), "/whoami/")
        traveller.shift(61)
        with CaptureQueriesContext(connection) as write:
            assert whoami(clone(client, ip=CHANGCHUN)) == "alice"
    table = connection.ops.quote_name(UserSession._meta.db_table)
    updates = [q["sql"] for q in write.captured_queries if q["sql"].startswith(f"UPDATE {table}")]
    return between, len(write), updates


def test_no_extra_query_between_activity_writes(
    engine: str, user: Any, findings: list, settings: Any
) -> None:
    """Between writes a request from the far place costs what it costs with
    the feature off; the write that finds it costs no more either: the flag
    rides on the activity UPDATE."""
    off_between, off_write, _ = _queries_of_a_move(user, settings, detection=False)
    assert findings == []
    on_between, on_write, updates = _queries_of_a_move(user, settings, detection=True)
    assert len(findings) == 1
    assert (on_between, on_write) == (off_between, off_write)
    [update] = updates
    assert "flag_reason" in update


@pytest.mark.parametrize("storage", ["truncated", "none"])
def test_found_from_the_places_alone_whatever_the_address_storage(
    user: Any, findings: list, settings: Any, storage: str
) -> None:
    """No address is read back: the places GeoIP gave at the time suffice."""
    settings.SESSIONMGR = {"IP_ADDRESS_STORAGE": storage}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user, ip=LONDON)
        traveller.shift(61)
        assert whoami(clone(client, ip=CHANGCHUN)) == "alice"
    row = UserSession.objects.get(user=user)
    assert row.flag_reason == "impossible_travel"
    assert row.last_ip_address == (None if storage == "none" else "175.16.199.0")
    # The point kept is the city's, to a tenth of a degree: no finer than its name.
    assert (row.last_location_latitude, row.last_location_longitude) == (43.9, 125.3)
    assert [f["kind"] for f in findings] == ["impossible_travel"]
