"""Impossible travel on the ASGI path: the async middleware finds it and
revokes as it does in sync mode."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.test import AsyncClient
from django.utils import timezone

from django_sessionmgr.models import UserSession
from tests.anomalies.places import CHANGCHUN, LONDON
from tests.helpers import logged_in_client, session_cookie

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_worker_connections"),
]


@pytest.mark.parametrize("action", ["flag", "revoke"])
async def test_async_requests_find_impossible_travel(
    engine: str, user: Any, settings: Any, action: str
) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
    settings.SESSIONMGR = {"ANOMALY_ACTION": action, "TRUSTED_PROXY_COUNT": 1}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        owner = await sync_to_async(logged_in_client)(user, ip=LONDON)
        cookie = session_cookie(owner)
        traveller.shift(30 * 60)
        # The test client cannot set an ASGI client address: a proxy says it.
        thief = AsyncClient()
        thief.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
        answer = await thief.get("/async-whoami/", headers={"X-Forwarded-For": CHANGCHUN})
        seen = answer.json()["user"]
    [row] = [r async for r in UserSession.objects.filter(user=user)]
    assert (row.last_location_city, row.flag_reason) == ("Changchun", "impossible_travel")
    if action == "revoke":
        assert seen is None
        assert row.revoke_reason == "suspicious"
    else:
        assert seen == "alice"
        assert row.is_active
