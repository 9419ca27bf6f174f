"""User-agent parsing, done once at login and stored on the row.

The names are the ones people know their devices by: "iPhone", "iPad",
"macOS", "Windows". Browsers freeze parts of the user agent (every Mac says
"Mac OS X 10.15.7", Windows 11 says "Windows NT 10.0", Chrome on Android says
"Android 10; K"), so a frozen version is never shown. User-Agent Client Hints
(``Sec-CH-UA-Platform``, ``Sec-CH-UA-Platform-Version``, ``Sec-CH-UA-Model``)
give the real one where the browser sent them; see :func:`accept_client_hints`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, wraps
from importlib import import_module
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext

from .models import DEVICE_NAME_MAX_LENGTH, USER_AGENT_MAX_LENGTH, UserSession
from .network import get_client_ip, locate_place, stored_ip

#: The client hints that name the platform's version and the device model.
#: Browsers send ``Sec-CH-UA-Platform`` unasked, these two only when asked.
CLIENT_HINTS = ("Sec-CH-UA-Platform", "Sec-CH-UA-Platform-Version", "Sec-CH-UA-Model")
REQUESTED_CLIENT_HINTS = "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model"

# Mobile builds of a browser are the same browser to the person using them.
_BROWSER_NAMES = {
    "Mobile Safari": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Chrome Mobile WebView": "Android WebView",
}
# Device families that name no device: unknown, a placeholder, or Chrome's
# reduced Android user agent ("Android 10; K").
_NO_DEVICE = {"", "Other", "K", "Generic Smartphone", "Generic Tablet", "Generic Feature Phone"}
_REDUCED_ANDROID = re.compile(r"\(Linux; Android 10; K\)")
_VERSION = re.compile(r"^\d{1,4}(?:\.\d{1,6}){0,3}$")
_MODEL_MAX_LENGTH = 48


@dataclass(frozen=True)
class Device:
    browser: str
    os: str
    device: str
    type: str


def _join(family: str, version: str) -> str:
    return f"{family} {version}".strip() if family != "Other" else family


def _hint_value(value: str) -> str:
    """A structured-header string (``"macOS"``) as plain text; junk becomes ""."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    value = value[: _MODEL_MAX_LENGTH + 1]
    if len(value) > _MODEL_MAX_LENGTH or not value.isprintable():
        return ""
    return value.strip()


def client_hints(meta: Mapping[str, Any]) -> dict[str, str]:
    """The User-Agent Client Hints in a request's ``META``, by header name."""
    hints = {}
    for header in CLIENT_HINTS:
        value = meta.get("HTTP_" + header.upper().replace("-", "_"))
        if isinstance(value, str) and value:
            hints[header] = value
    return hints


def _version_parts(version: str) -> list[int]:
    return [int(part) for part in version.split(".")] if _VERSION.match(version) else []


def _short_version(parts: list[int]) -> str:
    """``[14, 5, 0]`` as "14.5", ``[15, 0, 0]`` as "15"."""
    while len(parts) > 1 and parts[-1] == 0:
        parts = parts[:-1]
    return ".".join(str(part) for part in parts[:2])


def _windows(ua_version: str, hinted: list[int]) -> str:
    if hinted:
        # Microsoft's mapping: platform version 13 and up is Windows 11,
        # 1 to 12 is Windows 10, 0 is anything older.
        if hinted[0] >= 13:
            return "Windows 11"
        if hinted[0] >= 1:
            return "Windows 10"
    # "Windows NT 10.0" is both 10 and 11; older versions are told apart.
    return "Windows" if ua_version in ("", "10") else f"Windows {ua_version}"


def parse_user_agent(user_agent: str, hints: Mapping[str, str] | None = None) -> Device:
    """Summarise a user agent as browser, OS, device and one of the device types.

    ``hints`` are the request's User-Agent Client Hints by header name
    (:func:`client_hints` reads them from ``request.META``); they refine
    the OS version and the Android device model.
    """
    hints = {name.lower(): value for name, value in (hints or {}).items()}
    return _parse(
        user_agent[:USER_AGENT_MAX_LENGTH],
        _hint_value(hints.get("sec-ch-ua-platform", "")),
        _hint_value(hints.get("sec-ch-ua-platform-version", "")),
        _hint_value(hints.get("sec-ch-ua-model", "")),
    )


_warm_up_lock = threading.Lock()
_warm_up_started = False
logger = logging.getLogger("django_sessionmgr")


def warm_up() -> None:
    """Build the user-agent resolver in a background thread, once per process.

    The middleware calls it on a request without a session cookie, the kind
    that shows a login form or logs in, so a worker's first login finds the
    resolver built (and the GeoIP database open); management commands and
    requests of signed-in sessions never load it.
    """
    global _warm_up_started
    if _warm_up_started:
        return
    with _warm_up_lock:
        if _warm_up_started:
            return
        _warm_up_started = True
    threading.Thread(target=_build_resolver, name="sessionmgr-ua-resolver", daemon=True).start()


def _build_resolver() -> None:
    try:
        import_module(".ua_resolver", __package__)  # importing it builds the resolver
    except Exception:
        # The login that needs it tries again, and fails there if it must.
        logger.exception("django-sessionmgr could not build the user-agent resolver")
    locate_place("127.0.0.1")  # opens the GeoIP database, if any, as a login would


