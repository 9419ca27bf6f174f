"""The documented hook for impersonation packages other than django-hijack
(``start_impersonation``), driven by views of a package's own kind."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model, login, logout
from django.http import HttpRequest, HttpResponse
from django.urls import path

from django_sessionmgr.impersonation import start_impersonation
from django_sessionmgr.models import UserSession
from django_sessionmgr.state import IMPERSONATOR_KEY
from tests.helpers import logged_in_client, row_of, whoami
from tests.impersonation_views import impersonate
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = pytest.mark.django_db
BACKEND = "django.contrib.auth.backends.ModelBackend"


def release(request: HttpRequest, pk: int) -> HttpResponse:
    staff = get_user_model()._default_manager.get(pk=pk)
    login(request, staff, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse("ok")


def login_as(request: HttpRequest, pk: int) -> HttpResponse:
    """django-loginas' way: the user object carries ``backend``, as after ``authenticate()``."""
    staff = request.user
    if not staff.is_staff:
        return HttpResponse(status=403)
    target = get_user_model()._default_manager.get(pk=pk)
    target.backend = BACKEND
    login(request, target)
    start_impersonation(request, staff)  # type: ignore[arg-type]
    request.session["original_pk"] = staff.pk
    return HttpResponse("ok")


def restore_original_login(request: HttpRequest) -> HttpResponse:
    """django-loginas' release: log out, then log the original user in."""
    pk = request.session["original_pk"]
    logout(request)
    staff = get_user_model()._default_manager.get(pk=pk)
    staff.backend = BACKEND
    login(request, staff)
    return HttpResponse("ok")


urlpatterns = [
    path("impersonate/<int:pk>/", impersonate),
    path("release/<int:pk>/", release),
    path("login-as/<int:pk>/", login_as),
    path("restore/", restore_original_login),
    *project_urlpatterns,
]


@pytest.mark.urls(__name__)
def test_the_hook_marks_the_session_keeps_the_staff_row_and_records_the_real_actor(
    superuser: Any, user: Any
) -> None:
    victim_device = logged_in_client(user)
    staff = logged_in_client(superuser)
    staff_row = row_of(staff)

    assert staff.get(f"/impersonate/{user.pk}/").status_code == 200
    assert whoami(staff) == user.get_username()
    acting_row = UserSession.objects.get(user=user, impersonated_by=superuser)
    staff_row.refresh_from_db()
    assert staff_row.status == UserSession.Status.ACTIVE  # waits for the release

    # While impersonating, a revoke is recorded as the staff member's.
    victims = row_of(victim_device)
    response = staff.post(f"/account/sessions/{victims.pk}/revoke/")
    assert response.status_code == 302
    victims.refresh_from_db()
    assert victims.status == UserSession.Status.REVOKED
    assert victims.revoked_by_id == superuser.pk

    assert staff.get(f"/release/{superuser.pk}/").status_code == 200
    assert whoami(staff) == superuser.get_username()
    assert row_of(staff).pk == staff_row.pk
    acting_row.refresh_from_db()
    assert acting_row.status == UserSession.Status.ENDED


@pytest.mark.urls(__name__)
def test_through_the_hook_an_impersonation_is_invisible_to_limits_and_devices(
    superuser: Any, user: Any, settings: Any
) -> None:
    from django_sessionmgr.notifications import DEVICE_COOKIE

    settings.SESSIONMGR = {
        "MAX_SESSIONS": 1,
        "NOTIFY_NEW_DEVICE": True,
        "SITE_URL": "https://example.com",
    }
    own = logged_in_client(user)
    staff = logged_in_client(superuser)
    response = staff.get(f"/impersonate/{user.pk}/")
    assert response.status_code == 200
    assert DEVICE_COOKIE not in response.cookies
    assert whoami(own) == whoami(staff) == user.get_username()
    assert DEVICE_COOKIE not in staff.get(f"/release/{superuser.pk}/").cookies
    assert whoami(staff) == superuser.get_username()


@pytest.mark.urls(__name__)
def test_a_release_is_told_by_the_session_not_by_the_user_objects_backend(
    superuser: Any, user: Any
) -> None:
    # A package whose user objects carry ``backend`` (django-loginas) releases
    # to the staff member's row like any other, and restores nothing once
    # that row was revoked.
    staff = logged_in_client(superuser)
    staff_row = row_of(staff)
    assert staff.get(f"/login-as/{user.pk}/").status_code == 200
    assert staff.get("/restore/").status_code == 200
    assert whoami(staff) == superuser.get_username()
    assert row_of(staff).pk == staff_row.pk

    assert staff.get(f"/login-as/{user.pk}/").status_code == 200
    assert whoami(staff) == user.get_username()
    staff_row.revoke(reason="admin")
    assert staff.get("/restore/").status_code == 200
    assert whoami(staff) is None
    assert not UserSession.objects.filter(user=superuser).active().exists()


@pytest.mark.urls(__name__)
def test_a_session_impersonating_in_the_single_entry_format_still_releases(
    superuser: Any, user: Any
) -> None:
    # Sessions started before the stack format hold one ``[row id, pk]`` entry.
    staff = logged_in_client(superuser)
    staff_row = row_of(staff)
    assert staff.get(f"/impersonate/{user.pk}/").status_code == 200
    session = staff.session
    session[IMPERSONATOR_KEY] = [str(staff_row.pk), str(superuser.pk)]
    session.save()
    victim = row_of(logged_in_client(user, ip="198.51.100.7"))
    assert staff.post(f"/account/sessions/{victim.pk}/revoke/").status_code == 302
    victim.refresh_from_db()
    assert victim.revoked_by_id == superuser.pk
    assert staff.get(f"/release/{superuser.pk}/").status_code == 200
    assert whoami(staff) == superuser.get_username()
    assert row_of(staff).pk == staff_row.pk
