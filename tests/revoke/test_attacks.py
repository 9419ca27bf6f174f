"""A revoke holds against an attacker who holds a stolen cookie or a staff account.

Each test replays an attack of a hostile review of the revoke core as the
attacker would run it, and asserts that it fails: the revoked (or ended)
session is not served again, and a revoke that reports success really ended
its sessions. Where the attack needs two things at once, a hook pauses one of
them at the precise point (a cache write, a signal, a step of the revoke);
the stores, databases and caches are real.

The tests of a revoke inside a transaction need threads that really run at
once: they run on a fresh PostgreSQL database of their own (``POSTGRES_URL``,
or ``DATABASE_URL``; skipped without it, failed under ``CI=true``), every
model routed there, once per CI run (in the SQLite pass).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    login,
)
from django.contrib.sessions.backends.signed_cookies import SessionStore as SignedCookieStore
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import post_save
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone

from django_sessionmgr import revocation
from django_sessionmgr.exceptions import RevokeFailed
from django_sessionmgr.impersonation import start_impersonation
from django_sessionmgr.models import PendingRevoke, UserSession
from django_sessionmgr.signals import session_revoked
from django_sessionmgr.state import IMPERSONATOR_KEY, impersonation_stack
from tests.helpers import PASSWORD, clone, logged_in_client, make_client, read_only, row_of, whoami
from tests.impersonation_views import impersonate
from tests.real_servers import once_per_run, postgres_url
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = pytest.mark.urls(__name__)

SIGNED_ENGINES = ["signed_cookies", "signed_cookies-redis"]
TIMEOUTS = {"IDLE_TIMEOUT": 600, "ABSOLUTE_TIMEOUT": 3600, "ACTIVITY_UPDATE_INTERVAL": 60}


# Views an impersonation package would have (the documented hook, and a
# release that signs the staff member recorded in the session back in, as
# django-hijack's does).


impersonation_loaded, revoke_done = threading.Event(), threading.Event()


def slow_impersonate(request: HttpRequest, pk: int) -> HttpResponse:
    """``impersonate``, in a request that takes its time between its check of
    the staff member and the login as the user."""
    staff = request.user
    if not staff.is_staff:
        return HttpResponse(status=403)
    impersonation_loaded.set()
    revoke_done.wait(10)
    target = get_user_model()._default_manager.get(pk=pk)
    login(request, target, backend="django.contrib.auth.backends.ModelBackend")
    start_impersonation(request, staff)  # type: ignore[arg-type]
    return HttpResponse("ok")


def release(request: HttpRequest) -> HttpResponse:
    stack = impersonation_stack(request.session.get(IMPERSONATOR_KEY))
    if not request.user.is_authenticated or not stack:
        return HttpResponse(status=403)  # nothing to release
    staff = get_user_model()._default_manager.get(pk=stack[-1][1])
    login(request, staff, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse("ok")


urlpatterns = [
    path("impersonate/<int:pk>/", impersonate),
    path("slow-impersonate/<int:pk>/", slow_impersonate),
    path("release/", release),
    *project_urlpatterns,
]


#: Paths of "all sessions of user U".
HOW_TO_REVOKE_ALL = [
    "command",
    "password-change",
    "queryset",
    "revoke-others-api",
    "staff-api",
    "admin-users-action",
]


def _impersonating(superuser: Any, user: Any) -> Any:
    """The staff member's browser (in the attacker's hands), signed in as ``user``."""
    stolen = logged_in_client(superuser)
    assert stolen.get(f"/impersonate/{user.pk}/").status_code == 200
    assert whoami(stolen) == user.get_username()
    return stolen


def _revoke_all_of(how: str, staff: Any, django_user_model: Any) -> None:
    if how == "command":
        call_command("sessionmgr_revoke", staff.get_username())
    elif how == "password-change":
        staff.set_password("an entirely new one")
        staff.save()
    elif how == "queryset":
        UserSession.objects.signed_in_as_or_by([staff.pk]).revoke()
    elif how == "revoke-others-api":  # the staff member, from another browser
        laptop = logged_in_client(staff, ip="198.51.100.30")
        assert laptop.post("/api/sessions/revoke-others/").status_code == 200
    else:
        boss = django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)
        admin = logged_in_client(boss, ip="198.51.100.20")
        if how == "staff-api":
            response = admin.post(
                "/api/admin/sessions/revoke/",
                {"users": [staff.pk]},
                content_type="application/json",
            )
            assert response.status_code == 200, response.content
        else:  # the admin's action on users
            response = admin.post(
                "/admin/auth/user/",
                {"action": "revoke_user_sessions", "_selected_action": [staff.pk], "post": "yes"},
            )
            assert response.status_code == 302, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("how", HOW_TO_REVOKE_ALL)
@pytest.mark.parametrize("engine", ["db", "signed_cookies"], indirect=True)
def test_revoking_all_sessions_of_staff_ends_the_browser_they_impersonate_from(
    engine: str, superuser: Any, user: Any, django_user_model: Any, how: str
) -> None:
    """The browser a staff member impersonates from holds the impersonated
    user's row; "all sessions of" the staff member still reaches it."""
    stolen = _impersonating(superuser, user)

    _revoke_all_of(how, superuser, django_user_model)

    assert whoami(stolen) is None
    assert not UserSession.objects.filter(impersonated_by=superuser).active().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ["db", "signed_cookies"], indirect=True)