@lru_cache(maxsize=512)
def _parse(user_agent: str, platform: str, platform_version: str, model: str) -> Device:
    if not user_agent.strip():
        return Device(browser="", os="", device="", type="other")
    # Deferred: ua-parser's automata and user_agents cost ~200 ms and ~30 MiB
    # a process; only logins need them (built ahead by ``warm_up``).
    from .ua_resolver import classify

    ua = classify(user_agent)
    if ua.is_bot:
        kind = "bot"
    elif ua.is_tablet:
        kind = "tablet"
    elif ua.is_mobile:
        kind = "mobile"
    elif ua.is_pc:
        kind = "desktop"
    else:
        kind = "other"
    browser_family = _BROWSER_NAMES.get(ua.browser.family, ua.browser.family)
    browser_version = str(ua.browser.version[0]) if ua.browser.version else ""
    device = ua.device.family or "Other"
    if device in _NO_DEVICE:
        device = "Other"

    os_family, os_version = ua.os.family, ua.os.version_string
    # A hint counts only where it agrees with the user agent's platform.
    hinted = _version_parts(platform_version)
    if os_family == "Mac OS X":
        os_name = "macOS"
        if platform == "macOS" and hinted:
            os_name = f"macOS {_short_version(hinted)}"
    elif os_family == "Windows":
        os_name = _windows(os_version, hinted if platform == "Windows" else [])
    elif os_family == "Android":
        reduced = bool(_REDUCED_ANDROID.search(user_agent))
        os_name = "Android" if reduced else _join("Android", os_version)
        if platform == "Android":
            if hinted:
                os_name = f"Android {_short_version(hinted[:1])}"
            if model:
                device = model
    elif os_family == "iOS" and device == "iPad" and (_version_parts(os_version) or [0])[0] >= 13:
        os_name = _join("iPadOS", os_version)
    elif os_family == "Chrome OS":
        # The build number in the user agent is frozen too.
        os_name = "ChromeOS"
    else:
        os_name = _join(os_family, os_version)
    return Device(
        browser=_join(browser_family, browser_version)[:DEVICE_NAME_MAX_LENGTH],
        os=os_name[:DEVICE_NAME_MAX_LENGTH],
        device=device[:DEVICE_NAME_MAX_LENGTH],
        type=kind,
    )


def device_fields(request: HttpRequest) -> dict[str, Any]:
    """The row's fields that say where and on what a login happened."""
    meta = getattr(request, "META", None) or {}
    raw = meta.get("HTTP_USER_AGENT", "")
    user_agent = raw if isinstance(raw, str) else ""
    user_agent = user_agent[:USER_AGENT_MAX_LENGTH]
    if not user_agent.isprintable():  # rare: real user agents are printable
        user_agent = "".join(ch for ch in user_agent if ch.isprintable())
    device = parse_user_agent(user_agent, hints=client_hints(meta))
    ip = get_client_ip(request)
    place = locate_place(ip)
    return {
        "ip_address": stored_ip(ip),
        "user_agent": user_agent,
        "device_browser": device.browser,
        "device_os": device.os,
        "device_family": device.device,
        "device_type": device.type,
        "location_city": place.city,
        "location_country": place.country,
        # Where it was last seen, as a point: what impossible travel measures from.
        "last_location_latitude": place.latitude,
        "last_location_longitude": place.longitude,
        "last_located_at": timezone.now() if place.latitude is not None else None,
    }


def login_fields(request: HttpRequest) -> dict[str, Any]:
    """A new row's device fields, and where it was last seen: where it started."""
    fields = device_fields(request)
    fields.update(
        last_ip_address=fields["ip_address"],
        last_location_city=fields["location_city"],
        last_location_country=fields["location_country"],
    )
    return fields


# Device families that name no device a person would know.
_NAMELESS_DEVICES = {"", "Other", "Spider"}


def device_name(session: UserSession) -> str:
    """What a person calls the device: "iPhone", "Pixel 8", "Mac", else the OS ("Windows")."""
    if session.device_type == "bot":
        return session.device_browser or gettext("Bot")
    if session.device_family not in _NAMELESS_DEVICES:
        return session.device_family
    if session.device_os and session.device_os != "Other":
        return session.device_os
    return session.device_browser or gettext("Unknown device")


def session_title(session: UserSession) -> str:
    """What the lists call a session: the name its user gave it, else what it
    is: the device for a browser ("iPhone"), the kind for a token ("API token")."""
    if session.name:
        return session.name
    if session.kind != UserSession.Kind.SESSION:
        return str(session.get_kind_display())
    return device_name(session)


def accept_client_hints(view: Callable[..., Any]) -> Callable[..., Any]:
    """Ask the browser for the client hints that name its OS version and model.

    Decorate the login page's view: browsers that support client hints send
    them with every later request to the site, the login POST included.
    Works on sync and async views.
    """

    def add_header(response: HttpResponseBase) -> HttpResponseBase:
        response.headers.setdefault("Accept-CH", REQUESTED_CLIENT_HINTS)
        return response

    if iscoroutinefunction(view):

        @wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> HttpResponseBase:
            return add_header(await view(*args, **kwargs))

        return async_wrapper

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> HttpResponseBase:
        return add_header(view(*args, **kwargs))

    return wrapper
