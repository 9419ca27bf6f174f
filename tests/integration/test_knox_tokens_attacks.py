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
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.views.debug import ExceptionReporter
from knox.models import AuthToken, get_digest_token

from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_started
from tests.helpers import logged_in_client
from tests.integration.test_knox_tokens import knox_login, with_token
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
