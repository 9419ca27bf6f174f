"""Test matrix: every supported Django version, DeprecationWarning as an error.

Django 5.2 LTS is the one supported series (4.2 reached end of life in April
2026). Django 6.0 needs Python 3.12, which CI does not run.

Sessions inherit the caller's environment, so DATABASE_URL, REDIS_URL, CI and
the like reach the tests unchanged.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
# Lint is `make lint` alone (pre-commit's hooks and mypy); nox runs the matrix.
nox.options.sessions = ["tests"]

DJANGO_VERSIONS = ["5.2"]


#: The Python versions pyproject.toml's classifiers name (and requires-python starts at).
PYTHON_VERSIONS = ["3.11"]


@nox.session(python=PYTHON_VERSIONS)
@nox.parametrize("django", DJANGO_VERSIONS)
def tests(session: nox.Session, django: str) -> None:
    # Dependency groups (PEP 735) need pip >= 25.1.
    session.install("pip>=25.1")
    groups = ["--group", "test"]
    if os.environ.get("DATABASE_URL", "").startswith(("mysql://", "mysqlgis://")):
        # The MariaDB driver builds from source; only a MariaDB run needs it.
        groups += ["--group", "mariadb"]
    session.install("-e", ".[geoip,openapi]", *groups, f"django~={django}.0")
    session.run("python", "-m", "pytest", "-W", "error::DeprecationWarning", *session.posargs)
