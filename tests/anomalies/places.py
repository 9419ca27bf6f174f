"""Addresses in MaxMind's GeoIP test databases, and what the theft-signal
tests share: their places, the GeoIP setting, and the sign-in from abroad."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.helpers import logged_in_client, row_of

LONDON = "81.2.69.142"  # London, GB: 51.5, -0.1
CHANGCHUN = "175.16.199.1"  # Changchun, CN: 43.9, 125.3 (about 8,200 km from London)
BOXFORD = "2.125.160.216"  # Boxford, GB: about 85 km from London
SAN_DIEGO = "214.78.0.1"  # San Diego, US: about 8,800 km from London
LINKOPING = "89.160.20.112"  # Linköping, SE
NOWHERE = "10.20.30.40"  # a private address: GeoIP places it nowhere


def signed_in_from_abroad(user: Any) -> tuple[Client, Client]:
    """The owner in London, then a sign-in from China: flagged ``new_country``."""
    owner = logged_in_client(user, ip=LONDON)
    thief = logged_in_client(user, ip=CHANGCHUN)
    assert row_of(thief).flag_reason == "new_country"
    return owner, thief
