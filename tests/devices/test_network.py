"""What a login records about where it came from: device, client IP and location.

All of it is read from the login request, whatever the session engine, so
these run on the default engine only (tests/sessions/test_login.py has every
engine record its row).
"""

from __future__ import annotations

from typing import Any

import pytest

from django_sessionmgr.models import UserSession
from tests.helpers import FIREFOX, IPHONE, logged_in_client, whoami

pytestmark = pytest.mark.django_db

IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def login_row(user: Any, **kwargs: Any) -> UserSession:
    client = logged_in_client(user, **kwargs)
    assert whoami(client) == user.get_username()
    return UserSession.objects.get(user=user)


@pytest.mark.parametrize(
    "user_agent, browser, os, device, kind",
    [
        (FIREFOX, "Firefox 128", "Ubuntu", "Other", "desktop"),
        (IPHONE, "Safari 17", "iOS 17.0", "iPhone", "mobile"),
        (PIXEL, "Chrome 126", "Android 14", "Pixel 8", "mobile"),
        (IPAD, "Safari 17", "iPadOS 17.0", "iPad", "tablet"),
        (GOOGLEBOT, "Googlebot 2", "Other", "Spider", "bot"),
        ("curl/8.5.0", "curl 8", "Other", "Other", "other"),
        ("", "", "", "", "other"),
    ],
    ids=["desktop", "iphone", "android", "tablet", "bot", "curl", "empty"],
)
def test_device_is_parsed_once_at_login(
    user: Any, user_agent: str, browser: str, os: str, device: str, kind: str
) -> None:
    row = login_row(user, user_agent=user_agent)

    assert row.user_agent == user_agent
    assert (row.device_browser, row.device_os, row.device_family) == (browser, os, device)
    assert row.device_type == kind
    assert row.device_type in UserSession.DeviceType.values


def test_a_huge_user_agent_is_capped(user: Any) -> None:
    row = login_row(user, user_agent=FIREFOX + " " + "x" * 100_000)

    assert row.user_agent == (FIREFOX + " " + "x" * 1000)[:512]
    assert row.device_browser == "Firefox 128"


def test_control_characters_are_dropped_from_the_user_agent(user: Any) -> None:
    row = login_row(user, user_agent="curl/8.5.0\x00\x1b[31m")

    assert row.user_agent == "curl/8.5.0[31m"


@pytest.mark.parametrize(
    "proxies, forwarded_for, remote_addr, expected",
    [
        (0, "198.51.100.1", "10.0.0.1", "10.0.0.1"),
        (1, "198.51.100.1", "10.0.0.1", "198.51.100.1"),
        (1, "192.0.2.66, 198.51.100.1", "10.0.0.1", "198.51.100.1"),
        (2, "192.0.2.66, 198.51.100.1, 10.0.0.2", "10.0.0.1", "198.51.100.1"),
        (2, "198.51.100.1", "10.0.0.1", "10.0.0.1"),
        (1, "not-an-ip", "10.0.0.1", "10.0.0.1"),
        (1, ",,, ;DROP TABLE", "10.0.0.1", "10.0.0.1"),
        (1, "198.51.100.1:443", "10.0.0.1", "10.0.0.1"),
        (1, "2001:DB8:0:0::2", "10.0.0.1", "2001:db8::2"),
        (0, "", "2001:db8::1", "2001:db8::1"),
        (0, "", "garbage", None),
        (1, "nonsense", "", None),
    ],
    ids=[
        "untrusted-header-ignored",
        "one-proxy",
        "one-proxy-spoofed-left",
        "two-proxies",
        "too-few-entries",
        "garbage",
        "junk-separators",
        "with-port",
        "ipv6-forwarded",
        "ipv6-remote",
        "bad-remote-addr",
        "nothing-usable",
    ],
)
def test_client_ip_honours_trusted_proxy_count(
    user: Any,
    settings: Any,
    proxies: int,
    forwarded_for: str,
    remote_addr: str,
    expected: str | None,
) -> None:
    settings.SESSIONMGR = {"TRUSTED_PROXY_COUNT": proxies}

    row = login_row(user, ip=remote_addr, HTTP_X_FORWARDED_FOR=forwarded_for)

    assert (str(row.ip_address) if row.ip_address else None) == expected


@pytest.mark.parametrize(
    "ip, city, country",
    [
        ("81.2.69.142", "London", "GB"),
        ("89.160.20.112", "Linköping", "SE"),
        ("2.125.160.216", "Boxford", "GB"),
        ("203.0.113.9", "", ""),
        ("127.0.0.1", "", ""),
    ],
)
def test_location_with_geoip(user: Any, settings: Any, ip: str, city: str, country: str) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH

    row = login_row(user, ip=ip)

    assert (row.location_city, row.location_country) == (city, country)


def test_country_only_database(user: Any, settings: Any) -> None:
    settings.GEOIP_PATH = settings.GEOIP_TEST_PATH
    settings.GEOIP_CITY = "missing-city.mmdb"

    row = login_row(user, ip="81.2.69.142")

    assert (row.location_city, row.location_country) == ("", "GB")


def test_no_location_without_geoip(user: Any) -> None:
    row = login_row(user, ip="81.2.69.142")

    assert (row.location_city, row.location_country) == ("", "")


@pytest.mark.parametrize("path", ["/nonexistent/geoip", __file__])
def test_a_broken_geoip_setup_never_breaks_a_login(user: Any, settings: Any, path: str) -> None:
    settings.GEOIP_PATH = path

    row = login_row(user, ip="81.2.69.142")

    assert (row.location_city, row.location_country) == ("", "")
    assert row.is_active


def test_client_hints_sent_with_the_login_name_the_os_and_model(user: Any, other_user: Any) -> None:
    windows = login_row(
        user,
        user_agent=(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
        ),
        headers={"Sec-CH-UA-Platform": '"Windows"', "Sec-CH-UA-Platform-Version": '"15.0.0"'},
    )
    android = login_row(
        other_user,
        user_agent=(
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
        ),
        headers={
            "Sec-CH-UA-Platform": '"Android"',
            "Sec-CH-UA-Platform-Version": '"14.0.0"',
            "Sec-CH-UA-Model": '"Pixel 8"',
        },
    )

    assert windows.device_os == "Windows 11"
    assert (android.device_os, android.device_family) == ("Android 14", "Pixel 8")
