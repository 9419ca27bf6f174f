"""How a session ended: the idle end is computed once, and the page's notice
and the row's words name the same timeout policy, up to the same tolerance."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from django_sessionmgr.endings import TOLERANCE, EndingPolicy, ending_policy, idle_end
from django_sessionmgr.models import UserSession
from tests.helpers import current_row_id, logged_in_client, row_of, whoami

pytestmark = pytest.mark.django_db

NOTICES = {"IDLE_TIMEOUT": "You were signed out after 15 minutes without activity."}
WORDS = {
    "IDLE_TIMEOUT": "Signed out after inactivity",
    "ABSOLUTE_TIMEOUT": "Signed out at the session time limit",
}


def moment(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, tz=UTC)


def first_message(client: Any) -> str:
    response = client.get("/account/sessions/", follow=True)
    [message] = [str(m) for m in response.context["messages"]]
    return message


@pytest.mark.parametrize("interval", [0, 60, 300])
def test_a_session_ends_at_the_idle_end_and_says_so(
    user: Any, settings: Any, interval: int
) -> None:
    """The end the row records, the moment the session is refused, and the
    words on the page and the row all follow ``IDLE_TIMEOUT`` + the interval."""
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 900, "ACTIVITY_UPDATE_INTERVAL": interval}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        row = row_of(client)
        login = int(time.time())
        assert idle_end(login) == login + 900 + interval
        assert row.expires_at == moment(login + 900 + interval)

        traveller.move_to(moment(login + 900 + interval - 1))
        assert whoami(client) == "alice"  # a second before the end: served, and written
        written = int(time.time())
        row.refresh_from_db()
        assert row.expires_at == moment(written + 900 + interval)

        traveller.move_to(moment(written + 900 + interval))
        assert first_message(client) == NOTICES["IDLE_TIMEOUT"]
        row.refresh_from_db()
    assert row.status == UserSession.Status.EXPIRED
    assert row.ending_policy is EndingPolicy.IDLE
    assert row.revoke_reason_display == WORDS["IDLE_TIMEOUT"]


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        # The interval (so the idle end) or the time limit moved by a second or two
        # after the session's end was recorded: the end now sits off the policy's.
        pytest.param(
            {"IDLE_TIMEOUT": 900, "ACTIVITY_UPDATE_INTERVAL": 61},
            "IDLE_TIMEOUT",
            id="idle-1s-before",
        ),
        pytest.param(
            {"IDLE_TIMEOUT": 900, "ACTIVITY_UPDATE_INTERVAL": 59},
            "IDLE_TIMEOUT",
            id="idle-1s-after",
        ),
        pytest.param(
            {"IDLE_TIMEOUT": 900, "ACTIVITY_UPDATE_INTERVAL": 62}, None, id="idle-2s-before"
        ),
        pytest.param(
            {"ABSOLUTE_TIMEOUT": 901, "ACTIVITY_UPDATE_INTERVAL": 60},
            "ABSOLUTE_TIMEOUT",
            id="limit-1s-before",
        ),
        pytest.param(
            {"ABSOLUTE_TIMEOUT": 899, "ACTIVITY_UPDATE_INTERVAL": 60},
            "ABSOLUTE_TIMEOUT",
            id="limit-1s-after",
        ),
        pytest.param(
            {"ABSOLUTE_TIMEOUT": 902, "ACTIVITY_UPDATE_INTERVAL": 60}, None, id="limit-2s-before"
        ),
    ],
)
def test_the_page_and_the_row_name_the_same_policy_at_the_tolerance_edges(
    user: Any, settings: Any, changed: dict[str, int], named: str | None
) -> None:
    """A session whose recorded end sits one second off the policy's end is
    named that policy, on the page that finds it over and on the row; two
    seconds before it, by neither."""
    policy = "IDLE_TIMEOUT" if "IDLE_TIMEOUT" in changed else "ABSOLUTE_TIMEOUT"
    settings.SESSIONMGR = {policy: 900, "ACTIVITY_UPDATE_INTERVAL": 60}
    lasts = 900 + 60 if policy == "IDLE_TIMEOUT" else 900
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = logged_in_client(user)
        row_id = current_row_id(client)
        start = int(time.time())
        assert UserSession.objects.get(pk=row_id).expires_at == moment(start + lasts)
        settings.SESSIONMGR = changed  # no request reads the session until its end
        traveller.shift(lasts + 5)
        message = first_message(client)
        data = logged_in_client(user).get(f"/api/sessions/{row_id}/").json()
    if named == "ABSOLUTE_TIMEOUT":
        seconds = changed["ABSOLUTE_TIMEOUT"]
        assert message == (
            f"You were signed out: a session on this site lasts at most {seconds} seconds."
        )
    elif named == "IDLE_TIMEOUT":
        assert message == NOTICES["IDLE_TIMEOUT"]
    else:
        assert message.startswith("Your session expired on ")
    words = WORDS[named] if named else "Expired"
    assert (data["status"], data["revoke_reason_display"]) == ("expired", words)


@pytest.mark.parametrize(
    ("after_login", "after_last_write", "expected"),
    [
        (900, 5000, EndingPolicy.ABSOLUTE),
        (900 + TOLERANCE - 0.001, 5000, EndingPolicy.ABSOLUTE),
        (900 - TOLERANCE + 0.001, 5000, EndingPolicy.ABSOLUTE),
        (900 + TOLERANCE, 5000, None),
        (900 - TOLERANCE, 5000, None),
        (5000, 600 + 60, EndingPolicy.IDLE),
        (5000, 660 + TOLERANCE - 0.001, EndingPolicy.IDLE),
        (5000, 660 - TOLERANCE + 0.001, EndingPolicy.IDLE),
        (5000, 660 + TOLERANCE, None),
        (5000, 660 - TOLERANCE, None),
        (5000, 600, None),  # the idle end counts the interval
        (901, 660, EndingPolicy.ABSOLUTE),  # both within: the time limit is named
    ],
)
def test_the_policy_is_inferred_with_one_tolerance(
    settings: Any, after_login: float, after_last_write: float, expected: EndingPolicy | None
) -> None:
    settings.SESSIONMGR = {
        "ABSOLUTE_TIMEOUT": 900,
        "IDLE_TIMEOUT": 600,
        "ACTIVITY_UPDATE_INTERVAL": 60,
    }
    assert ending_policy(after_login, after_last_write) is expected


def test_a_policy_that_is_off_is_never_named(settings: Any) -> None:
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 60}
    assert ending_policy(0, 60) is None
    assert idle_end(1000) is None
