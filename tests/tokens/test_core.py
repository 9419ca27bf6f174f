"""Token sessions' core: the digest, a token's start, activity and end, the
clearers a revoke calls, and MAX_SESSIONS across browsers and tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import QuerySet
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_sessionmgr import token_clearers
from django_sessionmgr.exceptions import RevokeFailed
from django_sessionmgr.models import UserSession
from django_sessionmgr.tokens.core import (
    TokenRefused,
    end_token_session,
    start_token_session,
    token_used,
)
from django_sessionmgr.tokens.lookup import token_digest
from tests.helpers import active_rows, logged_in_client, row_of, whoami

pytestmark = pytest.mark.django_db

KNOX, DRF = UserSession.Kind.KNOX, UserSession.Kind.DRF_TOKEN
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


def request(ip: str = "198.51.100.7", agent: str = PHONE) -> Any:
    return RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The queries sent, without the savepoints of the test's own transaction."""
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def new_token() -> str:
    return secrets.token_hex(20)


class Clearers:
    """Clearers registered by a test: each records the rows it was given."""

    def __init__(self) -> None:
        self.seen: dict[str, list[set[str]]] = {}
        self.swept: dict[str, list[set[Any] | None]] = {}
        self.fail: set[str] = set()

    def register(self, kind: str, *, reads: bool = True) -> None:
        def clear(rows: QuerySet[UserSession]) -> None:
            if kind in self.fail:
                raise OSError("the token store is down")
            if not reads:  # a clearer that costs no query
                self.seen.setdefault(kind, []).append(set())
                return
            self.seen.setdefault(kind, []).append(
                {str(pk) for pk in rows.values_list("pk", flat=True)}
            )

        def sweep(users: Any) -> None:
            if kind in self.fail:
                raise OSError("the token store is down")
            swept = None if users is None else set(users)
            self.swept.setdefault(kind, []).append(swept)

        token_clearers.register(kind, clear, sweep)


@pytest.fixture
def clearers() -> Iterator[Clearers]:
    registries = (token_clearers._clearers, token_clearers._sweepers)
    before = [dict(registry) for registry in registries]
    for registry in registries:
        registry.clear()
    try:
        yield Clearers()
    finally:
        for registry, kept in zip(registries, before, strict=True):
            registry.clear()
            registry.update(kept)


def test_the_digest_is_keyed_and_says_nothing_of_the_token(settings: Any) -> None:
    token = new_token()
    digest = token_digest(KNOX, token)
    assert len(digest) == 64 and token not in digest and token[:8] not in digest
    assert token_digest(DRF, token) != digest  # one salt per kind
    settings.SECRET_KEY = "another-secret"
    assert token_digest(KNOX, token) != digest


def test_start_records_the_device_and_is_idempotent(user: Any) -> None:
    token = new_token()
    row = start_token_session(request(), user, KNOX, token)
    assert row is not None
    row.refresh_from_db()
    assert (row.kind, row.status, row.ip_address, row.device_type) == (
        KNOX,
        "active",
        "198.51.100.7",
        "mobile",
    )
    assert row.token_digest == token_digest(KNOX, token)
    again = start_token_session(request(ip="203.0.113.1"), user, KNOX, token)
    assert again is not None and again.pk == row.pk
    assert UserSession.objects.count() == 1
    # Made outside a view: an unknown device.
    made = start_token_session(None, user, DRF, new_token())
    assert made is not None and made.ip_address is None and made.device_summary == "Unknown device"


def test_expiry_is_the_packages_or_the_absolute_timeout_or_none(settings: Any, user: Any) -> None:
    soon = timezone.now() + timedelta(hours=10)
    assert start_token_session(None, user, KNOX, new_token(), expires_at=soon).expires_at == soon
    far = start_token_session(None, user, DRF, new_token())
    assert far.expires_at > timezone.now() + timedelta(days=365 * 99)
    settings.SESSIONMGR = {"ABSOLUTE_TIMEOUT": 3600}
    capped = start_token_session(None, user, KNOX, new_token(), expires_at=soon)
    assert (
        timedelta(seconds=3599) < capped.expires_at - capped.created_at <= timedelta(seconds=3600)
    )