def test_a_release_after_all_sessions_of_staff_were_revoked_signs_nobody_in(
    engine: str, superuser: Any, user: Any
) -> None:
    stolen = _impersonating(superuser, user)
    superuser.set_password("an entirely new one")
    superuser.save()
    call_command("sessionmgr_revoke", superuser.get_username())

    stolen.get("/release/")

    assert whoami(stolen) is None
    assert not UserSession.objects.filter(user=superuser).active().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ["db", "signed_cookies"], indirect=True)
def test_a_release_whose_staff_row_was_revoked_signs_nobody_in(
    engine: str, superuser: Any, user: Any
) -> None:
    """A revoke of the staff member's own rows only (the queryset of their
    ``user``) leaves the impersonation, which is the other user's row; its
    release has no staff session to go back to and restores none."""
    stolen = _impersonating(superuser, user)
    UserSession.objects.filter(user=superuser).revoke()

    assert stolen.get("/release/").status_code == 200

    assert whoami(stolen) is None
    assert not UserSession.objects.filter(user=superuser).active().exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["command", "password-change"])
@pytest.mark.parametrize("engine", ["db", "signed_cookies-redis"], indirect=True)
def test_an_impersonation_started_by_a_request_in_flight_during_the_revoke_of_staff_ends_too(
    engine: str, superuser: Any, user: Any, django_user_model: Any, how: str
) -> None:
    """The staff session (the attacker's) asks to impersonate; while that
    request runs, all sessions of the staff member are revoked. The session
    it then signs in as the user is one in which the staff member is the
    real actor, and it came from a revoked session: it must not be served."""
    stolen = logged_in_client(superuser)
    impersonation_loaded.clear()
    revoke_done.clear()

    def attacker() -> None:
        try:
            stolen.get(f"/slow-impersonate/{user.pk}/")
        finally:
            connections.close_all()

    in_flight = threading.Thread(target=attacker)
    in_flight.start()
    assert impersonation_loaded.wait(10)
    try:
        _revoke_all_of(how, superuser, django_user_model)
    finally:
        revoke_done.set()
        in_flight.join(10)

    assert whoami(stolen) is None
    assert not UserSession.objects.filter(impersonated_by=superuser).active().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["command", "password-change"])
