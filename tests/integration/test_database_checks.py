"""``manage.py check --database default`` is clean on the database the suite runs on.

CI runs the suite on SQLite, PostgreSQL and MariaDB; MariaDB used to print
models.W037 for a conditional index it cannot build.
"""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.db import connection

pytestmark = pytest.mark.django_db


def test_check_with_the_database_reports_nothing():
    messages = run_checks(databases=["default"])
    assert [(message.id, str(message.obj)) for message in messages] == [], connection.vendor
