"""The example project's demo shows one flagged session, and seeding flags
nothing by itself."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from django_sessionmgr.models import UserSession
from example_project.demo.management.commands.seed_demo import Command

pytestmark = [pytest.mark.django_db, pytest.mark.urls("example_project.urls")]


def test_the_demo_has_one_flagged_session(settings: Any) -> None:
    settings.GEOIP_PATH = str(settings.GEOIP_TEST_PATH)
    call_command(Command(), stdout=StringIO())
    flagged = UserSession.objects.exclude(flag_reason="")
    assert [
        (row.user.get_username(), row.flag_reason, row.location_city, row.last_location_city)
        for row in flagged
    ] == [("alice", "impossible_travel", "Milton", "Changchun")]
    assert flagged.get().is_active
