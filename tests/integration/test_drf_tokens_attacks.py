"""Attacks on DRF authtoken sessions: a thief holding a key, and what an
error report keeps of it. Real HTTP through DRF's views and the app's."""

from __future__ import annotations

import logging
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.views.debug import ExceptionReporter
from rest_framework.authtoken.models import Token

from django_sessionmgr.models import UserSession
from django_sessionmgr.signals import session_started
from tests.helpers import PASSWORD, failing, logged_in_client
from tests.integration.test_drf_tokens import obtain, unknown_key, with_token
from tests.integration.token_checks import NEW_PASSWORD, change_password, secret_parts

pytestmark = pytest.mark.django_db

KIND = "drf_token"


def token_from_before_the_install(user: Any) -> str:
    """A key made before the app was installed: bulk_create sends no post_save."""
    key: str = Token.objects.bulk_create([Token(key=unknown_key(), user=user)])[0].key
    assert not UserSession.objects.filter(kind=KIND).exists()
    return key


def test_a_key_from_before_the_install_does_not_survive_a_password_change(user: Any) -> None:
    # The thief holds a key the owner made before the app was installed, and
    # has not used it since. The owner changes the password: Django signs out
    # every other browser; a token the app cannot see must not go on working.
    key = token_from_before_the_install(user)
    change_password(logged_in_client(user))

    assert with_token(key).status_code == 401


def test_a_key_from_before_the_install_does_not_survive_sign_out_everywhere(user: Any) -> None:
    key = token_from_before_the_install(user)
    response = logged_in_client(user).post("/api/sessions/revoke-others/")
    assert response.status_code == 200

    assert with_token(key).status_code == 401


def test_a_revoke_after_a_secret_key_rotation_ends_the_key(settings: Any, user: Any) -> None:
    # The key's row was written under the old SECRET_KEY; the key has not been
    # used since the rotation, and the old key is no longer a fallback.
    key = obtain(user)
    row = UserSession.objects.get(kind=KIND)
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 32
    settings.SECRET_KEY_FALLBACKS = []
    browser = logged_in_client(user)

    response = browser.post("/api/sessions/revoke-others/")

    assert response.status_code == 200
    assert UserSession.objects.get(pk=row.pk).status == "revoked"
    # The row says revoked: the key must not answer 200, nor come back as a new row.
    assert with_token(key).status_code == 401
    assert not UserSession.objects.filter(kind=KIND, status="active").exists()


@pytest.mark.parametrize("timeout", ["IDLE_TIMEOUT", "ABSOLUTE_TIMEOUT"])
def test_the_key_obtained_after_a_timeout_works(settings: Any, user: Any, timeout: str) -> None:
    settings.SESSIONMGR = {timeout: 3600}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = obtain(user)
        clock.shift(7200)
        # The owner signs in again after the timeout, the key unused since:
        # what the obtain view hands out must work.
        again = obtain(user)
        assert with_token(again).status_code == 200
        assert with_token(first).status_code == (200 if again == first else 401)
    assert UserSession.objects.filter(kind=KIND, status="active").count() == 1


@pytest.fixture
def failing_receiver() -> Any:
    def fail(**kwargs: Any) -> None:
        raise RuntimeError("a project's receiver failed")

    session_started.connect(fail, dispatch_uid="tests.attacks.fail")
    yield
    session_started.disconnect(dispatch_uid="tests.attacks.fail")


def error_report(caplog: pytest.LogCaptureFixture, call: Any) -> str:
    """The report Django's ``AdminEmailHandler`` (``include_html``) mails for the
    500 of ``call``: built from the ``django.request`` record, as it does."""
    caplog.set_level(logging.ERROR, logger="django.request")
    response = call()
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert record.exc_info is not None
    reporter = ExceptionReporter(getattr(record, "request", None), *record.exc_info)
    text = reporter.get_traceback_html()
    assert "receiver failed" in text and "Local vars" in text
    return text