@pytest.mark.parametrize("engine", ["db", "signed_cookies"], indirect=True)
def test_revoking_all_sessions_of_staff_ends_a_nested_impersonation_they_started(
    engine: str, superuser: Any, user: Any, django_user_model: Any, how: str
) -> None:
    """Staff impersonate another superuser, and from there a user (django-hijack
    allows it: its history is a stack). The staff member is still the real
    actor of that browser: "all sessions of" them ends it."""
    other_superuser = django_user_model.objects.create_superuser(
        "deputy", "deputy@example.com", PASSWORD
    )
    stolen = _impersonating(superuser, other_superuser)
    assert stolen.get(f"/impersonate/{user.pk}/").status_code == 200
    assert whoami(stolen) == user.get_username()

    _revoke_all_of(how, superuser, django_user_model)

    assert whoami(stolen) is None
    assert not UserSession.objects.filter(user=user).active().exists()


# Signed cookies replayed as they are


def _markerless_signed_cookie(user: Any, marker: Any = None) -> str:
    """A signed cookie as stock Django writes it (a session from before the
    install), or with the given marker of an old release."""
    session = SignedCookieStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    if marker is not None:
        session["_sessionmgr"] = marker
    session.save()
    return str(session.session_key)


def _holding(cookie: str) -> Any:
    """A new browser presenting exactly this cookie (the attacker's copy)."""
    client = make_client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("engine", SIGNED_ENGINES, indirect=True)
def test_a_replayed_markerless_signed_cookie_ends_at_its_idle_timeout(
    engine: str, settings: Any, user: Any
) -> None:
    settings.SESSIONMGR = TIMEOUTS
    with time_machine.travel(time.time(), tick=False) as clock:
        cookie = _markerless_signed_cookie(user)
        assert whoami(_holding(cookie)) == "alice"  # adopted
        clock.shift(TIMEOUTS["IDLE_TIMEOUT"] + 100)
        served = [whoami(_holding(cookie))]
        clock.shift(30)
        served.append(whoami(_holding(cookie)))

    assert served == [None, None]


@pytest.mark.django_db
@pytest.mark.parametrize("engine", SIGNED_ENGINES, indirect=True)
def test_a_replayed_markerless_signed_cookie_ends_at_its_absolute_timeout(
    engine: str, settings: Any, user: Any
) -> None:
    """Replayed within every idle period, the same value is served until
    ``ABSOLUTE_TIMEOUT`` after its adoption, and never after."""
    settings.SESSIONMGR = TIMEOUTS
    step = 500
    with time_machine.travel(time.time(), tick=False) as clock:
        cookie = _markerless_signed_cookie(user)
        served = {}
        for elapsed in range(0, 2 * TIMEOUTS["ABSOLUTE_TIMEOUT"], step):
            served[elapsed] = whoami(_holding(cookie))
            clock.shift(step)

    limit = TIMEOUTS["ABSOLUTE_TIMEOUT"]
    assert {t: u for t, u in served.items() if t < limit} == {
        t: "alice" for t in served if t < limit
    }
    assert {u for t, u in served.items() if t >= limit} == {None}


@pytest.mark.django_db
@pytest.mark.parametrize("engine", SIGNED_ENGINES, indirect=True)
def test_a_replayed_cookie_with_a_two_element_marker_ends_at_its_idle_timeout(
    engine: str, settings: Any, user: Any
) -> None:
    """A marker of an old release, ``[row id, written]``, carries no expiry:
    the row's own expiry decides, so each replay past it is refused."""
    settings.SESSIONMGR = TIMEOUTS
    with time_machine.travel(time.time(), tick=False) as clock:
        row = UserSession.objects.create(
            user=user, expires_at=timezone.now() + timedelta(seconds=TIMEOUTS["IDLE_TIMEOUT"])
        )
        cookie = _markerless_signed_cookie(user, marker=[str(row.pk), int(time.time())])
        served = []
        for _ in range(4):
            clock.shift(TIMEOUTS["IDLE_TIMEOUT"] + 400)
            served.append(whoami(_holding(cookie)))

    assert served == [None] * 4


