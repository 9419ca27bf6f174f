"""``ANOMALY_ACTION``: flag only, revoke (reason ``suspicious``), or a
project's own decision."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core.checks import run_checks
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.anomalies.places import CHANGCHUN, LONDON
from tests.helpers import clone, logged_in_client, row_of, whoami

pytestmark = pytest.mark.django_db(transaction=True)


decisions: list[tuple[str, str, str]] = []


def revoke_from_china(session: UserSession, kind: str, request: Any) -> str:
    """A project's risk engine: trusts every move but one into China."""
    decisions.append((str(session.pk), kind, request.META["REMOTE_ADDR"]))
    return "revoke" if session.last_location_country == "CN" else "flag"


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def thief_moves_in(user: Any) -> tuple[Any, Any, Any]:
    """The owner signs in in London; half an hour later the same cookie is
    used from Changchun. Returns the owner, the thief and the thief's page."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        owner = logged_in_client(user, ip=LONDON)
        row_id = row_of(owner).pk
        traveller.shift(30 * 60)
        thief = clone(owner, ip=CHANGCHUN)
        page = thief.get("/account/sessions/", follow=True)
    return owner, thief, (row_id, page)


def test_revoke_signs_both_holders_out_and_says_why(engine: str, user: Any, settings: Any) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
    settings.SESSIONMGR = {"ANOMALY_ACTION": "revoke"}
    owner, thief, (row_id, page) = thief_moves_in(user)
    row = UserSession.objects.get(pk=row_id)
    assert row.status == "revoked"
    assert row.revoke_reason == "suspicious"
    assert row.revoked_by is None
    assert row.flag_reason == "impossible_travel"
    # The request that showed it is already signed out, and told why.
    assert page.redirect_chain and "/accounts/login/" in page.redirect_chain[-1][0]
    [said] = messages_of(page)
    assert "too far apart" in said
    assert whoami(thief) is None
    # The owner's copy of the cookie is signed out too, and told why.
    back = owner.get("/account/sessions/", follow=True)
    assert "/accounts/login/" in back.redirect_chain[-1][0]
    [told] = messages_of(back)
    assert "too far apart" in told
    assert whoami(owner) is None


def test_flag_is_the_default_and_revokes_nothing(user: Any, settings: Any) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
    owner, thief, (row_id, page) = thief_moves_in(user)
    row = UserSession.objects.get(pk=row_id)
    assert (row.status, row.flag_reason) == ("active", "impossible_travel")
    assert page.status_code == 200
    assert whoami(thief) == whoami(owner) == "alice"


@pytest.mark.parametrize("setting", [revoke_from_china, f"{__name__}.revoke_from_china"])
def test_a_callable_decides(user: Any, settings: Any, setting: Any) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
    settings.SESSIONMGR = {"ANOMALY_ACTION": setting}
    decisions.clear()
    owner, _thief, (row_id, _page) = thief_moves_in(user)
    assert decisions == [(str(row_id), "impossible_travel", CHANGCHUN)]
    assert UserSession.objects.get(pk=row_id).revoke_reason == "suspicious"
    assert whoami(owner) is None


def test_a_callable_that_only_flags(user: Any, settings: Any) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
    settings.SESSIONMGR = {"ANOMALY_ACTION": lambda session, kind, request: "flag"}
    owner, _thief, (row_id, _page) = thief_moves_in(user)
    assert UserSession.objects.get(pk=row_id).status == "active"
    assert whoami(owner) == "alice"


@pytest.mark.parametrize("value", ["block", 3, "tests.anomalies.test_actions.nothing_here"])
def test_a_bad_action_is_a_check_error(settings: Any, value: Any) -> None:
    settings.SESSIONMGR = {"ANOMALY_ACTION": value}
    errors = [e for e in run_checks() if e.id == "django_sessionmgr.E015"]
    assert len(errors) == 1
    assert "ANOMALY_ACTION" in errors[0].msg
