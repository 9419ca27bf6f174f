"""A login costs the disk no more commits than stock Django's.

On the ``db`` and ``cached_db`` engines the login's row is written in the
transaction of the session's own save, and the response's save writes
nothing again. Counted here on the real database, stock Django against the
app, in commits (what the disk pays an fsync for) and statements. The
failure rules hold inside that shared transaction: a failure of ours never
costs the login, and one of the session's save takes our row with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth import authenticate, login
from django.contrib.auth.signals import user_logged_in
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from django_sessionmgr.models import UserSession
from django_sessionmgr.receivers import record_login
from tests.helpers import PASSWORD, failing, make_client, use_engine, whoami, without_sessionmgr
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

TABLE = UserSession._meta.db_table
RECEIVER = "django_sessionmgr.record_login"
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@csrf_exempt
def sign_in_and_write(request: HttpRequest) -> JsonResponse:
    """A project's login view that writes in the request's transaction too."""
    user = authenticate(request, username=request.POST["username"], password=PASSWORD)
    assert user is not None
    user.first_name = "Alice"
    user.save(update_fields=["first_name"])
    login(request, user)
    return JsonResponse({"user": user.get_username()})


@csrf_exempt
def sign_in_then_note(request: HttpRequest) -> JsonResponse:
    """A login view that keeps a value of its own in the session after ``login()``."""
    user = authenticate(request, username=request.POST["username"], password=PASSWORD)
    assert user is not None
    login(request, user)
    request.session["theme"] = "dark"
    return JsonResponse({"user": user.get_username()})


def theme(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"theme": request.session.get("theme")})


urlpatterns = [
    path("login-and-write/", sign_in_and_write),
    path("login-then-note/", sign_in_then_note),
    path("theme/", theme),
    *project_urlpatterns,
]


@pytest.fixture(params=["db", "cached_db"])
def db_engine(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> Iterator[str]:
    """The engines that keep sessions in the database of the app's table."""
    yield from use_engine(request.param, settings, tmp_path)


class Seen:
    commits = 0
    statements = 0
    wrote = False


@contextmanager
def counting_commits() -> Iterator[Seen]:
    """Write transactions committed on the test's connection: a write in
    autocommit is one, a transaction that wrote is one when it commits.
    (``CaptureQueriesContext`` shows no ``COMMIT``: the drivers commit through
    their own call.)"""
    seen = Seen()

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.statements += 1
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith(WRITES):
            if connection.in_atomic_block:
                seen.wrote = True
            else:
                seen.commits += 1
        return result

    own_commit, own_rollback = connection.commit, connection.rollback

    def commit() -> None:
        own_commit()
        seen.commits += seen.wrote
        seen.wrote = False

    def rollback() -> None:
        own_rollback()
        seen.wrote = False

    connection.commit, connection.rollback = commit, rollback  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(record):
            yield seen
    finally:
        del connection.commit, connection.rollback


@contextmanager
def as_stock() -> Iterator[None]:
    """Stock Django: neither the middleware nor the login receiver."""
    user_logged_in.disconnect(dispatch_uid=RECEIVER)
    try:
        with without_sessionmgr():
            yield
    finally:
        user_logged_in.connect(record_login, dispatch_uid=RECEIVER)


def log_in(user: Any, status: int | None = 302) -> tuple[Any, Seen, int]:
    """Sign a new browser in through the login view, counting what it costs."""
    client = make_client(raise_request_exception=status is not None)
    with counting_commits() as seen:
        response = client.post(
            "/accounts/login/", {"username": user.get_username(), "password": PASSWORD}
        )
    assert status is None or response.status_code == status, response.content
    return client, seen, response.status_code


@pytest.mark.parametrize("limit", [None, 5], ids=["no limit", "MAX_SESSIONS"])
def test_a_login_commits_as_often_as_stock(
    db_engine: str, user: Any, settings: Any, limit: int | None
) -> None:
    settings.SESSIONMGR = {"MAX_SESSIONS": limit}
    with as_stock():
        _, stock, _ = log_in(user)
    client, ours, _ = log_in(user)

    assert ours.commits == stock.commits == 3  # the new session, last_login, its data
    # The row's INSERT, and the savepoint the session's own save takes inside
    # the shared transaction; with a limit, the lock on the user (in a
    # savepoint too) and the read of the sessions past it.
    assert ours.statements == stock.statements + (3 if limit is None else 7)
    assert UserSession.objects.filter(user=user).active().count() == 1
    assert whoami(client) == "alice"


def test_a_second_login_in_a_fresh_session_commits_as_stock(db_engine: str, user: Any) -> None:
    """The user's earlier sessions change nothing: the row shares the commit each time."""
    log_in(user)
    with as_stock():
        _, stock, _ = log_in(user)
    _, ours, _ = log_in(user)
    assert ours.commits == stock.commits
    assert UserSession.objects.filter(user=user).active().count() == 2


