"""Client IP address and location of a request."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from django.http import HttpRequest
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from .conf import AppSettings, app_settings, django_settings
from .models import CITY_MAX_LENGTH, COUNTRY_CODE_LENGTH

if TYPE_CHECKING:
    from datetime import datetime

#: The values of ``SESSIONMGR["IP_ADDRESS_STORAGE"]``.
IP_ADDRESS_STORAGE_MODES = AppSettings.IP_ADDRESS_STORAGE.type.choices


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv6 zone ("%eth0") names an interface of the sender's host: meaningless
    # here, unbounded in length, and rejected by PostgreSQL's inet type.
    return str(address).partition("%")[0]


def get_client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as configured.

    With ``TRUSTED_PROXY_COUNT = n > 0`` the header is read from the right: the
    n-th entry from the end was written by the outermost trusted proxy. Anything
    further left could have been sent by the client and is ignored. A malformed
    header falls back to ``REMOTE_ADDR``; an invalid address gives ``None``.
    """
    meta = getattr(request, "META", None) or {}
    proxies = app_settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        header = str(meta.get("HTTP_X_FORWARDED_FOR", ""))
        entries = [entry.strip() for entry in header.split(",") if entry.strip()]
        if len(entries) >= proxies:
            forwarded = _valid_ip(entries[-proxies])
            if forwarded:
                return forwarded
    return _valid_ip(meta.get("REMOTE_ADDR"))


def stored_ip(ip: str | None) -> str | None:
    """``ip`` as ``IP_ADDRESS_STORAGE`` lets the app keep and show it.

    ``"full"`` keeps it. ``"truncated"`` keeps its network's first address:
    IPv4 /24, IPv6 /48. An IPv4 client seen through IPv6 (``::ffff:203.0.113.9``
    on a dual-stack server) is truncated as IPv4 (``203.0.113.0``): its IPv6 /48
    would keep all 32 bits of it. A 6to4 address (``2002::/16``) carries one
    too, so it keeps /40, the /24 of the IPv4 inside. ``"none"`` keeps nothing,
    and so does an unknown mode (check E007 reports it): a typo never stores
    more than the project asked for.
    """
    mode = app_settings.IP_ADDRESS_STORAGE
    if not ip or mode == "full":
        return ip or None
    if mode != "truncated":
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            address = address.ipv4_mapped
        else:
            prefix = 40 if address.sixtofour else 48
    return str(ipaddress.ip_network((address, prefix), strict=False).network_address)


@lru_cache(maxsize=4)
def _geoip_reader(path: str, city: str | None, country: str | None) -> tuple[Any, bool]:
    """One reader per configuration, reused across lookups, and whether it
    reads a city database.

    The database is found as Django's ``GeoIP2`` finds it (``GEOIP_PATH``
    names the file, or a folder holding ``GEOIP_CITY`` or ``GEOIP_COUNTRY``)
    and read with ``maxminddb``, which ``geoip2`` reads with, returning
    plain dicts: ``GeoIP2.city()`` built full response objects on every
    login for the two values kept.
    """
    import maxminddb

    base = Path(path)
    for candidate in (
        base,
        base / (city or "GeoLite2-City.mmdb"),
        base / (country or "GeoLite2-Country.mmdb"),
    ):
        if candidate.is_file():
            reader = maxminddb.open_database(str(candidate))
            kind = reader.metadata().database_type
            if "City" not in kind and "Country" not in kind:
                raise ValueError(f"not a GeoIP2 city or country database: {kind}")
            return reader, "City" in kind
    raise FileNotFoundError(path)


def _english_name(record: dict[str, Any], key: str) -> str:
    names = (record.get(key) or {}).get("names") or {}
    return str(names.get("en") or "")


class Place(NamedTuple):
    """Where GeoIP puts an address: its city and country, and the point it
    gives with its error radius (None when it gives none)."""

    city: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None
    radius_km: int | None = None


#: Coordinates are kept to this many decimals: a tenth of a degree, about
#: 11 km, says no more than the city's name.
COORDINATE_DECIMALS = 1


def locate_place(ip: str | None) -> Place:
    """Where GeoIP puts ``ip``; an empty ``Place`` when unknown.

    Needs ``GEOIP_PATH`` and the ``geoip2`` package; any failure is "unknown".
    """
    path = django_settings.GEOIP_PATH
    if not ip or not path:
        return Place()
    try:
        reader, has_cities = _geoip_reader(
            str(path),
            django_settings.GEOIP_CITY,
            django_settings.GEOIP_COUNTRY,
        )
        record = reader.get(ip)
    except Exception:
        return Place()
    if not isinstance(record, dict):
        return Place()
    city = _english_name(record, "city") if has_cities else ""
    country = str((record.get("country") or {}).get("iso_code") or "")
    location = (record.get("location") or {}) if has_cities else {}
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        latitude = longitude = None
    else:
        latitude = round(float(latitude), COORDINATE_DECIMALS)
        longitude = round(float(longitude), COORDINATE_DECIMALS)
    radius = location.get("accuracy_radius")
    return Place(
        city[:CITY_MAX_LENGTH],
        country[:COUNTRY_CODE_LENGTH],
        latitude,
        longitude,
        radius if isinstance(radius, int) else None,
    )


def place_fields(place: Place, now: datetime) -> dict[str, Any]:
    """The row's fields for where a session was last seen (at ``now``). The
    last point is kept when GeoIP cannot place this address: a request from
    an unplaced one must not wipe what impossible travel measures from."""
    fields: dict[str, Any] = {
        "last_location_city": place.city,
        "last_location_country": place.country,
    }
    if place.latitude is not None and place.longitude is not None:
        fields.update(
            last_location_latitude=place.latitude,
            last_location_longitude=place.longitude,
            last_located_at=now,
        )
    return fields


def ip_markup(ip: str) -> SafeString:
    """An address that never breaks inside a number: an IPv4 address not at all,
    an IPv6 address only after a colon (``sessionmgr-ip`` turns off breaking
    anywhere; ``<wbr>`` marks where it may)."""
    return format_html(
        '<span class="sessionmgr-ip">{}</span>',
        mark_safe("<wbr>".join(conditional_escape(part) + ":" for part in ip.split(":"))[:-1]),
    )