def test_activity_is_written_at_most_once_per_interval_and_costs_no_query_between(
    settings: Any, user: Any
) -> None:
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 60}
    token = new_token()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        row = start_token_session(request(), user, KNOX, token)
        assert row is not None
        with CaptureQueriesContext(connection) as queries:
            assert token_used(request(ip="192.0.2.1"), KNOX, token) == str(row.pk)
        assert len(queries) == 0
        clock.shift(59)
        with CaptureQueriesContext(connection) as queries:
            token_used(request(ip="192.0.2.1"), KNOX, token)
        assert len(queries) == 0
        clock.shift(2)
        with CaptureQueriesContext(connection) as queries:
            token_used(request(ip="192.0.2.1"), KNOX, token)
        sent = statements(queries)
        assert len(sent) == 1 and sent[0].startswith("UPDATE"), sent
        row.refresh_from_db()
        assert row.last_activity_at == timezone.now()
        assert str(row.last_ip_address) == "192.0.2.1" and str(row.ip_address) == "198.51.100.7"


def test_a_token_without_a_row_is_adopted_with_this_requests_device(user: Any) -> None:
    token = new_token()
    assert token_used(request(), DRF, token) is None  # no user given: nothing to adopt for
    assert not UserSession.objects.exists()
    row_id = token_used(request(), DRF, token, user=user)
    row = UserSession.objects.get()
    assert str(row.pk) == row_id and row.adopted and row.kind == DRF and row.device_type == "mobile"


def test_a_revoked_or_ended_token_is_refused_and_never_adopted_again(
    user: Any, clearers: Clearers
) -> None:
    clearers.register(KNOX)
    revoked, ended = new_token(), new_token()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = start_token_session(request(), user, KNOX, revoked)
        start_token_session(request(), user, KNOX, ended)
        token_used(request(), KNOX, revoked)  # remembered by this process

        first.revoke()
        end_token_session(KNOX, ended)

        with pytest.raises(TokenRefused):
            token_used(request(), KNOX, ended, user=user)
        # Between writes the package's own lookup refuses a revoked token (its
        # clearer deleted it); the row refuses it at the next write at the latest.
        clock.shift(61)
        with pytest.raises(TokenRefused):
            token_used(request(), KNOX, revoked, user=user)
        with pytest.raises(TokenRefused):
            token_used(request(), KNOX, revoked, user=user)
    assert UserSession.objects.count() == 2
    assert sorted(UserSession.objects.values_list("status", flat=True)) == ["ended", "revoked"]
    assert str(first.pk) in set().union(*clearers.seen[KNOX])


def test_idle_and_absolute_timeouts_expire_a_token(settings: Any, user: Any) -> None:
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 600, "ACTIVITY_UPDATE_INTERVAL": 60}
    idle, busy = new_token(), new_token()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        idle_row = start_token_session(request(), user, DRF, idle)
        busy_row = start_token_session(request(), user, DRF, busy)
        for _ in range(12):
            clock.shift(100)
            token_used(request(), DRF, busy)
        with pytest.raises(TokenRefused):
            token_used(request(), DRF, idle)
    idle_row.refresh_from_db()
    busy_row.refresh_from_db()
    assert (
        idle_row.status == "expired"
        and idle_row.revoke_reason_display == "Signed out after inactivity"
    )
    assert busy_row.is_active

    settings.SESSIONMGR = {"ABSOLUTE_TIMEOUT": 1000}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        row = start_token_session(request(), user, DRF, busy + "x")
        clock.shift(999)
        token_used(request(), DRF, busy + "x")
        clock.shift(2)
        with pytest.raises(TokenRefused):
            token_used(request(), DRF, busy + "x")
    row.refresh_from_db()
    assert row.status == "expired"


def test_end_leaves_a_claimed_row_to_its_revoke(user: Any) -> None:
    token = new_token()
    row = start_token_session(request(), user, KNOX, token)
    UserSession.objects.filter(pk=row.pk).update(
        revoke_batch="00000000-0000-4000-8000-000000000000"
    )
    end_token_session(KNOX, token)
    row.refresh_from_db()
    assert row.status == "active"
    UserSession.objects.filter(pk=row.pk).update(revoke_batch=None)
    end_token_session(KNOX, token, status=UserSession.Status.EXPIRED)
    row.refresh_from_db()
    assert row.status == "expired" and row.ended_at is None


def test_a_revoke_hands_each_kinds_claimed_rows_to_its_clearer(
    user: Any, other_user: Any, clearers: Clearers
) -> None:
    clearers.register(KNOX)
    clearers.register(DRF)
    browser = logged_in_client(user)
    knox = [start_token_session(request(), user, KNOX, new_token()) for _ in range(2)]
    drf = start_token_session(request(), user, DRF, new_token())
    elsewhere = start_token_session(request(), other_user, KNOX, new_token())

    assert UserSession.objects.filter(user=user).revoke() == 4

    assert clearers.seen == {KNOX: [{str(row.pk) for row in knox}], DRF: [{str(drf.pk)}]}
    assert not active_rows(user) and whoami(browser) is None
    elsewhere.refresh_from_db()
    assert elsewhere.is_active