def test_a_row_that_cannot_be_written_costs_no_commit_and_not_the_login(
    db_engine: str, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Our INSERT fails first in the shared transaction: nothing of the
    project's is rolled back with it (the session keeps its login, last_login
    is written), and the session is adopted once the table answers again."""
    with as_stock():
        _, stock, _ = log_in(user)
    user.refresh_from_db()
    before = user.last_login
    with failing(TABLE, "INSERT"), caplog.at_level(logging.WARNING, "django_sessionmgr"):
        client, ours, _ = log_in(user)
        assert whoami(client) == "alice"
    assert ours.commits == stock.commits
    assert "could not record a login" in caplog.text
    user.refresh_from_db()
    assert user.last_login > before
    assert not UserSession.objects.exists()

    assert whoami(client) == "alice"  # adopted now
    row = UserSession.objects.get(user=user)
    assert row.adopted and row.status == UserSession.Status.ACTIVE


def test_a_session_save_that_fails_takes_the_row_with_it(db_engine: str, user: Any) -> None:
    """The session's data cannot be written: the response fails as stock
    Django's does (the error of the response's own save), and no row is left
    behind for a login that never held."""
    with failing("django_session", "UPDATE"):
        with as_stock():
            stock, _, stock_status = log_in(user, status=None)
        client, _, status = log_in(user, status=None)
    assert status == stock_status >= 400
    assert whoami(stock) is None
    assert whoami(client) is None
    assert not UserSession.objects.exists()


@pytest.fixture
def atomic_requests() -> Iterator[None]:
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        yield
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = False


def test_under_atomic_requests_the_row_is_written_in_the_request_transaction(
    db_engine: str, user: Any, atomic_requests: None, caplog: pytest.LogCaptureFixture
) -> None:
    """``ATOMIC_REQUESTS``: the row goes in the request's transaction, under a
    savepoint, so no commit of its own; when it fails, the savepoint alone is
    rolled back and the project's own writes of that request stand."""

    def sign_in() -> tuple[Any, Seen]:
        client = make_client()
        with counting_commits() as seen:
            response = client.post("/login-and-write/", {"username": user.get_username()})
        assert response.status_code == 200, response.content
        return client, seen

    with as_stock():
        _, stock = sign_in()
    _, ours = sign_in()
    assert ours.commits == stock.commits == 2  # the request's transaction, the session's data
    assert UserSession.objects.filter(user=user).count() == 1

    user.first_name = ""
    user.save(update_fields=["first_name"])
    with failing(TABLE, "INSERT"), caplog.at_level(logging.WARNING, "django_sessionmgr"):
        client, failed = sign_in()
        assert whoami(client) == "alice"
    assert failed.commits == stock.commits
    assert "could not record a login" in caplog.text
    user.refresh_from_db()
    assert user.first_name == "Alice"
    assert UserSession.objects.filter(user=user).count() == 1
    assert whoami(client) == "alice"  # adopted now
    assert UserSession.objects.filter(user=user, adopted=True).count() == 1


def test_a_login_over_another_users_session_commits_as_stock(
    db_engine: str, user: Any, other_user: Any
) -> None:
    """``login()`` flushes the session of the user signed in before: the new
    key, the row and the data share one commit. The app's one more is the
    end of the replaced session's row, which stock Django does not have."""

    def switch() -> Seen:
        client = make_client()
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        with counting_commits() as seen:
            response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
        assert response.status_code == 302
        assert whoami(client) == "bob"
        return seen

    with as_stock():
        stock = switch()
    ours = switch()
    assert (
        ours.commits == stock.commits + 1 == 4
    )  # stock: the old session's delete, last_login, the new
    assert UserSession.objects.filter(user=other_user).active().count() == 1
    assert not UserSession.objects.filter(user=user).active().exists()


def test_a_row_that_cannot_be_written_over_another_users_session(
    db_engine: str, user: Any, other_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """After the flush the session's new key is created first: our failure,
    in a savepoint after it, leaves the key and the login's data committed."""
    client = make_client()
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    with failing(TABLE, "INSERT"), caplog.at_level(logging.WARNING, "django_sessionmgr"):
        response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
        assert response.status_code == 302
        assert whoami(client) == "bob"
    assert "could not record a login" in caplog.text
    assert not UserSession.objects.filter(user=other_user).exists()
    assert whoami(client) == "bob"  # adopted now
    assert UserSession.objects.filter(user=other_user, adopted=True).active().count() == 1
    assert not UserSession.objects.filter(user=user).active().exists()


def test_a_session_changed_after_login_is_saved_at_the_response(db_engine: str, user: Any) -> None:
    """The response's save is skipped only while the session is as the row's
    transaction saved it: a value the view adds after ``login()`` is stored."""

    def sign_in() -> tuple[Any, Seen]:
        client = make_client()
        with counting_commits() as seen:
            response = client.post("/login-then-note/", {"username": user.get_username()})
        assert response.status_code == 200, response.content
        return client, seen

    with as_stock():
        _, stock = sign_in()
    client, ours = sign_in()
    assert client.get("/theme/").json() == {"theme": "dark"}
    assert whoami(client) == "alice"
    assert ours.commits == stock.commits + 1  # the data saved again, as before
