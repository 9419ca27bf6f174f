"""Device names people recognise, over a table of real user agents.

Each row is a user agent as the browser sends it, and what the sessions page
and the JSON then say. Client hints refine the frozen parts where they agree
with the user agent, and never invent a version where they are missing.
"""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from django_sessionmgr.devices import (
    Device,
    accept_client_hints,
    client_hints,
    parse_user_agent,
)

MAC_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
WIN_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
ANDROID_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)
# Safari on iPadOS 13+ asks for the desktop site and sends a Mac user agent.
IPADOS_DESKTOP = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)

# (id, user agent, browser, os, device, type)
USER_AGENTS = [
    ("mac-chrome", MAC_CHROME, "Chrome 126", "macOS", "Mac", "desktop"),
    ("mac-safari", IPADOS_DESKTOP, "Safari 17", "macOS", "Mac", "desktop"),
    (
        "mac-firefox",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Firefox 128",
        "macOS",
        "Mac",
        "desktop",
    ),
    (
        "mac-firefox-real-version",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Firefox 127",
        "macOS",
        "Mac",
        "desktop",
    ),
    ("windows-chrome", WIN_CHROME, "Chrome 126", "Windows", "Other", "desktop"),
    (
        "windows-edge",
        WIN_CHROME + " Edg/126.0.2592.87",
        "Edge 126",
        "Windows",
        "Other",
        "desktop",
    ),
    ("windows-opera", WIN_CHROME + " OPR/112.0.0.0", "Opera 112", "Windows", "Other", "desktop"),
    (
        "windows-firefox",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Firefox 128",
        "Windows",
        "Other",
        "desktop",
    ),
    (
        "windows-7",
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0",
        "Firefox 115",
        "Windows 7",
        "Other",
        "desktop",
    ),
    (
        "windows-8.1",
        "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
        "Chrome 109",
        "Windows 8.1",
        "Other",
        "desktop",
    ),
    (
        "ubuntu-firefox",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Firefox 128",
        "Ubuntu",
        "Other",
        "desktop",
    ),
    (
        "fedora-firefox",
        "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Firefox 128",
        "Fedora",
        "Other",
        "desktop",
    ),
    (
        "linux-chrome",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Chrome 126",
        "Linux",
        "Other",
        "desktop",
    ),
    (
        "chromebook",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Chrome 126",
        "ChromeOS",
        "Other",
        "desktop",
    ),
    (
        "iphone-safari",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari 17",
        "iOS 17.5",
        "iPhone",
        "mobile",
    ),
    (
        "iphone-chrome",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        "Chrome 126",
        "iOS 17.5",
        "iPhone",
        "mobile",
    ),
    (
        "iphone-firefox",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
        "Firefox 127",
        "iOS 17.5",
        "iPhone",
        "mobile",
    ),
    (
        "ipad-safari",
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari 17",
        "iPadOS 17.5",
        "iPad",
        "tablet",
    ),
    (
        "ipad-ios-12",
        "Mozilla/5.0 (iPad; CPU OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
        "Safari 12",
        "iOS 12.5.7",
        "iPad",
        "tablet",
    ),
    (
        "android-reduced",
        ANDROID_REDUCED,
        "Chrome 126",
        "Android",
        "Other",
        "mobile",
    ),
    (
        "android-reduced-tablet",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Chrome 126",
        "Android",
        "Other",
        "tablet",
    ),
    (
        "android-edge-reduced",
        ANDROID_REDUCED + " EdgA/126.0.2592.80",
        "Edge 126",
        "Android",
        "Other",
        "mobile",
    ),
    (
        "android-pixel",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
        "Chrome 126",
        "Android 14",
        "Pixel 8",
        "mobile",
    ),
    (
        "android-samsung-internet",
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        "Samsung Internet 25",
        "Android 14",
        "Samsung SM-S918B",
        "mobile",
    ),
    (
        "android-firefox",
        "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0",
        "Firefox 128",
        "Android 14",
        "Other",
        "mobile",
    ),
    (
        "android-webview",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240705.005; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 "
        "Mobile Safari/537.36",
        "Android WebView 126",
        "Android 14",
        "Pixel 8",
        "mobile",
    ),
    (
        "android-tablet",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Chrome 126",
        "Android 13",
        "SM-X710",
        "tablet",
    ),
    (
        "kindle-fire",
        "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Silk/126.3.1 like Chrome/126.0.6478.126 Safari/537.36",
        "Amazon Silk 126",
        "Android 9",
        "Kindle",
        "tablet",
    ),
    (
        "windows-phone",
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 "
        "Edge/15.15063",
        "Edge 15",
        "Windows Phone 10.0",
        "Lumia 950",
        "mobile",
    ),
    (
        "googlebot",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Googlebot 2",
        "Other",
        "Spider",
        "bot",
    ),
    (
        "bingbot",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "bingbot 2",
        "Other",
        "Spider",
        "bot",
    ),
    (
        "facebook-preview",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "FacebookBot 1",
        "Other",
        "Spider",
        "bot",
    ),
    ("curl", "curl/8.5.0", "curl 8", "Other", "Other", "other"),
    ("python-requests", "python-requests/2.32.3", "Python Requests 2", "Other", "Other", "other"),
    ("empty", "", "", "", "", "other"),
]


