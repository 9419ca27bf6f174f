"""The German translation: complete, compiled, and used by the pages and the API."""

from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone, translation

import django_sessionmgr
from django_sessionmgr.models import UserSession
from django_sessionmgr.templatetags.sessionmgr_tags import time_ago
from tests.helpers import IPHONE, logged_in_client

PACKAGE = Path(django_sessionmgr.__file__).parent
CATALOG = PACKAGE / "locale" / "de" / "LC_MESSAGES"


@pytest.fixture
def german(settings):
    """Requests negotiate their language, and ask for German."""
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ]
    return {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}


@pytest.mark.django_db
def test_list_page_renders_in_german(user, german):
    client = logged_in_client(user, **german)
    logged_in_client(user, user_agent=IPHONE)

    html = client.get("/account/sessions/").content.decode()

    assert '<html lang="de">' in html
    assert "<h1>Wo Sie angemeldet sind</h1>" in html
    assert "Dieses Gerät" in html
    assert "Firefox 128 auf Ubuntu" in html
    assert "Mobilgerät" in html
    assert "Zuletzt gesehen" in html and "vor weniger als einer Minute" in html
    assert ">Abmelden</button>" in html
    assert "Alle anderen Sitzungen abmelden" in html
    assert "signed in" not in html and "This device" not in html


@pytest.mark.django_db
def test_messages_are_german(user, german):
    client = logged_in_client(user, **german)
    for _ in range(2):
        logged_in_client(user, user_agent=IPHONE)

    response = client.post("/account/sessions/revoke-others/", follow=True)

    assert [str(m) for m in response.context["messages"]] == ["2 andere Sitzungen abgemeldet."]
    assert UserSession.objects.filter(status=UserSession.Status.REVOKED).count() == 2


@pytest.mark.django_db
def test_api_errors_are_german(user, german):
    client = logged_in_client(user, **german)

    response = client.get("/api/sessions/", {"status": "bogus"})
    current = client.delete(f"/api/sessions/{client.get('/api/sessions/current/').json()['id']}/")

    assert response.status_code == 400
    assert response.json()["status"][0].startswith("Unbekannter Status; erlaubt sind: active")
    assert current.json()["detail"].startswith("Dies ist die Sitzung, die Sie gerade verwenden")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "vor weniger als einer Minute"),
        (60, "vor 1 Minute"),
        (7200, "vor 2 Stunden"),
        (86400 * 3, "vor 3 Tagen"),
    ],
)
def test_relative_times_in_german(seconds, text):
    with translation.override("de"):
        assert time_ago(timezone.now() - timedelta(seconds=seconds)) == text


def po_entries(path: Path) -> list[tuple[str, bool]]:
    """``(msgid, fuzzy)`` of each live entry of a .po file, header excluded.

    An entry with a context has it in front, as gettext keys it
    (``"admin section\x04Sessions"``).
    """
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        msgid, collecting, context = "", False, ""
        for line in lines:
            if line.startswith("msgctxt "):
                context = line[9:-1] + "\x04"
            elif line.startswith("msgid "):
                msgid, collecting = line[7:-1], True
            elif collecting and line.startswith('"'):
                msgid += line[1:-1]
            else:
                collecting = False
        if msgid:
            text = msgid.encode().decode("unicode_escape").encode("latin-1").decode()
            entries.append((context + text, fuzzy))
    return entries


def test_catalog_is_complete_and_compiled():
    entries = po_entries(CATALOG / "django.po")
    with (CATALOG / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)

    assert len(entries) > 50
    assert [msgid for msgid, fuzzy in entries if fuzzy] == []
    untranslated = [msgid for msgid, _ in entries if catalog.gettext(msgid) == msgid]
    # A few words are the same in German.
    assert set(untranslated) <= {"Desktop", "Tablet", "Bot", "Browser", "Status"}


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")
def test_every_string_in_the_package_is_in_the_catalog(tmp_path):
    copy = tmp_path / "django_sessionmgr"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "de", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": str(Path(__file__).parents[2]),
        },
    )

    shipped = dict(po_entries(CATALOG / "django.po"))
    extracted = dict(po_entries(copy / "locale" / "de" / "LC_MESSAGES" / "django.po"))

    assert sorted(set(extracted) - set(shipped)) == []
