"""The ASGI path: ``alogin`` and the middleware's async mode, on every engine."""

from __future__ import annotations

from typing import Any

import django
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, override_settings
from django.urls import path

from django_sessionmgr.models import UserSession
from tests.helpers import (
    PASSWORD,
    alogin,
    awhoami,
    current_row_id,
    logged_in_client,
    session_cookie,
    stored_session_exists,
)
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_worker_connections"),
]

needs_alogin = pytest.mark.skipif(
    django.VERSION < (5, 0), reason="alogin() and aauthenticate() arrived in Django 5.0"
)


async def auser_whoami(request: HttpRequest) -> JsonResponse:
    """An async view that reads the user the async way (Django 5.0+)."""
    user = await request.auser()
    return JsonResponse({"user": user.get_username() or None})


urlpatterns = [path("auser-whoami/", auser_whoami), *project_urlpatterns]


def async_client() -> AsyncClient:
    return AsyncClient()


async def logged_in_async_client(user: Any) -> AsyncClient:
    """An async client holding a session that logged in through the sync login view."""
    client = async_client()
    sync_client = await sync_to_async(logged_in_client)(user)
    client.cookies[settings.SESSION_COOKIE_NAME] = session_cookie(sync_client)
    return client


async def rows_of(user: Any) -> list[UserSession]:
    return [row async for row in UserSession.objects.filter(user=user)]


@needs_alogin
async def test_alogin_records_one_active_current_row(engine: str, user: Any) -> None:
    client = async_client()

    await alogin(client, "alice")

    [row] = await rows_of(user)
    assert row.is_active
    assert row.device_browser == "Firefox 128"
    assert await sync_to_async(current_row_id)(client) == str(row.pk)
    assert await awhoami(client) == "alice"
    assert (await client.get("/whoami/")).json() == {"user": "alice"}


@needs_alogin
async def test_alogin_again_keeps_the_row_and_another_user_ends_it(
    engine: str, user: Any, other_user: Any
) -> None:
    client = async_client()
    await alogin(client, "alice")
    [first] = await rows_of(user)

    await alogin(client, "alice")
    assert [row.pk for row in await rows_of(user)] == [first.pk]

    await alogin(client, "bob")
    await first.arefresh_from_db()
    assert first.status == UserSession.Status.ENDED
    assert first.ended_at is not None
    [bob_row] = await rows_of(other_user)
    assert bob_row.is_active
    assert await awhoami(client) == "bob"


async def test_async_requests_refresh_activity_at_most_once_per_interval(
    engine: str, user: Any
) -> None:
    client = await logged_in_async_client(user)
    [row] = await rows_of(user)

    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 3600}):
        assert await awhoami(client) == "alice"
    [unchanged] = await rows_of(user)
    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert await awhoami(client) == "alice"
    [refreshed] = await rows_of(user)

    assert unchanged.last_activity_at == row.last_activity_at
    assert refreshed.last_activity_at > row.last_activity_at
    assert refreshed.is_active


async def test_async_requests_of_a_revoked_session_are_anonymous(engine: str, user: Any) -> None:
    due = await logged_in_async_client(user)
    not_due = await logged_in_async_client(user)
    cookies = [c.cookies[settings.SESSION_COOKIE_NAME].value for c in (due, not_due)]
    assert await awhoami(due) == "alice"

    assert await sync_to_async(UserSession.objects.all().revoke)() == 2

    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert await awhoami(due) is None
    assert await awhoami(not_due) is None
    assert (await not_due.get("/whoami/")).json() == {"user": None}
    if engine != "signed_cookies":
        for cookie in cookies:
            assert not await sync_to_async(stored_session_exists)(cookie)


async def test_async_password_change_spares_the_changing_session(engine: str, user: Any) -> None:
    changer = await logged_in_async_client(user)
    other = await logged_in_async_client(user)
    changer_row = await sync_to_async(current_row_id)(changer)

    new = "a brand new passphrase 42"
    response = await changer.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302

    assert await awhoami(changer) == "alice"
    assert await awhoami(other) is None
    statuses = {str(row.pk): (row.status, row.revoke_reason) for row in await rows_of(user)}
    assert statuses.pop(changer_row) == ("active", "")
    assert list(statuses.values()) == [("revoked", "password_change")]


async def test_async_anonymous_request_gets_no_session(engine: str) -> None:
    response = await async_client().get("/async-whoami/")

    assert response.json() == {"user": None}
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert not await UserSession.objects.aexists()


@needs_alogin
@pytest.mark.urls(__name__)
async def test_request_auser_of_a_revoked_session_is_anonymous(engine: str, user: Any) -> None:
    client = await logged_in_async_client(user)
    assert (await client.get("/auser-whoami/")).json() == {"user": "alice"}

    await sync_to_async(UserSession.objects.all().revoke)()

    assert (await client.get("/auser-whoami/")).json() == {"user": None}


@needs_alogin
@pytest.mark.urls(__name__)
async def test_request_auser_past_the_session_time_limit_is_anonymous(
    server_engine: str, user: Any, settings: Any
) -> None:
    """The end is decided on the event loop; the row is marked in a thread
    and the stored session flushed through the async API."""
    import time_machine
    from django.utils import timezone

    settings.SESSIONMGR = {"ABSOLUTE_TIMEOUT": 900}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = await logged_in_async_client(user)
        key = client.cookies[settings.SESSION_COOKIE_NAME].value
        assert (await client.get("/auser-whoami/")).json() == {"user": "alice"}
        traveller.shift(901)
        assert (await client.get("/auser-whoami/")).json() == {"user": None}

    row = await UserSession.objects.aget(user=user)
    assert row.status == UserSession.Status.EXPIRED
    assert not await sync_to_async(stored_session_exists)(key)
