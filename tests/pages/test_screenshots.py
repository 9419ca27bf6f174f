"""The committed screenshots are no older than the templates and CSS they show.

``make screenshots`` takes them and writes ``docs/screenshots/SOURCES.json``,
the hashes of what they show (``scripts/screenshot_sources.py``). A template,
the stylesheet or the script changed since, and this fails until the
screenshots are taken again and committed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "screenshot_sources.py"


def screenshot_sources() -> ModuleType:
    if not SCRIPT.exists():
        pytest.skip("scripts/ is not in this checkout (an sdist)")
    spec = importlib.util.spec_from_file_location("screenshot_sources", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_screenshots_are_newer_than_what_they_show():
    sources = screenshot_sources()
    committed = json.loads(sources.MANIFEST.read_text(encoding="utf-8"))
    current = sources.sources()

    stale = sorted(
        path
        for path in set(current) | set(committed["sources"])
        if current.get(path) != committed["sources"].get(path)
    )
    assert stale == [], (
        f"docs/screenshots/ are older than {', '.join(stale)}: run `make screenshots` "
        "and commit the images with docs/screenshots/SOURCES.json"
    )
    assert committed["images"] == sources.images()


def test_the_manifest_covers_the_pages_and_the_css():
    current = screenshot_sources().sources()
    assert "django_sessionmgr/static/django_sessionmgr/sessionmgr.css" in current
    assert "django_sessionmgr/templates/django_sessionmgr/includes/session.html" in current
    assert "django_sessionmgr/templates/django_sessionmgr/email/new_device.html" in current
