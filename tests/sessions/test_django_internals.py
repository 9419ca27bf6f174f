"""The private details of Django the app relies on (``django_sessionmgr.internals``).

Each test names the detail it checks: when one fails after a Django upgrade,
the message says which detail changed, and the wrapper in ``internals`` is
the one place to adapt.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import alogout, login, logout
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.contrib.sessions.middleware import SessionMiddleware
from django.db.models.signals import post_save, pre_save
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from django_sessionmgr import internals
from django_sessionmgr.models import UserSession
from django_sessionmgr.revocation import ACTORS_HINT, SPARE_HINT
from django_sessionmgr.rows import insert_row
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"
SPARED = "00000000-0000-4000-8000-000000000000"


def request_through_auth_middleware(session_key: str | None = None) -> HttpRequest:
    """A request as ``SessionMiddleware`` and ``AuthenticationMiddleware`` leave it."""
    request = RequestFactory().get("/")
    if session_key is not None:
        request.COOKIES[settings.SESSION_COOKIE_NAME] = session_key
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    AuthenticationMiddleware(lambda r: HttpResponse()).process_request(request)
    return request


def signed_in_session_key(user: Any) -> str:
    request = request_through_auth_middleware()
    login(request, user, backend=BACKEND)
    request.session.save()
    assert request.session.session_key is not None
    return request.session.session_key


# The lazy user.


def test_the_lazy_user_keeps_its_loader_in_setupfunc_until_evaluated(user: Any) -> None:
    request = request_through_auth_middleware(signed_in_session_key(user))
    lazy = request.user
    assert type(lazy) is SimpleLazyObject, (
        "AuthenticationMiddleware no longer sets request.user to a SimpleLazyObject"
    )
    attributes = object.__getattribute__(lazy, "__dict__")
    assert "_setupfunc" in attributes, "SimpleLazyObject no longer keeps its function in _setupfunc"
    loads: list[object] = []

    def wrap(load: Any) -> Any:
        def wrapped() -> Any:
            loads.append(load)
            return load()

        return wrapped

    load = internals.wrap_lazy_loader(lazy, wrap)
    assert load is not None, "an unevaluated SimpleLazyObject is no longer recognised (_wrapped)"
    assert loads == []  # wrapping it evaluated nothing
    assert lazy.pk == user.pk
    assert loads == [load], "SimpleLazyObject no longer loads through __dict__['_setupfunc']"
    # Once evaluated, it is left alone, and its object is the one behind it.
    assert internals.wrap_lazy_loader(lazy, wrap) is None
    assert type(internals.unwrap_lazy(lazy)) is type(user), "LazyObject._wrapped changed"


def test_a_user_that_is_no_lazy_object_is_left_alone() -> None:
    anonymous = AnonymousUser()
    assert internals.wrap_lazy_loader(anonymous, lambda load: load) is None
    assert internals.unwrap_lazy(anonymous) is anonymous


def test_auser_caches_the_user_on_the_request_as_acached_user(user: Any) -> None:
    request = request_through_auth_middleware(signed_in_session_key(user))
    assert not internals.auser_has_loaded(request)
    loaded = async_to_sync(request.auser)()
    assert loaded.pk == user.pk
    assert internals.auser_has_loaded(request), (
        "request.auser() no longer caches the user in request._acached_user"
    )


# Sessions.


def test_the_session_data_is_loaded_into_session_cache(user: Any) -> None:
    session = DBStore(signed_in_session_key(user))
    assert not internals.session_data_loaded(session)
    session.get("anything")
    assert internals.session_data_loaded(session), (
        "SessionBase no longer keeps the loaded data in _session_cache"
    )


def test_login_and_logout_flush_through_the_session_instance(user: Any, other_user: Any) -> None:
    request = request_through_auth_middleware(signed_in_session_key(user))
    flushes: list[str] = []
    flush = request.session.flush

    def noted_flush() -> None:
        flushes.append("flush")
        flush()

    internals.replace_session_method(request.session, "flush", noted_flush)
    login(request, other_user, backend=BACKEND)  # another user: the session is flushed
    assert flushes == ["flush"], "login() no longer calls request.session.flush()"
    logout(request)
    assert flushes == ["flush", "flush"], "logout() no longer calls request.session.flush()"


def test_async_logout_flushes_through_the_session_instance(user: Any) -> None:
    request = request_through_auth_middleware(signed_in_session_key(user))
    flushes: list[str] = []
    aflush = request.session.aflush

    async def noted_aflush() -> None:
        flushes.append("aflush")
        await aflush()

    internals.replace_session_method(request.session, "aflush", noted_aflush)
    async_to_sync(alogout)(request)
    assert flushes == ["aflush"], "alogout() no longer calls request.session.aflush()"


def test_session_middleware_saves_through_the_session_instance(user: Any) -> None:
    request = request_through_auth_middleware(signed_in_session_key(user))
    saves: list[bool] = []
    save = request.session.save

    def noted_save(must_create: bool = False) -> None:
        saves.append(must_create)
        save(must_create=must_create)

    internals.replace_session_method(request.session, "save", noted_save)
    request.session["changed"] = True
    SessionMiddleware(lambda r: HttpResponse()).process_response(request, HttpResponse())
    assert saves == [False], "SessionMiddleware no longer calls request.session.save()"


def test_the_db_engine_does_not_save_a_session_deleted_under_it(user: Any) -> None:
    # ``saves.save_can_resurrect``: only engines other than ``db`` need their
    # save checked against a revoke that deleted the session meanwhile.
    session = DBStore(signed_in_session_key(user))
    session["changed"] = True
    DBStore(session.session_key).delete()
    with pytest.raises(UpdateError):
        session.save()
    assert not DBStore().exists(session.session_key), "the db engine wrote a deleted session back"


def test_a_custom_expiry_is_kept_under_session_expiry() -> None:
    session = DBStore()
    session.set_expiry(30)
    assert session.get(internals.EXPIRY_KEY) == 30, (
        "set_expiry() no longer keeps the seconds under '_session_expiry'"
    )
    session.set_expiry(None)
    assert internals.EXPIRY_KEY not in session


@pytest.mark.parametrize("custom", [None, 30])
def test_the_stock_expiry_is_the_last_write_plus_the_seconds_or_the_cookie_age(
    custom: int | None,
) -> None:
    # ``markers.effective_expiry`` works this out in whole seconds for the
    # engines that keep Django's own ``get_expiry_date``.
    session = DBStore()
    if custom is not None:
        session.set_expiry(custom)
    assert internals.uses_stock_expiry(session)
    assert internals.uses_stock_cookie_age(session)
    written = timezone.now().replace(microsecond=0)
    age = custom if custom is not None else settings.SESSION_COOKIE_AGE
    assert session.get_expiry_date(modification=written) == written + timedelta(seconds=age), (
        "SessionBase.get_expiry_date() is no longer the modification plus the expiry seconds"
    )


def test_an_engine_with_its_own_expiry_is_told_apart() -> None:
    class OwnExpiry(DBStore):
        def get_expiry_date(self, **kwargs: Any) -> Any:
            return super().get_expiry_date(**kwargs)

        def get_session_cookie_age(self) -> int:
            return 60

    assert not internals.uses_stock_expiry(OwnExpiry())
    assert not internals.uses_stock_cookie_age(OwnExpiry())
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    assert issubclass(engine, SessionBase)


# Querysets and model instances.


def test_hints_follow_a_queryset_through_filter_and_exclude(user: Any) -> None:
    rows = UserSession.objects.all()
    assert hasattr(rows, "_hints"), "QuerySet no longer keeps its hints in _hints"
    hinted = internals.with_hints(rows, **{ACTORS_HINT: [user.pk]})
    assert internals.query_hints(rows) == {}  # the original is left as it was
    later = hinted.filter(user=user).exclude(pk=None).all()
    assert internals.query_hints(later) == {ACTORS_HINT: [user.pk]}, (
        "QuerySet no longer carries _hints through filter(), exclude() and all()"
    )
    spared = UserSession.objects.filter(user=user).with_impersonations_by([user.pk]).sparing(SPARED)
    assert internals.query_hints(spared) == {ACTORS_HINT: [user.pk], SPARE_HINT: SPARED}


def saved_like(row: UserSession, save: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The signals ``save`` sends for ``row`` (instance aside), and the row as read back."""
    sent: list[dict[str, Any]] = []

    def note(signal: Any, **kwargs: Any) -> None:
        kwargs.pop("instance")
        sent.append({"signal": "pre_save" if signal is pre_save else "post_save", **kwargs})

    pre_save.connect(note, sender=UserSession, weak=False)
    post_save.connect(note, sender=UserSession, weak=False)
    try:
        save(row)
    finally:
        pre_save.disconnect(note, sender=UserSession)
        post_save.disconnect(note, sender=UserSession)
    stored = UserSession.objects.filter(pk=row.pk).values().get()
    stored.pop("id")
    return sent, stored


