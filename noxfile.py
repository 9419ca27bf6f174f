"""Test matrix: every supported Django version, DeprecationWarning as an error.

Sessions inherit the caller's environment, so DATABASE_URL, REDIS_URL, CI and
the like reach the tests unchanged.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
# `make lint` already lints; a bare `nox` runs the version matrix.
nox.options.sessions = ["tests"]

DJANGO_VERSIONS = ["4.2", "5.2"]


@nox.session
@nox.parametrize("django", DJANGO_VERSIONS)
def tests(session: nox.Session, django: str) -> None:
    session.install("-e", ".[test]", f"django~={django}.0")
    session.run("python", "-m", "pytest", "-W", "error::DeprecationWarning", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "django_sessionmgr")
