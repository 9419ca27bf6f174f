"""User-agent parsing, done once at login and stored on the row."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from user_agents import parse

#: Longest user agent stored or parsed; real ones are far shorter.
USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True)
class Device:
    browser: str
    os: str
    device: str
    type: str


def _join(family: str, version: str) -> str:
    return f"{family} {version}".strip() if family != "Other" else family


@lru_cache(maxsize=512)
def parse_user_agent(user_agent: str) -> Device:
    """Summarise a user agent as browser, OS, device and one of the device types."""
    user_agent = user_agent[:USER_AGENT_MAX_LENGTH]
    if not user_agent.strip():
        return Device(browser="", os="", device="", type="other")
    ua = parse(user_agent)
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
    browser_version = str(ua.browser.version[0]) if ua.browser.version else ""
    return Device(
        browser=_join(ua.browser.family, browser_version)[:64],
        os=_join(ua.os.family, ua.os.version_string)[:64],
        device=(ua.device.family or "Other")[:64],
        type=kind,
    )