def test_insert_row_does_what_save_does(user: Any) -> None:
    def fields() -> dict[str, Any]:
        now = timezone.now()
        return {
            "user": user,
            "created_at": now.replace(microsecond=0),
            "last_activity_at": now.replace(microsecond=0),
            "expires_at": now.replace(microsecond=0) + timedelta(days=1),
            "user_agent": "Firefox",
            "ip_address": "203.0.113.9",
        }

    by_save, saved = saved_like(UserSession(**fields()), lambda row: row.save(force_insert=True))
    row = UserSession(**fields())
    by_insert, inserted = saved_like(row, insert_row)
    for sent in by_save + by_insert:
        sent.pop("sender")
    assert by_insert == by_save, "Model.save() now sends pre_save/post_save differently"
    assert inserted == saved, "Model.save() now writes a row differently"
    assert not row._state.adding and row._state.db == "default", "Model._state changed"


# Users.


def test_a_new_password_is_kept_in_password_until_after_post_save(user: Any) -> None:
    seen: list[bool] = []

    def note(instance: Any, **kwargs: Any) -> None:
        seen.append(internals.password_changed_in_save(instance))

    post_save.connect(note, sender=type(user), weak=False)
    try:
        user.save()
        user.set_password(PASSWORD + "!")
        user.save()
    finally:
        post_save.disconnect(note, sender=type(user))
    assert seen == [False, True], (
        "AbstractBaseUser no longer keeps a new raw password in _password until after post_save"
    )
    assert not internals.password_changed_in_save(user)