def test_an_error_report_of_a_tokens_request_holds_no_key(
    settings: Any, user: Any, failing_receiver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The first use of a key from before the install adopts it, which sends
    # session_started; a project's receiver that fails makes a 500, and its
    # report (mailed to ADMINS with DEBUG off) shows each frame's variables.
    settings.DEBUG = False
    key = token_from_before_the_install(user)

    client = Client(headers={"authorization": f"Token {key}"}, raise_request_exception=False)
    text = error_report(caplog, lambda: client.get("/token-whoami/"))

    for part in secret_parts(KIND, key):
        assert part not in text


def test_an_error_report_of_an_obtain_holds_no_key(
    settings: Any, user: Any, failing_receiver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEBUG = False

    client = Client(raise_request_exception=False)
    credentials = {"username": user.get_username(), "password": PASSWORD}
    text = error_report(caplog, lambda: client.post("/api-token-auth/", credentials))

    key = Token.objects.get(user=user).key
    for part in secret_parts(KIND, key):
        assert part not in text


def test_a_key_given_to_another_user_in_drfs_admin_is_that_users_session(
    user: Any, other_user: Any, superuser: Any
) -> None:
    # Staff give Alice's key to Bob in DRF's own admin (its change form edits
    # the token's user): the key now signs in as Bob, so its session is Bob's,
    # listed and ended by Bob's "sign out everywhere", and Alice's row ends.
    key = obtain(user)
    admin = logged_in_client(superuser)
    response = admin.post(f"/admin/authtoken/tokenproxy/{user.pk}/change/", {"user": other_user.pk})
    assert response.status_code == 302, response.content
    assert with_token(key).json() == {"user": other_user.get_username()}
    assert not UserSession.objects.filter(user=user, kind=KIND, status="active").exists()

    bob = logged_in_client(other_user)
    listed = bob.get("/api/sessions/").json()["results"]
    assert sorted(item["kind"] for item in listed) == [KIND, "session"]
    assert bob.post("/api/sessions/revoke-others/").json() == {"revoked": 1}
    assert with_token(key).status_code == 401


@pytest.mark.django_db(transaction=True)  # a trigger is DDL: MariaDB commits it
def test_a_revoke_whose_store_fails_leaves_no_active_row_for_an_ended_key(user: Any) -> None:
    # "Sign out everywhere else" ends the key first (its clearer), then the
    # store fails on the browser sessions: the revoke answers that nothing was
    # signed out and undoes its claim. The key is gone all the same, so its
    # row must not go on reading active (listed as a live API token, counted
    # by MAX_SESSIONS, for a hundred years).
    key = obtain(user)
    logged_in_client(user)  # another browser, whose stored session cannot be deleted
    browser = logged_in_client(user)

    with failing("django_session", "DELETE"):
        response = browser.post("/api/sessions/revoke-others/")

    assert response.status_code == 503, response.content
    refused = with_token(key).status_code == 401
    row = UserSession.objects.get(kind=KIND)
    assert (refused, row.status) in {(False, "active"), (True, "revoked")}


@pytest.mark.parametrize("expire_first", [False, True])
def test_pruning_the_row_of_a_timed_out_key_does_not_bring_the_key_back(
    settings: Any, user: Any, expire_first: bool
) -> None:
    # ABSOLUTE_TIMEOUT ended the key's session while the key went unused: its
    # row still reads active, past its end, until the key's next request (or
    # sessionmgr_expire marks it expired). The retention prune deletes rows
    # that ended long enough ago; the key must not then come back as a new
    # row, its timeout forgotten.
    settings.SESSIONMGR = {"ABSOLUTE_TIMEOUT": 3600}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = obtain(user)
        clock.shift(3 * 24 * 3600)
        if expire_first:  # the row reads expired: sessionmgr_expire, from cron
            call_command("sessionmgr_expire", stdout=StringIO())
        call_command("sessionmgr_prune", "--days", "1", stdout=StringIO())

        assert with_token(key).status_code == 401
        assert not UserSession.objects.filter(kind=KIND, status="active").exists()


@pytest.mark.urls("tests.integration.urls_drf_tokens_attacks")
def test_a_password_change_made_with_a_key_keeps_that_key(user: Any) -> None:
    # The app changes the password through the project's API, authenticated by
    # its key: "the session that made the change stays signed in" (the key),
    # and every other session is revoked.
    key = obtain(user)
    browser = logged_in_client(user)
    client = Client(headers={"authorization": f"Token {key}"})

    response = client.post("/api/password/", {"new_password": NEW_PASSWORD})

    assert response.status_code == 204, response.content
    assert with_token(key).status_code == 200
    assert browser.get("/whoami/").json()["user"] is None
    assert UserSession.objects.get(kind=KIND).status == "active"


def test_sessionmgr_revoke_all_ends_keys_from_before_the_install(
    user: Any, other_user: Any
) -> None:
    mine, theirs = token_from_before_the_install(user), token_from_before_the_install(other_user)

    call_command("sessionmgr_revoke", "--all", stdout=StringIO())

    assert (with_token(mine).status_code, with_token(theirs).status_code) == (401, 401)


def test_a_staff_revoke_of_a_user_ends_their_key_from_before_the_install(
    user: Any, other_user: Any, superuser: Any
) -> None:
    mine, theirs = token_from_before_the_install(user), token_from_before_the_install(other_user)
    staff = logged_in_client(superuser)

    response = staff.post("/api/admin/sessions/revoke/", {"users": [user.pk]}, "application/json")

    assert response.status_code == 200, response.content
    assert (with_token(mine).status_code, with_token(theirs).status_code) == (401, 200)


# ---------------------------------------------------------------------------
# Hostile review 2: failures in the middle of a revoke. These held: they
# cover the clearer's own failure (DRF's token table), beside the store's.
# ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # a trigger is DDL: MariaDB commits it
@pytest.mark.parametrize("way", ["one", "others", "from_before_the_install"])
def test_a_revoke_whose_keys_cannot_be_deleted_answers_503_and_a_retry_ends_the_key(
    user: Any, way: str
) -> None:
    key = token_from_before_the_install(user) if way.startswith("from") else obtain(user)
    browser = logged_in_client(user)

    with failing("authtoken_token", "DELETE"):
        if way == "one":
            row = UserSession.objects.get(kind=KIND)
            response = browser.delete(f"/api/sessions/{row.pk}/")
        else:
            response = browser.post("/api/sessions/revoke-others/")

    # Never a success while the key lives, and nothing reads revoked.
    assert response.status_code == 503, response.content
    assert not UserSession.objects.filter(status="revoked").exists()
    assert not UserSession.objects.exclude(revoke_batch=None).exists()
    assert with_token(key).status_code == 200

    assert browser.post("/api/sessions/revoke-others/").status_code == 200
    assert with_token(key).status_code == 401
    assert not UserSession.objects.filter(kind=KIND, status="active").exists()