def test_a_revoke_of_browsers_only_calls_no_clearer_and_costs_no_more_queries(
    user: Any, other_user: Any, clearers: Clearers
) -> None:
    clearers.register(KNOX, reads=False)
    logged_in_client(user)
    logged_in_client(other_user)
    start_token_session(request(), other_user, KNOX, new_token())

    with CaptureQueriesContext(connection) as browsers_only:
        UserSession.objects.filter(user=user).revoke()
    with CaptureQueriesContext(connection) as with_a_token:
        UserSession.objects.filter(user=other_user).revoke()

    assert clearers.seen == {KNOX: [set()]}  # called once: for the token
    # The kinds come with the claim's count: the token costs only its clearer (none here).
    assert len(statements(browsers_only)) == len(statements(with_a_token))


def test_a_failing_clearer_fails_the_revoke_and_a_retry_reaches_the_same_rows(
    user: Any, clearers: Clearers
) -> None:
    clearers.register(KNOX)
    browser = logged_in_client(user)
    token = start_token_session(request(), user, KNOX, new_token())
    clearers.fail.add(KNOX)

    with pytest.raises(RevokeFailed) as failure:
        UserSession.objects.filter(user=user).revoke()

    assert "store is down" not in str(failure.value)
    token.refresh_from_db()
    assert token.status == "active" and token.revoke_batch is None
    assert whoami(browser) == "alice"  # the tokens go first: the browser is untouched

    clearers.fail.clear()
    assert UserSession.objects.filter(user=user).revoke() == 2
    assert str(token.pk) in clearers.seen[KNOX][-1]


@pytest.mark.parametrize("tokens_count", [True, False])
def test_max_sessions_counts_tokens_only_when_the_setting_says_so(
    settings: Any, user: Any, tokens_count: bool, clearers: Clearers
) -> None:
    clearers.register(KNOX)
    settings.SESSIONMGR = {"MAX_SESSIONS": 2, "TOKENS_COUNT_TOWARD_MAX_SESSIONS": tokens_count}
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=True):
        first = logged_in_client(user)
    with time_machine.travel(timezone.now() - timedelta(minutes=30), tick=True):
        token = start_token_session(request(), user, KNOX, new_token())
    second = logged_in_client(user)

    token.refresh_from_db()
    if tokens_count:
        # The browser login went past 2: the least recently active other (the first browser) goes.
        assert whoami(first) is None and token.is_active
        third = start_token_session(request(), user, KNOX, new_token())
        token.refresh_from_db()
        assert token.status == "revoked" and token.revoke_reason == "session_limit"
        assert {row.pk for row in active_rows(user)} == {row_of(second).pk, third.pk}
    else:
        assert whoami(first) == "alice" and whoami(second) == "alice" and token.is_active
        for _ in range(3):
            start_token_session(request(), user, KNOX, new_token())
        assert len(active_rows(user)) == 6
        assert whoami(first) == "alice"


def test_revoke_all_reaches_every_token(user: Any, other_user: Any, clearers: Clearers) -> None:
    clearers.register(KNOX)
    clearers.register(DRF)
    rows = [
        start_token_session(request(), user, KNOX, new_token()),
        start_token_session(None, other_user, DRF, new_token()),
    ]
    browser = logged_in_client(other_user)

    call_command("sessionmgr_revoke", "--all", stdout=StringIO())

    assert set().union(*clearers.seen[KNOX], *clearers.seen[DRF]) == {str(r.pk) for r in rows}
    assert not UserSession.objects.active().exists() and whoami(browser) is None


def test_a_revoke_of_every_session_of_a_user_sweeps_their_tokens_without_a_row(
    user: Any, other_user: Any, clearers: Clearers
) -> None:
    clearers.register(KNOX)
    browser = logged_in_client(user)

    assert browser.post("/api/sessions/revoke-others/").json() == {"revoked": 0}
    UserSession.objects.filter(user=other_user).revoke()  # not every session of a user
    call_command("sessionmgr_revoke", "--all", stdout=StringIO())

    assert clearers.swept == {KNOX: [{user.pk}, None]}
    assert clearers.seen == {}  # no token row was claimed


def test_a_failing_sweep_fails_the_revoke_before_it_claims_anything(
    user: Any, clearers: Clearers
) -> None:
    clearers.register(KNOX)
    other_browser = logged_in_client(user)
    browser = logged_in_client(user)
    clearers.fail.add(KNOX)

    response = browser.post("/api/sessions/revoke-others/")

    assert response.status_code == 503
    assert "store is down" not in response.content.decode()
    assert whoami(other_browser) == "alice"
    assert not UserSession.objects.filter(revoke_batch__isnull=False).exists()