@pytest.mark.parametrize(
    ("user_agent", "browser", "os", "device", "kind"),
    [row[1:] for row in USER_AGENTS],
    ids=[row[0] for row in USER_AGENTS],
)
def test_names_without_client_hints(
    user_agent: str, browser: str, os: str, device: str, kind: str
) -> None:
    assert parse_user_agent(user_agent) == Device(browser, os, device, kind)
    assert parse_user_agent(user_agent, hints={}) == Device(browser, os, device, kind)


def test_the_table_is_big_and_varied() -> None:
    kinds = {row[5] for row in USER_AGENTS}

    assert len(USER_AGENTS) >= 30
    assert kinds == {"desktop", "mobile", "tablet", "bot", "other"}


def hints(platform: str, version: str | None = None, model: str | None = None) -> dict[str, str]:
    """Client hints as the browser sends them: structured-header strings."""
    sent = {"Sec-CH-UA-Platform": f'"{platform}"'}
    if version is not None:
        sent["Sec-CH-UA-Platform-Version"] = f'"{version}"'
    if model is not None:
        sent["Sec-CH-UA-Model"] = f'"{model}"'
    return sent


@pytest.mark.parametrize(
    ("user_agent", "sent", "os", "device"),
    [
        (MAC_CHROME, hints("macOS", "14.5.0"), "macOS 14.5", "Mac"),
        (MAC_CHROME, hints("macOS", "15.0.0"), "macOS 15", "Mac"),
        (MAC_CHROME, hints("macOS", "10.15.7"), "macOS 10.15", "Mac"),
        (MAC_CHROME, hints("macOS"), "macOS", "Mac"),
        (WIN_CHROME, hints("Windows", "15.0.0"), "Windows 11", "Other"),
        (WIN_CHROME, hints("Windows", "13.0.0"), "Windows 11", "Other"),
        (WIN_CHROME, hints("Windows", "10.0.0"), "Windows 10", "Other"),
        (WIN_CHROME, hints("Windows", "1.0.0"), "Windows 10", "Other"),
        (WIN_CHROME, hints("Windows", "0.3.0"), "Windows", "Other"),
        (WIN_CHROME, hints("Windows"), "Windows", "Other"),
        (ANDROID_REDUCED, hints("Android", "14.0.0", "Pixel 8"), "Android 14", "Pixel 8"),
        (ANDROID_REDUCED, hints("Android", "14.0.0", ""), "Android 14", "Other"),
        (ANDROID_REDUCED, hints("Android", None, "SM-S918B"), "Android", "SM-S918B"),
        (ANDROID_REDUCED, hints("Android"), "Android", "Other"),
    ],
    ids=[
        "macos-14.5",
        "macos-15",
        "macos-catalina",
        "macos-unversioned",
        "windows-11",
        "windows-11-first",
        "windows-10",
        "windows-10-first",
        "windows-older",
        "windows-unversioned",
        "android-model",
        "android-no-model",
        "android-model-only",
        "android-platform-only",
    ],
)
def test_client_hints_name_the_version_and_model(
    user_agent: str, sent: dict[str, str], os: str, device: str
) -> None:
    parsed = parse_user_agent(user_agent, hints=sent)

    assert (parsed.os, parsed.device) == (os, device)
    # The browser and the type still come from the user agent.
    plain = parse_user_agent(user_agent)
    assert (parsed.browser, parsed.type) == (plain.browser, plain.type)


