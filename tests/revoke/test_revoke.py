"""Revoking really ends the session, on every engine, in a bounded number of queries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path

from django_sessionmgr.markers import session_row_id
from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_revoked
from tests.helpers import (
    logged_in_client,
    make_client,
    row_of,
    session_cookie,
    stored_session_exists,
    whoami,
)
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = pytest.mark.django_db


@pytest.fixture
def revoked_signals() -> Iterator[list[dict[str, Any]]]:
    """Every ``session_revoked`` sent, with ``sessions`` evaluated to sorted ids."""
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        ids = kwargs["sessions"].values_list("pk", flat=True)
        kwargs["sessions"] = sorted(str(pk) for pk in ids)
        received.append({"sender": sender, **kwargs})

    session_revoked.connect(receiver)
    yield received
    session_revoked.disconnect(receiver)


def replay(cookie: str) -> Client:
    client = make_client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


def test_revoking_one_session(
    engine: str, user: Any, admin_user: Any, revoked_signals: list[dict[str, Any]]
) -> None:
    client = logged_in_client(user)
    bystander = logged_in_client(user)
    cookie = session_cookie(client)
    row = row_of(client)

    assert row.revoke(by=admin_user, reason="lost phone")

    assert row.status == UserSession.Status.REVOKED  # the instance is refreshed
    row.refresh_from_db()
    assert row.status == UserSession.Status.REVOKED
    assert row.revoked_at is not None
    assert row.revoked_by == admin_user
    assert row.revoke_reason == "lost phone"
    assert row.ended_at is None
    assert not row.is_active
    assert row.effective_status == "revoked"
    assert whoami(client) is None
    assert whoami(replay(cookie)) is None
    assert whoami(bystander) == "alice"
    if engine != "signed_cookies":
        assert not stored_session_exists(cookie)
    assert revoked_signals == [
        {
            "sender": UserSession,
            "signal": session_revoked,
            "sessions": [str(row.pk)],
            "count": 1,
            "revoked_by": admin_user,
            "reason": "lost phone",
        }
    ]
    # Nothing active is left to revoke: no change, no signal.
    assert not row.revoke()
    assert len(revoked_signals) == 1


def test_revoking_a_queryset(
    engine: str, user: Any, other_user: Any, revoked_signals: list[dict[str, Any]]
) -> None:
    alice = [logged_in_client(user) for _ in range(3)]
    bob = logged_in_client(other_user)
    cookies = [session_cookie(client) for client in alice]

    count = UserSession.objects.filter(user=user).revoke(reason="compromised")

    assert count == 3
    rows = UserSession.objects.filter(user=user)
    assert {row.status for row in rows} == {UserSession.Status.REVOKED}
    assert all(row.revoked_at and row.revoked_by is None for row in rows)
    assert {row.revoke_reason for row in rows} == {"compromised"}
    for client, cookie in zip(alice, cookies, strict=True):
        assert whoami(client) is None
        assert whoami(replay(cookie)) is None
        if engine != "signed_cookies":
            assert not stored_session_exists(cookie)
    assert whoami(bob) == "bob"
    assert revoked_signals == [
        {
            "sender": UserSession,
            "signal": session_revoked,
            "sessions": sorted(str(row.pk) for row in rows),
            "count": 3,
            "revoked_by": None,
            "reason": "compromised",
        }
    ]


def test_revoke_leaves_ended_and_revoked_rows_alone(
    engine: str, user: Any, admin_user: Any, revoked_signals: list[dict[str, Any]]
) -> None:
    ended = logged_in_client(user)
    ended_row = row_of(ended)
    ended.post("/accounts/logout/")
    revoked_row = row_of(logged_in_client(user))
    revoked_row.revoke(reason="first")
    live_row = row_of(logged_in_client(user))

    assert UserSession.objects.all().revoke(by=admin_user, reason="second") == 1

    reasons = dict(UserSession.objects.values_list("pk", "revoke_reason"))
    assert reasons == {ended_row.pk: "", revoked_row.pk: "first", live_row.pk: "second"}
    ended_row.refresh_from_db()
    assert ended_row.status == UserSession.Status.ENDED
    assert ended_row.revoked_at is None
    assert [signal["count"] for signal in revoked_signals] == [1, 1]
    assert UserSession.objects.none().revoke() == 0
    assert len(revoked_signals) == 2


def test_a_revoked_session_stays_refused_after_its_interval(engine: str, user: Any) -> None:
    """The very next request is anonymous whether or not an activity write is due."""
    from django.test import override_settings

    due = logged_in_client(user)
    not_due = logged_in_client(user)
    UserSession.objects.all().revoke()

    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert whoami(due) is None
    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 3600}):
        assert whoami(not_due) is None


def test_a_replayed_signed_cookie_is_refused(settings: Any, user: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    client = logged_in_client(user)
    stolen = session_cookie(client)
    assert whoami(replay(stolen)) == "alice"  # a copied cookie is as good as the original

    row_of(client).revoke()

    for _ in range(2):
        assert whoami(replay(stolen)) is None
    assert whoami(client) is None


def queries_to_revoke(user: Any, sessions: int) -> tuple[int, int, list[str]]:
    cookies = []
    for _ in range(sessions):
        client = make_client()
        client.force_login(user)
        cookies.append(session_cookie(client))
    with CaptureQueriesContext(connection) as queries:
        count = UserSession.objects.filter(user=user).revoke()
    return count, len(queries), cookies


def test_queryset_revoke_uses_a_fixed_number_of_queries(
    engine: str, user: Any, other_user: Any, revoked_signals: list[dict[str, Any]]
) -> None:
    few, few_queries, few_cookies = queries_to_revoke(user, 5)
    many, many_queries, many_cookies = queries_to_revoke(other_user, 50)

    assert (few, many) == (5, 50)
    # The claim (a pending record, one UPDATE and the count), interrupted revokes
    # to finish and any held session's, the store, the mark, and the record gone.
    assert few_queries == many_queries <= 11
    assert [signal["count"] for signal in revoked_signals] == [5, 50]
    assert len(revoked_signals[1]["sessions"]) == 50
    for cookie in few_cookies + many_cookies:
        assert whoami(replay(cookie)) is None
        if engine != "signed_cookies":
            assert not stored_session_exists(cookie)


def revoke_own_session(request: HttpRequest) -> JsonResponse:
    """A request during which its own session is revoked (by another process, say)."""
    UserSession.objects.filter(pk=session_row_id(request)).revoke()
    if request.GET.get("then") == "rotate":
        request.session.cycle_key()
    else:
        request.session["cart"] = ["book"]
    return JsonResponse({"user": request.user.get_username()})


urlpatterns = [path("revoke-own/", revoke_own_session), *project_urlpatterns]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("then", ["rotate", "write"])
def test_a_session_revoked_mid_request_is_not_saved_back(engine: str, user: Any, then: str) -> None:
    client = logged_in_client(user)
    cookie = session_cookie(client)

    response = client.get(f"/revoke-own/?then={then}")

    # Server-side engines refuse to update a deleted session (400); a rotated
    # key or a signed cookie would carry it on.
    assert response.status_code in (200, 400)
    assert whoami(client) is None
    assert whoami(replay(cookie)) is None
    assert UserSession.objects.get().status == UserSession.Status.REVOKED


def test_a_long_reason_is_cut_to_what_is_stored(
    engine: str, user: Any, revoked_signals: list[dict[str, Any]]
) -> None:
    row = row_of(logged_in_client(user))

    assert row.revoke(reason="x" * 300)

    assert row.revoke_reason == "x" * 255
    assert revoked_signals[0]["reason"] == "x" * 255


class CountingCache(LocMemCache):
    """A local-memory cache that counts the calls made to it (not those it makes to itself)."""

    calls: ClassVar[Counter[str]] = Counter()
    _inside_delete_many = False

    def delete(self, key: Any, version: int | None = None) -> bool:
        if not self._inside_delete_many:
            self.calls["delete"] += 1
        return super().delete(key, version)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self.calls["delete_many"] += 1
        self._inside_delete_many = True
        try:
            super().delete_many(keys, version)
        finally:
            self._inside_delete_many = False


@pytest.mark.parametrize("cache_engine", ["cache", "cached_db"])
def test_queryset_revoke_uses_a_fixed_number_of_cache_calls(
    settings: Any, user: Any, other_user: Any, cache_engine: str
) -> None:
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{cache_engine}"
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.CountingCache"}}
    counts = []
    for owner, sessions in ((user, 5), (other_user, 50)):
        cookies = []
        for _ in range(sessions):
            client = make_client()
            client.force_login(owner)
            cookies.append(session_cookie(client))
        CountingCache.calls.clear()

        assert UserSession.objects.filter(user=owner).revoke() == sessions

        counts.append(dict(CountingCache.calls))
        assert not any(stored_session_exists(cookie) for cookie in cookies)
    assert counts == [{"delete_many": 1}, {"delete_many": 1}]


def test_a_third_party_engine_is_cleared_through_its_own_delete(settings: Any, user: Any) -> None:
    from tests import dict_engine

    settings.SESSION_ENGINE = "tests.dict_engine"
    clients = [logged_in_client(user) for _ in range(3)]
    assert len(dict_engine.STORE) == 3

    assert UserSession.objects.filter(user=user).revoke() == 3

    assert dict_engine.STORE == {}
    assert [whoami(client) for client in clients] == [None] * 3