@pytest.mark.django_db
def test_prune_keeps_what_refuses_a_revoked_markerless_signed_cookie_while_it_can_be_presented(
    settings: Any, user: Any
) -> None:
    """Past ``RETENTION_DAYS`` the revoked row of an adopted signed cookie
    is kept while the cookie itself may still be presented
    (``SESSION_COOKIE_AGE``): it is what refuses the cookie. After that it goes."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.SESSION_COOKIE_AGE = 30 * 86400
    settings.SESSIONMGR = {"RETENTION_DAYS": 7}
    with time_machine.travel(time.time(), tick=False) as clock:
        cookie = _markerless_signed_cookie(user)
        assert whoami(_holding(cookie)) == "alice"
        assert UserSession.objects.get(user=user).revoke() == 1
        assert whoami(_holding(cookie)) is None

        clock.shift(8 * 86400)
        call_command("sessionmgr_prune", verbosity=0)
        after_prune = whoami(_holding(cookie))
        clock.shift(23 * 86400)
        call_command("sessionmgr_prune", verbosity=0)
        pruned_later = not UserSession.objects.filter(user=user).exists()
        after_cookie_age = whoami(_holding(cookie))

    assert after_prune is None
    assert pruned_later
    assert after_cookie_age is None


@pytest.mark.django_db
@pytest.mark.parametrize("engine", ["signed_cookies-redis"], indirect=True)
def test_an_older_cookie_that_expires_the_row_also_ends_the_newer_cookie(
    engine: str, settings: Any, user: Any
) -> None:
    """An activity write gives the browser a newer cookie with a later end;
    an older copy replayed past its own end marks the row expired. From then
    on nothing of the session is served, though the sign-out mark vouched
    for the newer cookie."""
    settings.SESSIONMGR = {"IDLE_TIMEOUT": 600, "ACTIVITY_UPDATE_INTERVAL": 60}
    with time_machine.travel(time.time(), tick=False) as clock:
        browser = logged_in_client(user)
        older = clone(browser)  # ends at t0 + 660
        clock.shift(650)
        assert whoami(browser) == "alice"  # a newer cookie, ending at t0 + 1310
        clock.shift(11)
        assert whoami(older) is None
        assert UserSession.objects.get(user=user).status == "expired"

        assert whoami(browser) is None


# Concurrent revokes, and a revoke on a slow clock


@pytest.mark.django_db(transaction=True)
def test_a_revoke_that_reports_success_ended_the_session_though_another_revoke_failed_meanwhile(
    session_folder: Any, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revoke B of the same session runs between revoke A's claim and A's
    store cleanup, and fails (the store refuses deletes). B neither takes A's
    claim nor undoes it: A, reporting one session revoked, really ended it."""
    victim = logged_in_client(user)
    thief = clone(victim)
    row_id = row_of(victim).pk
    finish_pending = revocation._finish_pending
    other: dict[str, Any] = {}

    def revoke_b_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not other:  # A's first step after its claim
            other["b"] = "running"
            read_only(session_folder, True)
            try:
                other["b"] = UserSession.objects.filter(pk=row_id).revoke()
            except RevokeFailed:
                other["b"] = "RevokeFailed"
            finally:
                read_only(session_folder, False)
        return finish_pending(*args, **kwargs)

    monkeypatch.setattr(revocation, "_finish_pending", revoke_b_meanwhile)
    a = UserSession.objects.filter(pk=row_id).revoke()

    assert other["b"] in (0, "RevokeFailed")
    assert a == 1
    assert UserSession.objects.get(pk=row_id).status == "revoked"
    assert whoami(thief) is None


