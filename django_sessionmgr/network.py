"""Client IP address and location of a request."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .conf import app_settings


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


@lru_cache(maxsize=4)
def _geoip_reader(path: str, city: str | None, country: str | None) -> Any:
    """One GeoIP2 reader per configuration, reused across lookups."""
    from django.contrib.gis.geoip2 import GeoIP2

    return GeoIP2(path, city=city or "", country=country or "")


def locate_ip(ip: str | None) -> tuple[str, str]:
    """``(city, country_code)`` for an IP, or empty strings when unknown.

    Needs ``GEOIP_PATH`` and the ``geoip2`` package; any failure is "unknown".
    """
    path = getattr(settings, "GEOIP_PATH", None)
    if not ip or not path:
        return "", ""
    try:
        reader = _geoip_reader(
            str(path),
            getattr(settings, "GEOIP_CITY", None),
            getattr(settings, "GEOIP_COUNTRY", None),
        )
    except Exception:
        return "", ""
    try:
        city = reader.city(ip)
        return (city.get("city") or "")[:128], (city.get("country_code") or "")[:2]
    except Exception:
        pass
    try:
        country = reader.country(ip)
        return "", (country.get("country_code") or "")[:2]
    except Exception:
        return "", ""
