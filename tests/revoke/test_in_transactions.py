"""A revoke of all sessions of staff wins over an impersonation started
meanwhile, when either of them runs inside a transaction."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections, transaction

from django_sessionmgr.models import UserSession
from tests.helpers import logged_in_client, whoami
from tests.real_servers import once_per_run
from tests.revoke import test_attacks as h
from tests.revoke.test_attacks import (  # noqa: F401
    _new_user,
    own_postgres,
    server_database,
    urlpatterns,
)

pytestmark = [pytest.mark.urls("tests.revoke.test_attacks"), pytest.mark.services, once_per_run]


@pytest.mark.parametrize("engine", ["signed_cookies-redis", "cache-redis", "db"], indirect=True)
def test_an_impersonation_started_while_a_revoke_of_staff_is_uncommitted_ends(
    server_database: str,  # noqa: F811
    engine: str,
) -> None:
    """A revoke of "all sessions of staff" runs inside a transaction (ATOMIC_REQUESTS). An
    impersonation request of the staff browser, already past its check of the
    staff member, marks its new row after the revoke's claims but before the
    revoke commits: its check of the staff session waits for that commit
    (a row lock), then sees the claim, and the impersonation ends."""
    staff = _new_user()
    staff.is_staff = staff.is_superuser = True
    staff.save()
    victim = _new_user()
    stolen = logged_in_client(staff)
    h.impersonation_loaded.clear()
    h.revoke_done.clear()
    attacker_done = threading.Event()
    result: dict[str, Any] = {}

    def attacker() -> None:
        try:
            result["status"] = stolen.get(f"/slow-impersonate/{victim.pk}/").status_code
        finally:
            attacker_done.set()
            connections.close_all()

    def staff_revokes() -> None:
        try:
            with transaction.atomic(using=server_database):
                result["count"] = UserSession.objects.signed_in_as_or_by([staff.pk]).revoke()
                h.revoke_done.set()
                attacker_done.wait(5)  # rest of the request under ATOMIC_REQUESTS
        except Exception as e:
            result["err"] = repr(e)
        finally:
            h.revoke_done.set()
            connections.close_all()

    t = threading.Thread(target=attacker)
    t.start()
    assert h.impersonation_loaded.wait(10)
    r = threading.Thread(target=staff_revokes)
    r.start()
    r.join(20)
    t.join(20)
    assert whoami(stolen) is None, "impersonation survived 'sign out everywhere' of staff"
    assert not UserSession.objects.filter(impersonated_by=staff).active().exists()


from django.contrib.auth import get_user_model, login  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from django_sessionmgr.impersonation import start_impersonation  # noqa: E402

marked, go_commit = threading.Event(), threading.Event()


def atomic_impersonate(request: Any, pk: int) -> HttpResponse:
    """The documented hook in a view under ATOMIC_REQUESTS (explicit atomic here)."""
    staff = request.user
    if not staff.is_staff:
        return HttpResponse(status=403)
    from django.db import router

    with transaction.atomic(using=router.db_for_write(UserSession)):
        target = get_user_model()._default_manager.get(pk=pk)
        login(request, target, backend="django.contrib.auth.backends.ModelBackend")
        start_impersonation(request, staff)
        marked.set()
        go_commit.wait(10)  # rest of the view, still inside the transaction
    return HttpResponse("ok")


urls_b = [path("atomic-impersonate/<int:pk>/", atomic_impersonate), *urlpatterns]


@pytest.mark.urls(__name__ + "_b")
@pytest.mark.parametrize("engine", ["signed_cookies-redis", "cache-redis", "db"], indirect=True)
def test_an_impersonation_inside_a_transaction_is_reached_by_the_revoke_of_staff(
    server_database: str,  # noqa: F811
    engine: str,
) -> None:
    staff = _new_user()
    staff.is_staff = staff.is_superuser = True
    staff.save()
    victim = _new_user()
    stolen = logged_in_client(staff)
    marked.clear()
    go_commit.clear()
    result: dict[str, Any] = {}

    def attacker() -> None:
        try:
            result["status"] = stolen.get(f"/atomic-impersonate/{victim.pk}/").status_code
        finally:
            marked.set()
            connections.close_all()

    t = threading.Thread(target=attacker)
    t.start()
    assert marked.wait(10)

    def revoke() -> None:
        try:
            result["count"] = UserSession.objects.signed_in_as_or_by([staff.pk]).revoke()
        finally:
            connections.close_all()

    revoker = threading.Thread(target=revoke)
    revoker.start()
    try:
        # The revoke waits for the impersonation's transaction (its lock on
        # the staff row) rather than missing its uncommitted mark.
        revoker.join(0.5)
    finally:
        go_commit.set()
        revoker.join(20)
        t.join(20)
    assert whoami(stolen) is None, "impersonation survived 'sign out everywhere' of staff"
    assert not UserSession.objects.filter(impersonated_by=staff).active().exists()


from django_sessionmgr.signals import session_revoked  # noqa: E402


@pytest.mark.parametrize("engine", ["signed_cookies-redis", "cache-redis"], indirect=True)
def test_under_atomic_requests_the_staff_api_revoke_ends_an_impersonation_in_flight(
    server_database: str,  # noqa: F811
    engine: str,
) -> None:
    """Real path: ATOMIC_REQUESTS=True, boss uses POST /api/admin/sessions/revoke/
    {users:[staff]}
    a project receiver of session_revoked (audit) runs in the
    request's transaction while the staff's stolen browser finishes a hijack."""
    conn = connections[server_database]
    conn.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        staff = _new_user()
        staff.is_staff = staff.is_superuser = True
        staff.save()
        boss = _new_user()
        boss.is_staff = boss.is_superuser = True
        boss.save()
        victim = _new_user()
        stolen = logged_in_client(staff)
        admin = logged_in_client(boss, ip="198.51.100.20")
        h.impersonation_loaded.clear()
        h.revoke_done.clear()
        attacker_done = threading.Event()
        result: dict[str, Any] = {}

        def audit(**kwargs: Any) -> None:  # a project's receiver, e.g. audit log
            h.revoke_done.set()
            attacker_done.wait(5)

        def attacker() -> None:
            try:
                result["imp"] = stolen.get(f"/slow-impersonate/{victim.pk}/").status_code
            finally:
                attacker_done.set()
                connections.close_all()

        session_revoked.connect(audit, dispatch_uid="test_revoke_in_transactions")
        t = threading.Thread(target=attacker)
        t.start()
        assert h.impersonation_loaded.wait(10)
        r = admin.post(
            "/api/admin/sessions/revoke/", {"users": [staff.pk]}, content_type="application/json"
        )
        h.revoke_done.set()
        t.join(20)
        session_revoked.disconnect(dispatch_uid="test_revoke_in_transactions")
        assert r.status_code == 200
        assert whoami(stolen) is None, "impersonation survived staff API revoke of staff"
    finally:
        conn.settings_dict["ATOMIC_REQUESTS"] = False