@pytest.mark.django_db(transaction=True)
def test_a_staff_revoke_that_answers_success_ended_the_session_though_a_concurrent_revoke_failed(
    session_folder: Any, user: Any, superuser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff revoke a session (the API's DELETE) between the claim and the
    store cleanup of another revoke of it (the user's own), while the store
    refuses deletes; that other revoke then fails and says so. The staff
    member's answer must not say success unless the session really ended."""
    victim = logged_in_client(user)
    thief = clone(victim)
    row_id = row_of(victim).pk
    admin = logged_in_client(superuser, ip="198.51.100.20")
    finish_pending = revocation._finish_pending
    staff: dict[str, int] = {}

    def staff_revoke_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not staff:  # the user's revoke, right after its claim
            staff["status"] = 0
            read_only(session_folder, True)
            staff["status"] = admin.delete(f"/api/admin/sessions/{row_id}/").status_code
        return finish_pending(*args, **kwargs)

    monkeypatch.setattr(revocation, "_finish_pending", staff_revoke_meanwhile)
    try:
        with pytest.raises(RevokeFailed):
            UserSession.objects.filter(pk=row_id).revoke()
    finally:
        read_only(session_folder, False)
        monkeypatch.undo()

    served = whoami(thief)
    assert staff["status"] != 204 or served is None, (staff, served)


class Killed(BaseException):
    """The process dies here: nothing after it runs, nothing catches it."""


@pytest.mark.django_db(transaction=True)
def test_a_revoke_started_on_a_slow_clock_is_finished_by_the_next_revoke_on_a_fast_one(
    user: Any, other_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revoke A writes its pending record; before it claims, a revoke on a
    machine whose clock runs 11 minutes ahead finishes interrupted revokes
    (A's record must not look stale to it). A then claims and is killed
    before clearing the store; the next revoke of anyone finishes it."""
    victim = logged_in_client(user)
    thief = clone(victim)
    row_id = row_of(victim).pk
    bystander = logged_in_client(other_user)
    steps: dict[str, Any] = {}

    def other_machine_revokes(sender: Any, created: bool, **kwargs: Any) -> None:
        if created and "b" not in steps:  # A's record, written before A's claim
            steps["b"] = "running"
            with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
                steps["b"] = UserSession.objects.filter(pk=row_of(bystander).pk).revoke()
            steps["armed"] = True

    delete_stored_sessions = revocation.delete_stored_sessions

    def killed_at_store_cleanup(*args: Any, **kwargs: Any) -> Any:
        if steps.get("armed"):
            raise Killed
        return delete_stored_sessions(*args, **kwargs)

    post_save.connect(other_machine_revokes, sender=PendingRevoke, dispatch_uid="hostile-clock")
    monkeypatch.setattr(revocation, "delete_stored_sessions", killed_at_store_cleanup)
    try:
        with pytest.raises(Killed):
            UserSession.objects.filter(pk=row_id).revoke()  # revoke A
    finally:
        post_save.disconnect(sender=PendingRevoke, dispatch_uid="hostile-clock")
        monkeypatch.undo()
    assert steps["b"] == 1
    assert whoami(thief) == "alice"  # A died before it cleared anything

    UserSession.objects.filter(user=other_user).revoke()  # any later revoke

    assert UserSession.objects.get(pk=row_id).status == "revoked"
    assert whoami(thief) is None


# A revoke inside a transaction, against a save in flight


class EverythingTo:
    """A project's router that puts every model in one database."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.alias

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True


@pytest.fixture(scope="module")
def own_postgres(django_db_blocker: Any) -> Iterator[str]:
    """A fresh PostgreSQL database, migrated, under an alias of its own."""
    import psycopg

    server = postgres_url()
    alias = "sessionmgr_hostile"
    name = f"sessionmgr_hostile_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    connections.settings[alias] = connections.configure_settings(
        {DEFAULT_DB_ALIAS: {}, alias: dj_database_url.parse(url)}
    )[alias]
    try:
        with django_db_blocker.unblock():
            call_command("migrate", database=alias, verbosity=0, interactive=False)
        yield alias
    finally:
        connections.close_all()
        del connections[alias]
        del connections.settings[alias]
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def server_database(own_postgres: str, settings: Any, django_db_blocker: Any) -> Iterator[str]:
    """Every model routed to the fresh PostgreSQL database, which threads share for real."""
    settings.DATABASE_ROUTERS = [EverythingTo(own_postgres)]
    with django_db_blocker.unblock():
        assert connections[own_postgres].vendor == "postgresql"
        yield own_postgres
        connections.close_all()


def _new_user() -> Any:
    name = f"alice-{uuid.uuid4().hex[:8]}"
    return get_user_model()._default_manager.create_user(name, f"{name}@example.com", PASSWORD)


class SaveInFlight:
    """A request of the thief's that saves its session (every request does,
    under ``SESSION_SAVE_EVERY_REQUEST``): Django already checked the stored
    session is there; its cache write waits until ``go``."""

    def __init__(self, thief: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at_write, self.go, self.done = threading.Event(), threading.Event(), threading.Event()
        write = RedisCache.set

        def paused_write(cache: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is self.thread and "sessions.cache" in key:
                self.at_write.set()
                self.go.wait(10)
            return write(cache, key, *args, **kwargs)

        monkeypatch.setattr(RedisCache, "set", paused_write)
        self.thread = threading.Thread(target=self._request, args=(thief,))

    def _request(self, thief: Any) -> None:
        try:
            thief.get("/whoami/")
        finally:
            self.done.set()
            connections.close_all()

    def start(self) -> None:
        self.thread.start()
        assert self.at_write.wait(10), "the request never reached its save"


@once_per_run
@pytest.mark.parametrize("engine", ["cache-redis"], indirect=True)
def test_a_save_in_flight_cannot_bring_back_a_session_revoked_inside_a_transaction(
    server_database: str,
    engine: str,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The save lands after the revoke cleared the store but before the
    revoke's transaction commits, so its check of the row still sees it
    active. Once the transaction commits the session is not served."""
    settings.SESSION_SAVE_EVERY_REQUEST = True
    user = _new_user()
    victim = logged_in_client(user)
    thief = clone(victim)
    row_id = row_of(victim).pk
    in_flight = SaveInFlight(thief, monkeypatch)
    revoked: dict[str, int] = {}

    def staff_revokes() -> None:
        try:
            with transaction.atomic(using=server_database):
                revoked["count"] = UserSession.objects.filter(pk=row_id).revoke()
                in_flight.go.set()
                in_flight.done.wait(10)
        finally:
            connections.close_all()

    in_flight.start()
    staff = threading.Thread(target=staff_revokes)
    staff.start()
    in_flight.thread.join(20)
    staff.join(20)

    assert revoked["count"] == 1
    assert UserSession.objects.get(pk=row_id).status == "revoked"
    assert whoami(thief) is None


@once_per_run
@pytest.mark.parametrize("engine", ["cache-redis"], indirect=True)
def test_a_save_in_flight_cannot_bring_back_a_session_revoked_by_the_session_limit(
    server_database: str, engine: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MAX_SESSIONS`` revokes the older session of a new login while a
    receiver of ``session_revoked`` (a project's own) keeps the login's
    request busy; the older session's save lands meanwhile."""
    settings.SESSION_SAVE_EVERY_REQUEST = True
    settings.SESSIONMGR = {"MAX_SESSIONS": 1}
    user = _new_user()
    old_device = logged_in_client(user)
    thief = clone(old_device)
    row_id = row_of(old_device).pk
    in_flight = SaveInFlight(thief, monkeypatch)

    def slow_receiver(**kwargs: Any) -> None:
        in_flight.go.set()
        in_flight.done.wait(10)

    session_revoked.connect(slow_receiver, dispatch_uid="hostile-slow-receiver")
    try:
        in_flight.start()
        new_device = logged_in_client(user, ip="198.51.100.7")
        in_flight.thread.join(20)
    finally:
        session_revoked.disconnect(dispatch_uid="hostile-slow-receiver")

    assert UserSession.objects.get(pk=row_id).status == "revoked"
    assert whoami(thief) is None
    assert whoami(new_device) == user.get_username()
