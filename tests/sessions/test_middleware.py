"""The middleware: throttled activity, key rotation, adoption, and what it costs."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.test import override_settings

from django_sessionmgr.models import UserSession
from django_sessionmgr.signouts import mark_cache
from django_sessionmgr.stores import store_class
from tests.helpers import (
    clone,
    count_queries,
    current_row_id,
    logged_in_client,
    make_client,
    session_cookie,
    stored_session_exists,
    whoami,
    without_sessionmgr,
)

pytestmark = pytest.mark.django_db


def activity_of(user: Any) -> Any:
    return UserSession.objects.get(user=user).last_activity_at


def test_activity_is_not_written_within_the_interval(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    at_login = activity_of(user)

    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 3600}):
        for _ in range(3):
            assert whoami(client) == "alice"

    assert activity_of(user) == at_login


def test_activity_is_written_once_the_interval_has_passed(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    at_login = activity_of(user)

    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert whoami(client) == "alice"
    first = activity_of(user)
    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert whoami(client) == "alice"
    second = activity_of(user)
    # The write itself restarts the interval: a long one now holds it still.
    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 3600}):
        assert whoami(client) == "alice"

    assert at_login < first < second == activity_of(user)
    assert UserSession.objects.get(user=user).is_active


def test_no_extra_query_between_activity_writes(
    engine: str, user: Any, django_assert_num_queries: Any
) -> None:
    client = logged_in_client(user)
    with without_sessionmgr():
        stock = count_queries(clone(client), "/whoami/")
    assert stock >= 1  # the view loads the user

    # A signed cookie reads its row, unless a shared cache holds its user's mark.
    extra = 1 if engine == "signed_cookies" and mark_cache() is None else 0
    for _ in range(2):
        with django_assert_num_queries(stock + extra):
            response = client.get("/whoami/")
        assert response.json() == {"user": "alice"}
        # Nor is the session saved again: no write to the store, no new cookie.
        assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_anonymous_request_without_a_cookie_costs_nothing(
    engine: str, django_assert_num_queries: Any
) -> None:
    client = make_client()
    with django_assert_num_queries(0):
        response = client.get("/whoami/")
    assert response.json() == {"user": None}
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert not UserSession.objects.exists()


def test_key_rotation_keeps_the_same_active_current_row(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    row = UserSession.objects.get(user=user)
    before = session_cookie(client)

    response = client.get("/rotate/")
    assert response.json() == {"user": "alice"}

    after = session_cookie(client)
    if engine != "signed_cookies":  # a signed cookie only changes with its data
        assert after != before
        assert not stored_session_exists(before)
    assert UserSession.objects.filter(user=user).count() == 1
    row.refresh_from_db()
    assert row.is_active
    assert current_row_id(client) == str(row.pk)
    assert whoami(client) == "alice"
    # The row follows the new key: revoking it really ends the rotated session.
    assert row.revoke()
    assert whoami(client) is None
    if engine != "signed_cookies":
        assert not stored_session_exists(after)


def session_from_before_install(user: Any) -> str:
    """A logged-in session as Django stored it before the app was installed."""
    session = store_class()()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    assert session.session_key
    return session.session_key


def test_a_session_from_before_install_is_adopted_on_its_next_request(
    engine: str, user: Any
) -> None:
    client = make_client(ip="198.51.100.7")
    client.cookies[settings.SESSION_COOKIE_NAME] = session_from_before_install(user)
    assert not UserSession.objects.exists()

    assert whoami(client) == "alice"

    row = UserSession.objects.get(user=user)
    assert row.is_active
    assert str(row.ip_address) == "198.51.100.7"
    assert current_row_id(client) == str(row.pk)
    assert whoami(client) == "alice"
    assert UserSession.objects.count() == 1
    # Adopted sessions are revocable like any other.
    assert row.revoke()
    assert whoami(client) is None


def test_login_while_the_middleware_was_out_keeps_its_row(engine: str, user: Any) -> None:
    with without_sessionmgr():
        client = logged_in_client(user)
        assert whoami(client) == "alice"
    row = UserSession.objects.get(user=user)

    with_middleware = clone(client)
    assert whoami(with_middleware) == "alice"

    assert list(UserSession.objects.active()) == [row]
    assert current_row_id(with_middleware) == str(row.pk)
    assert row.revoke()
    assert whoami(with_middleware) is None


def test_anonymous_session_with_a_cookie_gets_no_row(engine: str, user: Any) -> None:
    client = make_client()
    session = client.session  # creates and saves an anonymous session, sets its cookie
    session["cart"] = [1, 2]
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key or ""

    assert whoami(client) is None
    assert not UserSession.objects.exists()


def test_session_flushed_without_logout_ends_the_row(engine: str, user: Any) -> None:
    """A stale auth hash flushes the session without a logout signal; the row ends anyway."""
    client = logged_in_client(user)
    row = UserSession.objects.get(user=user)
    with override_settings(SESSIONMGR={"REVOKE_ON_PASSWORD_CHANGE": False}):
        user.set_password("another secret 123")
        user.save()

    assert whoami(client) is None

    row.refresh_from_db()
    assert row.status == UserSession.Status.ENDED
    assert row.ended_at is not None


def test_a_row_ended_behind_a_live_session_refuses_it(engine: str, user: Any) -> None:
    """If the row says the session is over, the session is over, on the next write too."""
    client = logged_in_client(user)
    UserSession.objects.filter(user=user).update(status=UserSession.Status.ENDED)

    with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
        assert whoami(client) is None
    assert whoami(client) is None


def read_user_early(get_response: Any) -> Any:
    """A project middleware, between Django's and the app's, that reads the user."""

    def middleware(request: Any) -> Any:
        request.user_seen_early = request.user.is_authenticated
        return get_response(request)

    return middleware


def keep_user_type(get_response: Any) -> Any:
    """Runs after the app's middleware: notes what ``request.user`` is, unread."""

    def middleware(request: Any) -> Any:
        response = get_response(request)
        response["X-User-Type"] = type(request.__dict__["user"]).__name__
        response["X-Same-User"] = str(request.__dict__["user"] is request.first_user)
        return response

    return middleware


