"""Attacks on knox token sessions: a thief holding a token from before the
install, and what an error report keeps of a token. Real HTTP through knox's
views and the app's."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.views.debug import ExceptionReporter
from knox.models import AuthToken, get_digest_token

from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_started
from tests.helpers import logged_in_client, make_staff
from tests.integration.test_knox_tokens import knox_login, knox_post, row_of_token, with_token
from tests.integration.token_checks import change_password, secret_parts

pytestmark = pytest.mark.django_db

KIND = "knox"


def token_from_before_the_install(user: Any) -> tuple[str, str]:
    """A knox token made before the app was installed (bulk_create sends no
    post_save): the token and knox's digest of it."""
    digest, token = get_digest_token()
    expiry = timezone.now() + timedelta(hours=10)
    AuthToken.objects.bulk_create(
        [AuthToken(digest=digest, token_key=token[:15], user=user, expiry=expiry)]
    )
    assert not UserSession.objects.filter(kind=KIND).exists()
    return token, digest


def test_a_token_from_before_the_install_does_not_survive_a_password_change(user: Any) -> None:
    token, _ = token_from_before_the_install(user)
    change_password(logged_in_client(user))

    assert with_token(token).status_code == 401


def test_a_token_from_before_the_install_does_not_survive_sign_out_everywhere(user: Any) -> None:
    token, _ = token_from_before_the_install(user)
    assert logged_in_client(user).post("/api/sessions/revoke-others/").status_code == 200

    assert with_token(token).status_code == 401


@pytest.fixture
def failing_receiver() -> Iterator[None]:
    def fail(**kwargs: Any) -> None:
        raise RuntimeError("a project's receiver failed")

    session_started.connect(fail, dispatch_uid="tests.attacks.fail")
    yield
    session_started.disconnect(dispatch_uid="tests.attacks.fail")


def test_an_error_report_of_a_tokens_request_holds_no_token(
    settings: Any, user: Any, failing_receiver: None, caplog: pytest.LogCaptureFixture
) -> None:
    # The first use of a token from before the install adopts it, which sends
    # session_started: a project's receiver that fails makes a 500, whose
    # report (AdminEmailHandler with include_html, DEBUG off) shows each
    # frame's variables, built from the django.request record as it does.
    settings.DEBUG = False
    caplog.set_level(logging.ERROR, logger="django.request")
    token, digest = token_from_before_the_install(user)
    client = Client(headers={"authorization": f"Token {token}"}, raise_request_exception=False)

    assert client.get("/knox/app-whoami/").status_code == 500

    (record,) = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert record.exc_info is not None
    text = ExceptionReporter(
        getattr(record, "request", None), *record.exc_info
    ).get_traceback_html()
    assert "receiver failed" in text and "Local vars" in text
    for part in secret_parts(KIND, token, digest):
        assert part not in text


def test_a_revoke_after_a_secret_key_rotation_ends_the_token(settings: Any, user: Any) -> None:
    # The token's row was written under the old SECRET_KEY; the token has not
    # been used since the rotation, and the old key is no longer a fallback.
    token = knox_login(user)
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 32
    settings.SECRET_KEY_FALLBACKS = []

    response = logged_in_client(user).post("/api/sessions/revoke-others/")

    assert response.status_code == 200 and response.json() == {"revoked": 1}
    # The row says revoked: the token must not answer 200, nor come back as a new row.
    assert with_token(token).status_code == 401
    assert not UserSession.objects.filter(kind=KIND, status="active").exists()


def test_one_revoke_after_a_secret_key_rotation_ends_the_token(settings: Any, user: Any) -> None:
    # The same rotation, and the owner signs out that one token from the list:
    # its row's digest matches no token now, so the revoke ends the tokens no
    # active row records rather than leave that one working.
    token = knox_login(user)
    row = UserSession.objects.get(kind=KIND)
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 32
    settings.SECRET_KEY_FALLBACKS = []

    response = logged_in_client(user).delete(f"/api/sessions/{row.pk}/")

    assert response.status_code == 204
    assert with_token(token).status_code == 401
    assert not UserSession.objects.filter(kind=KIND, status="active").exists()


