"""The fast route to ``user_agents``' classification gives the same answers.

``ua_resolver.classify`` feeds ``user_agents``' UserAgent from ua-parser 1.x's
compiled resolver instead of its legacy pure-Python regexes. Over a table of
real user agents (desktop, phone, tablet, bots, Chrome's reduced Android UA,
iPadOS) it must agree with plain ``user_agents.parse`` on every field the
app reads, and so must the stored device names.
"""

from __future__ import annotations

import pytest
import ua_parser
import user_agents
from ua_parser import Domain

from django_sessionmgr import devices, ua_resolver
from tests.devices.test_names import USER_AGENTS as NAMED_USER_AGENTS

# (id, user agent): real strings as browsers, apps and crawlers send them.
MORE_USER_AGENTS = [
    # Desktop
    (
        "linux-chrome",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        "ubuntu-firefox",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        "fedora-firefox",
        "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    ),
    (
        "chromeos",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        "windows-vivaldi",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Vivaldi/6.8.3381.48",
    ),
    (
        "windows-ie11",
        "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    ),
    (
        "windows-xp-firefox",
        "Mozilla/5.0 (Windows NT 5.1; rv:52.0) Gecko/20100101 Firefox/52.0",
    ),
    (
        "mac-edge",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
    ),
    (
        "mac-safari-16",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.6 Safari/605.1.15",
    ),
    (
        "windows-yandex",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 YaBrowser/24.6.0.0 Safari/537.36",
    ),
    # Phones
    (
        "iphone-safari",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        "iphone-chrome",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
    ),
    (
        "iphone-firefox",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
    ),
    (
        "iphone-facebook-app",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/21E219 [FBAN/FBIOS;FBAV/466.0.0.39.106;FBBV/600429410]",
    ),
    (
        "android-reduced-chrome",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36",
    ),
    (
        "android-reduced-edge",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36 EdgA/126.0.2592.80",
    ),
    (
        "android-reduced-webview",
        "Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36",
    ),
    (
        "android-samsung-browser",
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    ),
    (
        "android-pixel-old",
        "Mozilla/5.0 (Linux; Android 9; Pixel 3) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/88.0.4324.93 Mobile Safari/537.36",
    ),
    (
        "android-firefox",
        "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
    ),
    (
        "android-opera",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.0.0 Mobile Safari/537.36 OPR/83.0.0.0",
    ),
    (
        "android-xiaomi-miui",
        "Mozilla/5.0 (Linux; U; Android 13; zh-cn; 2211133C Build/TKQ1.220905.001) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/109.0.5414.118 "
        "Mobile Safari/537.36 XiaoMi/MiuiBrowser/18.0.50718",
    ),
    (
        "windows-phone",
        "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; "
        "rv:11.0; IEMobile/11.0; NOKIA; Lumia 930) like iPhone OS 7_0_3 Mac OS X "
        "AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537",
    ),
    (
        "blackberry",
        "Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ "
        "(KHTML, like Gecko) Version/7.1.0.346 Mobile Safari/534.11+",
    ),
    (
        "kaios",
        "Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i; rv:48.0) "
        "Gecko/48.0 Firefox/48.0 KAIOS/2.5",
    ),
    # Tablets
    (
        "ipad-old-ua",
        "Mozilla/5.0 (iPad; CPU OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
    ),
    (
        "ipados-17",
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        "ipados-chrome",
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
    ),
    (
        "ipados-desktop-mode",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    ),
    (
        "android-tablet-samsung",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        "android-tablet-reduced",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        "kindle-fire",
        "Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Silk/126.4.3 like Chrome/126.0.6478.71 Safari/537.36",
    ),
    (
        "surface-rt",
        "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; ARM; Trident/6.0; Touch)",
    ),
    # Bots and tools
    (
        "googlebot",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ),
    (
        "googlebot-smartphone",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ),
    (
        "bingbot",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    ),
    (
        "applebot",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; "
        "+http://www.apple.com/go/applebot)",
    ),
    ("duckduckbot", "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)"),
    (
        "gptbot",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)",
    ),
    (
        "facebook-crawler",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    ),
    ("slackbot", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
    (
        "headless-chrome",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/126.0.6478.126 Safari/537.36",
    ),
    ("wget", "Wget/1.21.4"),
    ("httpie", "HTTPie/3.2.2"),
    ("okhttp", "okhttp/4.12.0"),
    ("junk", "not a browser at all ;;; ()"),
]

ALL_USER_AGENTS = [(row[0], row[1]) for row in NAMED_USER_AGENTS] + MORE_USER_AGENTS

#: What the app reads from ``user_agents``, and what projects may read too.
CLASSIFICATION = (
    "is_mobile",
    "is_tablet",
    "is_pc",
    "is_bot",
    "is_touch_capable",
    "is_email_client",
)


def test_the_table_is_large_and_varied() -> None:
    assert len({ua for _, ua in ALL_USER_AGENTS}) >= 50
    kinds = {devices.parse_user_agent(ua).type for _, ua in ALL_USER_AGENTS}
    assert kinds == {"desktop", "mobile", "tablet", "bot", "other"}


def test_the_compiled_resolver_is_the_one_in_use() -> None:
    # ``ua-parser[regex]`` is a dependency: without it the fast route would
    # quietly fall back to pure-Python matching.
    resolver = ua_resolver.RESOLVER
    assert isinstance(resolver, ua_parser.CachingResolver)
    assert isinstance(resolver.parser, ua_resolver._ConfirmedResolver)


def test_a_relaxed_match_is_confirmed_or_passed_over() -> None:
    # ua-parser-rs alone calls Applebot's device a "Spider" (it reads
    # ``^.{0,100}(bot|...)`` as unbounded); the confirmed route does not.
    applebot = dict(MORE_USER_AGENTS)["applebot"]
    relaxed = ua_parser.RegexResolver(ua_parser.load_builtins())(applebot, Domain.DEVICE)
    assert relaxed.device is not None
    assert relaxed.device.family == "Spider"
    assert ua_resolver.classify(applebot).device.family == "Mac"


@pytest.mark.parametrize(
    "user_agent", [ua for _, ua in ALL_USER_AGENTS], ids=[id_ for id_, _ in ALL_USER_AGENTS]
)
def test_same_classification_as_user_agents_parse(user_agent: str) -> None:
    fast = ua_resolver.classify(user_agent)
    plain = user_agents.parse(user_agent)
    assert (fast.browser, fast.os, fast.device) == (plain.browser, plain.os, plain.device)
    for name in CLASSIFICATION:
        assert getattr(fast, name) == getattr(plain, name), name
    assert str(fast) == str(plain)


def test_same_matching_as_the_legacy_api() -> None:
    # The families come from the same regexes, not only the same verdicts.
    from ua_parser import user_agent_parser

    resolver = ua_resolver.RESOLVER
    for _, user_agent in ALL_USER_AGENTS:
        legacy = user_agent_parser.Parse(user_agent)
        fast = resolver(user_agent, Domain.ALL).complete().with_defaults()
        assert fast.user_agent.family == legacy["user_agent"]["family"]
        assert fast.os.family == legacy["os"]["family"]
        assert fast.device.family == legacy["device"]["family"]
