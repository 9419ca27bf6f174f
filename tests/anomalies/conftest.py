"""Fixtures of the theft-signal tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_sessionmgr.signals import session_anomaly


@pytest.fixture
def geoip(settings: Any) -> None:
    """MaxMind's test databases, where the places of ``places`` are."""
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH


@pytest.fixture
def findings(geoip: None) -> Iterator[list[dict[str, Any]]]:
    """What ``session_anomaly`` is sent with, in order."""
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    session_anomaly.connect(receiver, dispatch_uid="tests.anomalies.findings")
    yield seen
    session_anomaly.disconnect(dispatch_uid="tests.anomalies.findings")