def test_one_revoke_leaves_the_users_other_recorded_tokens(user: Any) -> None:
    first, second = knox_login(user), knox_login(user)
    row = UserSession.objects.filter(kind=KIND).order_by("created_at").first()
    assert row is not None

    assert logged_in_client(user).delete(f"/api/sessions/{row.pk}/").status_code == 204

    assert (with_token(first).status_code, with_token(second).status_code) == (401, 200)


def test_sign_out_everywhere_leaves_other_users_tokens_from_before_the_install(
    user: Any, other_user: Any
) -> None:
    theirs, _ = token_from_before_the_install(other_user)
    assert logged_in_client(user).post("/api/sessions/revoke-others/").status_code == 200

    assert with_token(theirs).status_code == 200


def test_sessionmgr_revoke_all_ends_tokens_from_before_the_install(
    user: Any, other_user: Any
) -> None:
    mine, _ = token_from_before_the_install(user)
    theirs, _ = token_from_before_the_install(other_user)

    call_command("sessionmgr_revoke", "--all", stdout=StringIO())

    assert (with_token(mine).status_code, with_token(theirs).status_code) == (401, 401)


# ---------------------------------------------------------------------------
# Hostile review 2: a thief holding a token, a staff member, an attacker
# holding the password.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["IDLE_TIMEOUT", "ABSOLUTE_TIMEOUT"])
def test_a_timed_out_token_cannot_sign_the_user_out_through_logoutall(
    settings: Any, user: Any, timeout: str
) -> None:
    # A stolen phone's token whose session a timeout has ended: "its next
    # request is refused (401)", at logoutall too (the app's LogoutAllView,
    # mounted as docs/tokens.md says: knox's own authenticates with knox's
    # stock class), so the owner's live knox sessions stay signed in.
    settings.SESSIONMGR = {timeout: 3600}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        stolen = knox_login(user)
        clock.shift(1800)
        kept = knox_login(user)
        clock.shift(2000)  # the stolen token's session is over; the kept one's is not
        assert with_token(kept).status_code == 200

        assert knox_post(stolen, "/knox/logoutall/") == 401
        assert with_token(kept).status_code == 200


def test_a_token_request_cannot_rename_or_revoke_another_users_row(
    user: Any, other_user: Any
) -> None:
    theirs = knox_login(other_user)
    row = row_of_token(theirs)
    thief = Client(headers={"authorization": f"Token {knox_login(user)}"})

    renamed = thief.patch(f"/api/sessions/{row.pk}/", {"name": "x"}, "application/json")
    deleted = thief.delete(f"/api/sessions/{row.pk}/")
    unknown = thief.delete("/api/sessions/00000000-0000-4000-8000-000000000000/")

    assert (renamed.status_code, deleted.status_code) == (404, 404)
    assert renamed.content == deleted.content == unknown.content
    row.refresh_from_db()
    assert (row.status, row.name) == (UserSession.Status.ACTIVE, "")
    assert with_token(theirs).status_code == 200


def test_staff_who_may_only_view_cannot_end_a_token_nor_look_it_up(
    user: Any, django_user_model: Any
) -> None:
    token = knox_login(user)
    row = row_of_token(token)
    staff = logged_in_client(make_staff(django_user_model, "carol", "view_usersession"))

    one = staff.delete(f"/api/admin/sessions/{row.pk}/")
    bulk = staff.post("/api/admin/sessions/revoke/", {"users": [user.pk]}, "application/json")
    action = staff.post(
        "/admin/django_sessionmgr/usersession/",
        {"action": "revoke_sessions", "_selected_action": [str(row.pk)]},
    )

    assert (one.status_code, bulk.status_code) == (403, 403)
    assert action.status_code in (200, 302, 403)
    assert with_token(token).status_code == 200
    assert UserSession.objects.get(pk=row.pk).status == UserSession.Status.ACTIVE
    # The digest is no lookup: the admin refuses it, the staff API ignores it.
    admin = staff.get(f"/admin/django_sessionmgr/usersession/?token_digest={row.token_digest}")
    assert admin.status_code == 302 and "?e=1" in admin["Location"]
    matching = staff.get(f"/api/admin/sessions/?token_digest={row.token_digest}").json()
    others = staff.get(f"/api/admin/sessions/?token_digest={'0' * 64}").json()
    assert matching == others
