"""Fail unless a built wheel ships the whole package, data files included.

Every file of the package in the source tree must be in the wheel, and every
catalogue (e.g. locale/de/LC_MESSAGES/django.po) needs its compiled .mo there.

Usage: python scripts/check_wheel.py dist/django_sessionmgr-*.whl
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "django_sessionmgr"
REQUIRED = [
    f"{PACKAGE}/__init__.py",
    f"{PACKAGE}/py.typed",
    f"{PACKAGE}/migrations/0001_initial.py",
]
TEMPLATES = f"{PACKAGE}/templates/{PACKAGE}/"


def source_files() -> set[str]:
    """Every file of the package in the source tree, bytecode aside."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def problems(names: set[str]) -> list[str]:
    found = [f"missing {name}" for name in REQUIRED if name not in names]
    if not any(name.startswith(TEMPLATES) for name in names):
        found.append(f"no templates under {TEMPLATES}")
    # Each .po ships with its compiled .mo, or the translation is silently lost.
    found += [
        f"{name} has no compiled .mo beside it"
        for name in sorted(names)
        if name.endswith(".po") and name.removesuffix(".po") + ".mo" not in names
    ]
    found += [f"not in the wheel: {name}" for name in sorted(source_files() - names)]
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    wheel = Path(argv[0])
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    found = problems(names)
    for problem in found:
        print(f"{wheel.name}: {problem}", file=sys.stderr)
    if found:
        return 1
    shipped = sum(name.startswith(f"{PACKAGE}/") for name in names)
    print(f"{wheel.name}: OK, {shipped} package files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
