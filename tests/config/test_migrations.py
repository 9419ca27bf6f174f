"""Data migrations keep working as the package's code moves on."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from django_sessionmgr.keys import unseal
from django_sessionmgr.models import UserSession
from tests.helpers import make_row

seal_migration = import_module("django_sessionmgr.migrations.0004_seal_session_keys")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("engine", "sealed"),
    [("file", True), ("cache", True), ("db", False), ("cached_db", False)],
)
def test_0004_seals_what_the_package_opens(
    settings: Any, user: Any, engine: str, sealed: bool
) -> None:
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine}"
    row = make_row(user, session_key="k" * 32)

    seal_migration.seal_existing_keys(apps, SimpleNamespace(connection=connection))

    stored = UserSession.objects.values_list("session_key", flat=True).get(pk=row.pk)
    assert (stored != "k" * 32) is sealed
    assert unseal(stored) == "k" * 32
