"""A flagged session on the user's page (with its one action), in the admin
(the "flagged" filter) and in the API."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.utils import timezone
from django.utils.translation import override

from tests.anomalies.places import CHANGCHUN, LONDON, signed_in_from_abroad
from tests.helpers import clone, logged_in_client, make_row, row_of, whoami

pytestmark = pytest.mark.django_db(transaction=True)

NOT_ME = "This wasn\u2019t me \u2014 sign it out and change my password"
CHANGELIST = "/admin/django_sessionmgr/usersession/"


def test_the_page_shows_the_flag_and_one_action(user: Any, geoip: None) -> None:
    owner, thief = signed_in_from_abroad(user)
    page = owner.get("/account/sessions/").content.decode()
    assert page.count("sessionmgr-session--flagged") == 1
    assert "Signed in from a new country" in page
    assert "None of your recent sessions came from this country." in page
    assert page.count(NOT_ME) == 1
    assert f"/account/sessions/{row_of(thief).pk}/not-me/" in page
    # The flagged session's one action replaces its plain "Sign out".
    assert f"/account/sessions/{row_of(thief).pk}/revoke/" not in page


def test_the_page_in_german(user: Any, geoip: None) -> None:
    owner, _thief = signed_in_from_abroad(user)
    with override("de"):
        page = owner.get("/account/sessions/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Anmeldung aus einem neuen Land" in page
    assert "Das war ich nicht" in page


def test_not_me_signs_the_other_session_out_and_opens_the_password_change(
    engine: str, user: Any, geoip: None
) -> None:
    owner, thief = signed_in_from_abroad(user)
    row = row_of(thief)
    response = owner.post(f"/account/sessions/{row.pk}/not-me/")
    assert response.status_code == 302
    assert response.url == "/accounts/password/"
    row.refresh_from_db()
    assert (row.status, row.revoke_reason) == ("revoked", "suspicious")
    assert whoami(thief) is None
    assert whoami(owner) == "alice"


def test_not_me_on_this_session_signs_it_out_everywhere_first(
    engine: str, user: Any, geoip: None
) -> None:
    """Impossible travel flags the one session both cookie holders share."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        owner = logged_in_client(user, ip=LONDON)
        traveller.shift(60 * 60)
        thief = clone(owner, ip=CHANGCHUN)
        assert whoami(thief) == "alice"
        traveller.shift(60)
        row = row_of(owner)
        assert row.flag_reason == "impossible_travel"
        page = owner.get("/account/sessions/").content.decode()
        assert "Used from two places too far apart" in page
        response = owner.post(f"/account/sessions/{row.pk}/not-me/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/accounts/password/"
    row.refresh_from_db()
    assert (row.status, row.revoke_reason) == ("revoked", "suspicious")
    assert whoami(owner) is None
    assert whoami(thief) is None


def test_not_me_asks_for_the_password_when_the_project_wants_it(
    user: Any, geoip: None, settings: Any
) -> None:
    owner, thief = signed_in_from_abroad(user)
    settings.SESSIONMGR = {"REAUTH_FOR_REVOKE_OTHERS": 1}
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=5), tick=False):
        response = owner.post(f"/account/sessions/{row_of(thief).pk}/not-me/")
    assert response.url == "/account/sessions/"
    assert whoami(thief) == "alice"


def test_not_me_is_post_only_and_for_own_sessions(user: Any, other_user: Any, geoip: None) -> None:
    owner, thief = signed_in_from_abroad(user)
    assert owner.get(f"/account/sessions/{row_of(thief).pk}/not-me/").status_code == 405
    stranger = logged_in_client(other_user)
    assert stranger.post(f"/account/sessions/{row_of(thief).pk}/not-me/").status_code == 404
    assert whoami(thief) == "alice"


def test_the_admin_filters_flagged_sessions(user: Any, superuser: Any) -> None:
    now = timezone.now()
    make_row(user, flagged_at=now, flag_reason="impossible_travel", device_browser="Travel 1")
    make_row(user, flagged_at=now, flag_reason="new_country", device_browser="Abroad 2")
    make_row(user, device_browser="Quiet 3")
    staff = logged_in_client(superuser)
    everything = staff.get(CHANGELIST).content.decode()
    assert "Flagged: Used from two places too far apart" in everything
    flagged = staff.get(CHANGELIST, {"flagged": "yes"}).content.decode()
    assert "Travel 1" in flagged and "Abroad 2" in flagged and "Quiet 3" not in flagged
    travel = staff.get(CHANGELIST, {"flagged": "impossible_travel"}).content.decode()
    assert "Travel 1" in travel and "Abroad 2" not in travel
    quiet = staff.get(CHANGELIST, {"flagged": "no"}).content.decode()
    assert "Quiet 3" in quiet and "Travel 1" not in quiet


def test_the_api_shows_the_flag(user: Any, geoip: None) -> None:
    owner, _thief = signed_in_from_abroad(user)
    items = {item["is_current"]: item for item in owner.get("/api/sessions/").json()["results"]}
    assert items[True]["flag_reason"] is None and items[True]["flagged_at"] is None
    assert items[False]["flag_reason"] == "new_country"
    assert items[False]["flagged_at"] is not None
