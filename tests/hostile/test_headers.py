"""Hostile request headers at the login and list paths.

Huge user agents, garbage and overlong ``X-Forwarded-For``, control characters
and non-UTF-8 bytes: every answer is below 500 and the stored row stays sane
(user agent capped and printable, IP address valid or null).
"""

from __future__ import annotations

import http.client
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from django_sessionmgr.models import UserSession
from tests.helpers import PASSWORD, make_client

pytestmark = pytest.mark.django_db

LIST_PATHS = ["/account/sessions/", "/api/sessions/", "/api/sessions/current/"]
#: What WSGI servers hand Django for raw bytes 0x80-0xff: latin-1 decoded text.
NON_UTF8 = bytes(range(0x80, 0x100)).decode("latin-1")
HUGE_USER_AGENT = "Mozilla/5.0 " + "A" * 100_000
CONTROL_CHARS = "Mozilla/5.0\x00\x01\x1b[31m\x7f\t(evil)"

HOSTILE_USER_AGENTS = [
    HUGE_USER_AGENT,
    CONTROL_CHARS,
    NON_UTF8,
    "\ud800 lone surrogate",
    "",
    " " * 600,
]
HOSTILE_FORWARDED_FOR = [
    "",
    "garbage",
    "999.999.999.999",
    "1.2.3.4, not-an-ip",
    ",,,,,",
    "1.2.3.4:8080",
    "[2001:db8::1]",
    NON_UTF8,
    "\x00127.0.0.1",
    "10.0.0.1, " * 20_000 + "junk",
    "2001:db8::" + "1" * 100_000,
]


def assert_sane(row: UserSession) -> None:
    assert len(row.user_agent) <= 512
    assert row.user_agent.isprintable()
    if row.ip_address is not None:
        ipaddress.ip_address(row.ip_address)
    for value in (row.device_browser, row.device_os, row.device_family):
        assert len(value) <= 64
    assert row.device_type in UserSession.DeviceType.values


def login(client: Any, user: Any) -> Any:
    return client.post("/accounts/login/", {"username": user.get_username(), "password": PASSWORD})


def assert_list_paths_answer(client: Any, **headers: str) -> None:
    for path in LIST_PATHS:
        response = client.get(path, **headers)
        assert response.status_code == 200, (path, response.status_code)


@pytest.mark.parametrize("user_agent", HOSTILE_USER_AGENTS, ids=range(len(HOSTILE_USER_AGENTS)))
def test_hostile_user_agent(user, user_agent):
    client = make_client(user_agent=user_agent)
    assert login(client, user).status_code == 302

    row = UserSession.objects.get(user=user)
    assert row.is_active
    assert_sane(row)
    if user_agent is HUGE_USER_AGENT:
        assert row.user_agent == HUGE_USER_AGENT[:512]
    assert_list_paths_answer(client)


@pytest.mark.parametrize("proxies", [0, 1])
@pytest.mark.parametrize(
    "forwarded_for", HOSTILE_FORWARDED_FOR, ids=range(len(HOSTILE_FORWARDED_FOR))
)
def test_garbage_forwarded_for(settings, user, proxies, forwarded_for):
    settings.SESSIONMGR = {"TRUSTED_PROXY_COUNT": proxies}
    client = make_client(ip="198.51.100.20", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert login(client, user).status_code == 302

    row = UserSession.objects.get(user=user)
    assert_sane(row)
    # Nothing usable in the header: the proxy's own address stands.
    assert row.ip_address == "198.51.100.20"
    assert_list_paths_answer(client, HTTP_X_FORWARDED_FOR=forwarded_for)


def test_forwarded_for_read_only_as_far_as_trusted(settings, user):
    settings.SESSIONMGR = {"TRUSTED_PROXY_COUNT": 1}
    forged = "6.6.6.6, garbage, 203.0.113.50"
    client = make_client(ip="198.51.100.20", HTTP_X_FORWARDED_FOR=forged)
    assert login(client, user).status_code == 302
    assert UserSession.objects.get(user=user).ip_address == "203.0.113.50"


@pytest.mark.parametrize("scoped", ["fe80::1%eth0", "fe80::1%" + "9" * 5_000])
def test_scoped_ipv6_is_stored_without_zone(settings, user, scoped):
    settings.SESSIONMGR = {"TRUSTED_PROXY_COUNT": 1}
    client = make_client(ip="198.51.100.20", HTTP_X_FORWARDED_FOR=scoped)
    assert login(client, user).status_code == 302
    row = UserSession.objects.get(user=user)
    assert_sane(row)
    assert row.ip_address == "fe80::1"
    assert_list_paths_answer(client)


@pytest.mark.parametrize("remote_addr", ["", "unix:", NON_UTF8, "::ffff:999.1.1.1"])
def test_invalid_remote_addr_stores_null(user, remote_addr):
    client = make_client(ip=remote_addr)
    assert login(client, user).status_code == 302
    row = UserSession.objects.get(user=user)
    assert row.ip_address is None
    assert_sane(row)


@pytest.mark.parametrize(
    "cookie",
    [
        "sessionid=" + "x" * 10_000,
        "sessionid=" + NON_UTF8,
        "sessionid=\x00; csrftoken=\xff",
        ";" * 5_000,
    ],
    ids=range(4),
)
def test_garbage_session_cookie_is_anonymous(user, cookie):
    client = make_client()
    for path in LIST_PATHS:
        response = client.get(path, HTTP_COOKIE=cookie)
        assert response.status_code in (302, 401, 403), (path, response.status_code)
    assert not UserSession.objects.exists()


def _raw_request(
    url: str, method: str, path: str, headers: dict[str, bytes], body: bytes = b""
) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def _cookies(headers: http.client.HTTPMessage) -> dict[str, str]:
    cookies = {}
    for header in headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return cookies


@pytest.mark.django_db(transaction=True)
def test_raw_non_utf8_bytes_over_a_socket(live_server, django_user_model):
    """Bytes a real client can send, through a real server: no test client in between."""
    user = django_user_model.objects.create_user("mallory", password=PASSWORD)
    raw_agent = b"Mozilla/5.0 \xff\xfe\x80\xc3\x28 " + b"\xe2" * 2_000
    raw_forwarded = b"\xff\xfe, 1.2.3.4\x85"
    hostile = {"User-Agent": raw_agent, "X-Forwarded-For": raw_forwarded}

    status, headers, body = _raw_request(live_server.url, "GET", "/accounts/login/", hostile)
    assert status == 200
    csrf = _cookies(headers)["csrftoken"]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert token is not None
    form = b"username=mallory&password=" + PASSWORD.replace(" ", "+").encode()
    form += b"&csrfmiddlewaretoken=" + token.group(1)
    status, headers, _ = _raw_request(
        live_server.url,
        "POST",
        "/accounts/login/",
        {
            **hostile,
            "Cookie": f"csrftoken={csrf}".encode(),
            "Content-Type": b"application/x-www-form-urlencoded",
        },
        form,
    )
    assert status == 302
    session_cookie = _cookies(headers)["sessionid"]

    row = UserSession.objects.get(user=user)
    assert_sane(row)
    assert row.ip_address == "127.0.0.1"
    for path in LIST_PATHS:
        status, _, _ = _raw_request(
            live_server.url,
            "GET",
            path,
            {**hostile, "Cookie": f"sessionid={session_cookie}".encode()},
        )
        assert status == 200, path
