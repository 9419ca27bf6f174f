"""ASGI: async views under AsyncClient, login by ``alogin``, with the app installed.

It needs no other package, so it runs with the core suite under tests.settings.
The real uvicorn run (two workers, a revoke seen by both) is
tests/servers/test_workers.py's ``uvicorn-db`` server.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from django_sessionmgr.models import UserSession
from tests.helpers import FIREFOX, PASSWORD, alogin, awhoami, without_sessionmgr

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_worker_connections"),
]
NEW_PASSWORD = "n3w-Pw!x-async"


async def signed_in(user: Any) -> AsyncClient:
    client = AsyncClient(headers={"user-agent": FIREFOX})
    await alogin(client, user.get_username())
    return client


async def row_of(client: AsyncClient) -> UserSession:
    from django.http import HttpRequest

    from django_sessionmgr.markers import session_row_id

    request = HttpRequest()
    request.session = await client.asession()
    row_id = await sync_to_async(session_row_id)(request)
    assert row_id is not None
    return await UserSession.objects.aget(pk=row_id)


async def active_count(user: Any) -> int:
    return await UserSession.objects.filter(user=user).active().acount()


async def test_alogin_makes_one_row_that_follows_the_session(user):
    client = await signed_in(user)
    assert await active_count(user) == 1
    row = await row_of(client)
    session = await client.asession()
    assert abs(row.expires_at - await session.aget_expiry_date()).total_seconds() < 5


async def test_rotation_under_asgi_keeps_the_row_and_revoke_ends_it(user):
    client = await signed_in(user)
    before = await row_of(client)
    old_key = (await client.asession()).session_key
    assert (await client.get("/rotate/")).status_code == 200
    assert (await client.asession()).session_key != old_key
    assert (await row_of(client)).pk == before.pk
    assert await sync_to_async(UserSession.objects.filter(pk=before.pk).revoke)() == 1
    assert await awhoami(client) is None


async def test_password_change_under_asgi_revokes_the_other_sessions(user):
    this, other = await signed_in(user), await signed_in(user)
    response = await this.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content
    assert await awhoami(other) is None
    assert await awhoami(this) == user.get_username()
    assert await active_count(user) == 1


async def flow(user: Any) -> list[tuple[int, str | None]]:
    client = AsyncClient()
    answers = []
    for password in ("wrong", PASSWORD):
        response = await client.post(
            "/async-login/", {"username": user.get_username(), "password": password}
        )
        answers.append((response.status_code, await awhoami(client)))
    return answers


async def test_async_login_answers_as_without_the_app(user):
    with without_sessionmgr():
        stock = await flow(user)
    assert await flow(user) == stock
    assert stock == [(400, None), (200, "alice")]
