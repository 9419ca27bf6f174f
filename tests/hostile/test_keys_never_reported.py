"""A raw session key never reaches an error report or a log line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from django_sessionmgr.exceptions import RevokeFailed
from django_sessionmgr.models import UserSession
from tests.helpers import failing, logged_in_client, read_only, session_cookie, whoami

pytestmark = pytest.mark.django_db(transaction=True)


def revoke_all() -> Any:
    """The failing revoke, caught here so the report's frames are the app's own."""
    try:
        UserSession.objects.all().revoke()
    except RevokeFailed:
        kind, error, traceback = sys.exc_info()
        return kind, error, traceback.tb_next  # from the revoke down
    raise AssertionError("the revoke did not fail")


def test_the_technical_500_page_of_a_failed_revoke_shows_no_key(
    settings: Any, session_folder: Path, user: Any
) -> None:
    """A real fault inside the functions that hold keys: the folder refuses deletes."""
    settings.DEBUG = True
    key = session_cookie(logged_in_client(user))
    read_only(session_folder, True)
    try:
        info = revoke_all()
    finally:
        read_only(session_folder, False)

    reporter = ExceptionReporter(RequestFactory().get("/"), *info)
    html, text = reporter.get_traceback_html(), reporter.get_traceback_text()
    assert "delete_stored_sessions" in html  # the frames are there...
    assert key not in html  # ...without the key
    assert key not in text
    assert key[:12] not in html


def test_the_technical_500_page_shows_no_key_under_the_db_engine(settings: Any, user: Any) -> None:
    """The db engine's store refuses the delete (a trigger): the frames that
    hold the keys in clear show none of them."""
    settings.DEBUG = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    key = session_cookie(logged_in_client(user))
    with failing("django_session", "DELETE"):
        info = revoke_all()

    reporter = ExceptionReporter(RequestFactory().get("/"), *info)
    html, text = reporter.get_traceback_html(), reporter.get_traceback_text()
    assert "delete_stored_sessions" in html
    assert key not in html
    assert key not in text


def test_no_log_line_carries_a_key(
    engine: str, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = logged_in_client(user)
    keys = {session_cookie(client)}
    client.get("/rotate/")
    keys.add(session_cookie(client))
    assert whoami(client) == "alice"
    UserSession.objects.all().revoke()
    assert whoami(client) is None

    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    for key in keys:
        assert key[:16] not in logged
