"""Every login path records exactly one active row, on every session engine."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_sessionmgr.models import UserSession
from django_sessionmgr.stores import store_class
from tests.helpers import PASSWORD, current_row_id, logged_in_client, make_client, whoami
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = pytest.mark.django_db


@csrf_exempt
def third_party_login(request: HttpRequest) -> JsonResponse:
    """What a third-party app does: find the user its own way, then call ``login``."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=request.POST["username"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"user": user.get_username()})


class DRFLoginView(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        from django.contrib.auth import authenticate

        user = authenticate(
            request, username=request.data["username"], password=request.data["password"]
        )
        assert user is not None
        login(request, user)  # type: ignore[arg-type]
        return Response({"user": user.get_username()})


urlpatterns = [
    path("third-party-login/", third_party_login),
    path("drf-login/", DRFLoginView.as_view()),
    *project_urlpatterns,
]


def assert_current(client: Any, row: UserSession, username: str = "alice") -> None:
    """The client is signed in, and its session is the one behind ``row``."""
    assert current_row_id(client) == str(row.pk)
    assert whoami(client) == username


def only_active_row(user: Any) -> UserSession:
    rows = list(UserSession.objects.filter(user=user))
    assert len(rows) == 1
    assert rows[0].status == UserSession.Status.ACTIVE
    assert rows[0].is_active
    assert list(UserSession.objects.active()) == rows
    return rows[0]


def test_login_view_records_one_active_current_row(engine: str, user: Any) -> None:
    client = logged_in_client(user)

    row = only_active_row(user)
    assert current_row_id(client) == str(row.pk)
    assert row.ended_at is None and row.revoked_at is None
    assert row.created_at <= row.last_activity_at < row.expires_at
    assert whoami(client) == "alice"


def test_client_login(engine: str, user: Any) -> None:
    client = make_client()
    assert client.login(username="alice", password=PASSWORD)

    row = only_active_row(user)
    assert row.ip_address is None  # Client.login builds its request without META
    assert_current(client, row)


def test_client_force_login(engine: str, user: Any) -> None:
    client = make_client()
    client.force_login(user)

    row = only_active_row(user)
    assert_current(client, row)


def test_admin_login(engine: str, admin_user: Any) -> None:
    client = make_client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": "password"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"

    row = only_active_row(admin_user)
    assert row.user_agent == make_client().defaults["HTTP_USER_AGENT"]
    assert current_row_id(client) == str(row.pk)
    assert client.get("/admin/").status_code == 200


def test_login_on_a_bare_request(engine: str, user: Any) -> None:
    """A request with no META at all (as some callers build them) still gets its row."""
    request = HttpRequest()
    request.session = store_class()()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session.save()

    row = only_active_row(user)
    assert row.ip_address is None
    assert row.user_agent == ""
    assert row.device_type == UserSession.DeviceType.OTHER
    client = make_client()
    client.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key
    assert whoami(client) == "alice"
    assert current_row_id(client) == str(row.pk)


@pytest.mark.urls(__name__)
def test_third_party_view_calling_login(engine: str, user: Any) -> None:
    client = make_client()
    response = client.post("/third-party-login/", {"username": "alice"})
    assert response.status_code == 200

    row = only_active_row(user)
    assert str(row.ip_address) == "203.0.113.9"
    assert_current(client, row)


@pytest.mark.urls(__name__)
def test_drf_view_calling_login(engine: str, user: Any) -> None:
    client = make_client()
    response = client.post(
        "/drf-login/", {"username": "alice", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200

    row = only_active_row(user)
    assert_current(client, row)


def test_logging_in_again_in_the_same_session_keeps_one_row(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    first = only_active_row(user)

    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    client.force_login(user)
    assert client.login(username="alice", password=PASSWORD)

    assert only_active_row(user).pk == first.pk
    assert_current(client, first)


def test_logging_in_as_another_user_ends_the_first_users_row(
    engine: str, user: Any, other_user: Any
) -> None:
    client = logged_in_client(user)
    alice_row = only_active_row(user)
    alice_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302

    alice_row.refresh_from_db()
    assert alice_row.status == UserSession.Status.ENDED
    assert alice_row.ended_at is not None
    bob_row = only_active_row(other_user)
    assert current_row_id(client) == str(bob_row.pk)
    assert whoami(client) == "bob"
    # Alice's old cookie is no way back in, whatever the engine.
    replay = make_client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = alice_cookie
    assert whoami(replay) is None


def test_each_browser_gets_its_own_row(engine: str, user: Any) -> None:
    first = logged_in_client(user)
    second = logged_in_client(user)

    assert UserSession.objects.active().filter(user=user).count() == 2
    assert current_row_id(first) != current_row_id(second)


def test_logout_ends_the_row(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    row = only_active_row(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    response = client.post("/accounts/logout/")
    assert response.status_code in (200, 302)

    row.refresh_from_db()
    assert row.status == UserSession.Status.ENDED
    assert row.ended_at is not None
    assert row.revoked_at is None
    assert not UserSession.objects.active().exists()
    assert whoami(client) is None
    replay = make_client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert whoami(replay) is None


def test_a_row_reads_as_its_device_and_status(user: Any) -> None:
    logged_in_client(user)
    row = only_active_row(user)
    assert str(row) == "Firefox 128 on Ubuntu (Active)"

    row.revoke()
    row.refresh_from_db()
    assert str(row) == "Firefox 128 on Ubuntu (Revoked)"
    UserSession.objects.update(device_browser="", device_os="")
    assert str(UserSession.objects.get()) == "Unknown device (Revoked)"


def test_logging_in_again_after_a_revoke_starts_a_new_row(engine: str, user: Any) -> None:
    client = make_client()
    client.force_login(user)
    revoked = only_active_row(user)
    revoked.revoke()

    assert client.login(username="alice", password=PASSWORD)

    fresh = UserSession.objects.active().get()
    assert fresh.pk != revoked.pk
    assert UserSession.objects.get(pk=revoked.pk).status == UserSession.Status.REVOKED
    assert_current(client, fresh)


def test_client_logout_ends_the_row(engine: str, user: Any) -> None:
    client = make_client()
    client.force_login(user)
    row = only_active_row(user)

    client.logout()

    row.refresh_from_db()
    assert row.status == UserSession.Status.ENDED
    assert row.ended_at is not None


def test_logging_out_an_anonymous_session_changes_nothing(engine: str, user: Any) -> None:
    logged_in_client(user)
    client = make_client()
    session = client.session  # an anonymous session with a cookie
    session["theme"] = "dark"
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key or ""

    assert client.post("/accounts/logout/").status_code in (200, 302)

    assert only_active_row(user).ended_at is None


def test_signals_sent_without_a_session_record_nothing(engine: str, user: Any) -> None:
    """Token logins and hand-sent signals (no request, or no session) are not sessions."""
    from django.contrib.auth.signals import user_logged_in, user_logged_out

    user_logged_in.send(sender=type(user), request=None, user=user)
    user_logged_in.send(sender=type(user), request=HttpRequest(), user=user)
    user_logged_out.send(sender=type(user), request=None, user=user)
    user_logged_out.send(sender=type(user), request=HttpRequest(), user=user)

    assert not UserSession.objects.exists()


def test_a_logins_row_sends_the_model_signals_save_would(user: Any) -> None:
    """The login's INSERT skips the ORM's compiler, not what ``save()`` promises:
    audit apps listening to ``pre_save`` / ``post_save`` see the new row."""
    from django.db.models.signals import post_save, pre_save

    seen: list[tuple[str, Any, Any]] = []

    def before(sender: Any, instance: UserSession, **kwargs: Any) -> None:
        seen.append(("pre_save", instance._state.adding, kwargs["using"]))

    def after(sender: Any, instance: UserSession, created: bool, **kwargs: Any) -> None:
        seen.append(("post_save", created, instance._state.adding))
        assert UserSession.objects.filter(pk=instance.pk, user=user).exists()

    pre_save.connect(before, sender=UserSession)
    post_save.connect(after, sender=UserSession)
    try:
        client = logged_in_client(user)
    finally:
        pre_save.disconnect(before, sender=UserSession)
        post_save.disconnect(after, sender=UserSession)
    assert seen == [("pre_save", True, "default"), ("post_save", True, False)]
    row = UserSession.objects.get(pk=current_row_id(client))
    assert (row.user, row.status, row.device_browser) == (user, "active", "Firefox 128")