@pytest.mark.parametrize(
    "sent",
    [
        hints("Windows", "15.0.0"),  # another platform than the user agent's
        hints("macOS", "15.0.0; DROP TABLE"),
        hints("macOS", "99999999999.0"),
        hints("macOS", ""),
        {"Sec-CH-UA-Platform": "macOS", "Sec-CH-UA-Platform-Version": "fifteen"},
        {"Sec-CH-UA-Platform-Version": '"15.0.0"'},  # no platform
    ],
    ids=["other-platform", "junk", "too-long", "empty", "not-a-version", "no-platform"],
)
def test_hints_that_do_not_fit_are_ignored(sent: dict[str, str]) -> None:
    assert parse_user_agent(MAC_CHROME, hints=sent) == parse_user_agent(MAC_CHROME)


@pytest.mark.parametrize(
    "model",
    ["x" * 49, "Pixel\x008", "Pixel\n8"],
    ids=["too-long", "nul", "newline"],
)
def test_a_hostile_model_hint_is_dropped(model: str) -> None:
    parsed = parse_user_agent(ANDROID_REDUCED, hints=hints("Android", "14.0.0", model))

    assert (parsed.os, parsed.device) == ("Android 14", "Other")


def test_hint_names_are_case_insensitive_and_unquoted() -> None:
    sent = {
        "sec-ch-ua-platform": '"Android"',
        "SEC-CH-UA-MODEL": '"Galaxy \\"S24\\""',
    }

    assert parse_user_agent(ANDROID_REDUCED, hints=sent).device == 'Galaxy "S24"'


def test_ipados_desktop_mode_reads_as_a_mac() -> None:
    # iPadOS Safari sends no client hints and a Mac user agent: nothing tells
    # it apart, and "macOS" is at least not false about the browser.
    assert parse_user_agent(IPADOS_DESKTOP).os == "macOS"


def test_client_hints_are_read_from_the_request() -> None:
    request = RequestFactory().get(
        "/",
        headers={
            "Sec-CH-UA-Platform": '"Android"',
            "Sec-CH-UA-Platform-Version": '"14.0.0"',
            "Sec-CH-UA-Model": '"Pixel 8"',
            "Sec-CH-UA-Mobile": "?1",
        },
    )

    found = client_hints(request.META)

    assert found == {
        "Sec-CH-UA-Platform": '"Android"',
        "Sec-CH-UA-Platform-Version": '"14.0.0"',
        "Sec-CH-UA-Model": '"Pixel 8"',
    }
    assert parse_user_agent(ANDROID_REDUCED, hints=found).device == "Pixel 8"
    assert client_hints(RequestFactory().get("/").META) == {}


def test_accept_client_hints_on_a_sync_view() -> None:
    @accept_client_hints
    def login_page(request: HttpRequest) -> HttpResponse:
        return HttpResponse("sign in")

    response = login_page(RequestFactory().get("/"))

    assert response["Accept-CH"] == "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model"
    assert login_page.__name__ == "login_page"


async def test_accept_client_hints_on_an_async_view() -> None:
    @accept_client_hints
    async def login_page(request: HttpRequest) -> HttpResponse:
        return HttpResponse("sign in")

    response = await login_page(RequestFactory().get("/"))

    assert response["Accept-CH"] == "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model"


def test_a_views_own_accept_ch_is_kept() -> None:
    @accept_client_hints
    def login_page(request: HttpRequest) -> HttpResponse:
        return HttpResponse("sign in", headers={"Accept-CH": "Sec-CH-UA-Arch"})

    assert login_page(RequestFactory().get("/"))["Accept-CH"] == "Sec-CH-UA-Arch"