def note_first_user(get_response: Any) -> Any:
    def middleware(request: Any) -> Any:
        request.first_user = request.__dict__["user"]  # as AuthenticationMiddleware set it
        return get_response(request)

    return middleware


def test_the_user_stays_djangos_own_lazy_object(user: Any) -> None:
    """No second wrapper: the revoke check runs inside Django's own lazy user."""
    client = logged_in_client(user)
    middleware = list(settings.MIDDLEWARE)
    at = middleware.index("django_sessionmgr.middleware.UserSessionMiddleware")
    middleware.insert(at, f"{__name__}.note_first_user")
    middleware.insert(at + 2, f"{__name__}.keep_user_type")
    with override_settings(MIDDLEWARE=middleware):
        client = clone(client)  # a new handler, built with this MIDDLEWARE
        response = client.get("/whoami/")
        assert response.json()["user"] == "alice"
        assert response["X-User-Type"] == "SimpleLazyObject"
        assert response["X-Same-User"] == "True"
        assert UserSession.objects.filter(user=user).revoke() == 1
        response = client.get("/whoami/")
    assert response.json()["user"] is None
    assert response["X-Same-User"] == "True"


def test_a_user_read_before_the_app_is_still_checked(engine: str, user: Any) -> None:
    """A middleware that reads the user first leaves the app a loaded user to
    check: a revoked session is still served as anonymous."""
    client = logged_in_client(user)
    middleware = list(settings.MIDDLEWARE)
    at = middleware.index("django_sessionmgr.middleware.UserSessionMiddleware")
    middleware.insert(at, f"{__name__}.read_user_early")
    with override_settings(MIDDLEWARE=middleware):
        client = clone(client)  # a new handler, built with this MIDDLEWARE
        assert whoami(client) == "alice"
        assert UserSession.objects.filter(user=user).revoke() == 1
        assert whoami(client) is None


_current = threading.local()


def remember_current_request(get_response: Any) -> Any:
    """What django-crum does: the request in a thread-local, for code given none."""

    def middleware(request: Any) -> Any:
        _current.request = request
        try:
            return get_response(request)
        finally:
            _current.request = None

    return middleware


def test_a_receiver_of_the_checks_own_write_may_read_the_user(engine: str, user: Any) -> None:
    """Adopting a session inserts its row; a project-wide ``pre_save`` receiver
    that reads the current user then gets the user, not a second check (which
    adopted again, inserted again, and recursed until a 500)."""
    from django.db.models.signals import pre_save

    seen: list[str] = []

    def stamp_actor(sender: Any, instance: Any, **kwargs: Any) -> None:
        request = getattr(_current, "request", None)
        if request is not None and sender is UserSession:
            seen.append(request.user.get_username())

    client = make_client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_from_before_install(user)
    middleware = [f"{__name__}.remember_current_request", *settings.MIDDLEWARE]
    pre_save.connect(stamp_actor)
    try:
        with override_settings(MIDDLEWARE=middleware):
            client = clone(client)
            assert whoami(client) == "alice"
    finally:
        pre_save.disconnect(stamp_actor)
    assert seen == ["alice"]
    assert UserSession.objects.filter(user=user).count() == 1
    assert UserSession.objects.filter(user=user).revoke() == 1
    assert whoami(client) is None
