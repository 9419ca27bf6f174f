"""What the screenshots in docs/screenshots/ show, as hashes: the app's page
and email templates, its stylesheet and its script.

``make screenshots`` writes ``docs/screenshots/SOURCES.json`` after taking
the pictures; ``tests/pages/test_screenshots.py`` fails when a template or the CSS
changed since, so the committed images never lag behind what they show.
Run: ``python scripts/screenshot_sources.py --write`` (``make screenshots`` does).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "django_sessionmgr"
MANIFEST = ROOT / "docs" / "screenshots" / "SOURCES.json"
#: The files whose look the screenshots show.
PATTERNS = [
    "templates/django_sessionmgr/**/*.html",
    "templates/django_sessionmgr/**/*.txt",
    "static/django_sessionmgr/sessionmgr.css",
    "static/django_sessionmgr/sessionmgr.js",
]


def sources() -> dict[str, str]:
    """``{path relative to the repository: sha256}`` of every file shown."""
    files = sorted({path for pattern in PATTERNS for path in PACKAGE.glob(pattern)})
    return {
        str(path.relative_to(ROOT)): hashlib.sha256(path.read_bytes()).hexdigest() for path in files
    }


def images() -> list[str]:
    return sorted(path.name for path in MANIFEST.parent.glob("*.png"))


def write() -> None:
    manifest = {"sources": sources(), "images": images()}
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(MANIFEST.relative_to(ROOT))


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: screenshot_sources.py --write")
    write()
