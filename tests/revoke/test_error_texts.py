"""Each failure has one text, named once, whichever way in meets it: the
pages, the admin and the API say what ``services`` words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from django_sessionmgr import services
from django_sessionmgr.models import UserSession
from tests.helpers import PASSWORD, logged_in_client, read_only, row_of, whoami

pytestmark = pytest.mark.django_db


def test_a_store_that_does_not_answer_is_worded_once_for_the_pages_the_admin_and_the_api(
    session_folder: Path, user: Any, django_user_model: Any
) -> None:
    """Real fault: the file engine's folder refuses deletes. Nothing is revoked,
    and each way in answers with the text ``services`` names."""
    me = logged_in_client(user)
    other = logged_in_client(user)
    root = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    staff = logged_in_client(root)
    [target] = UserSession.objects.filter(user=user).exclude(pk=row_of(me).pk)

    read_only(session_folder, True)
    try:
        page = me.post("/account/sessions/revoke-others/", follow=True)
        admin = staff.post(
            "/admin/django_sessionmgr/usersession/",
            {"action": "revoke_sessions", "_selected_action": [str(target.pk)], "post": "yes"},
            follow=True,
        )
        api = me.delete(f"/api/sessions/{target.pk}/", headers={"accept": "application/json"})
    finally:
        read_only(session_folder, False)

    assert [str(m) for m in page.context["messages"]] == [str(services.STORE_NOT_ANSWERING)]
    assert str(services.STORE_NOT_ANSWERING) in [str(m) for m in admin.context["messages"]]
    assert api.status_code == 503
    assert api.json() == {
        "code": "store_unavailable",
        "detail": str(services.STORE_NOT_ANSWERING_API),
    }
    assert whoami(other) == "alice"
    assert UserSession.objects.active().count() == 3


def test_a_wrong_password_is_worded_once_for_the_pages_and_the_api(
    settings: Any, user: Any
) -> None:
    """With ``REAUTH_FOR_REVOKE_OTHERS``, a session signed in long ago that
    sends a wrong password reads the same words on the page and in the API."""
    settings.SESSIONMGR = {"REAUTH_FOR_REVOKE_OTHERS": 60}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        me = logged_in_client(user)
        logged_in_client(user)
        traveller.shift(61)

        page = me.post("/account/sessions/revoke-others/", {"password": "wrong"})
        api = me.post(
            "/api/sessions/revoke-others/", {"password": "wrong"}, content_type="application/json"
        )

    assert page.status_code == 403
    assert str(services.WRONG_PASSWORD) in page.content.decode()
    assert api.status_code == 403
    assert api.json() == {
        "code": "reauthentication_required",
        "detail": str(services.WRONG_PASSWORD),
    }
    assert UserSession.objects.active().count() == 2
