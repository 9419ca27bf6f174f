"""The user-agent resolver: ua-parser-rs automata, confirmed by Python's ``re``.

Building it takes about 200 ms and 30 MiB (ua-parser's modules, the
``user_agents`` package, which compiles ua-parser's legacy regexes as it
loads, and the automata), so nothing imports this module at start-up:
``devices`` does on a login's first new user agent, or ``devices.warm_up()``
in a background thread, from a worker's first request without a session
cookie. Importing it builds :data:`RESOLVER`; Python's import lock makes
that happen once per process, however many threads ask at the same time.
"""

from __future__ import annotations

from typing import Any, cast

from ua_parser import BasicResolver, Cache, CachingResolver, Domain, load_lazy_builtins
from ua_parser.core import Matchers, PartialResult, Resolver
from user_agents.parsers import (
    UserAgent,
    parse_browser,
    parse_device,
    parse_operating_system,
)


class _ConfirmedResolver:
    """ua-parser-rs picks the candidate regex; Python's ``re`` confirms it.

    ua-parser-rs reads uap-core's large bounded repetitions (``.{0,100}``)
    as unbounded, so on a long user agent it can match a regex that
    Python's ``re`` does not: Applebot's would become a "Spider". Its own
    answer is therefore only the index of the first regex that may match;
    no earlier one can, since the relaxed regexes match a superset. That
    regex, and where it fails the ones after it, then run in ``re`` exactly
    as ua-parser's pure-Python resolver runs them, so the answers are the
    same, in tens of microseconds instead of most of a millisecond.
    """

    def __init__(self, matchers: Matchers) -> None:
        import ua_parser_rs  # optional: some platforms have no wheel (see ``_resolver``)

        self.matchers = matchers
        agents, systems, devices = matchers
        # Each family is the regex's index, so the match says which one it was.
        self.agents = ua_parser_rs.UserAgentExtractor(
            (m.regex, str(i), None, None, None, None) for i, m in enumerate(agents)
        )
        self.systems = ua_parser_rs.OSExtractor(
            (m.regex, str(i), None, None, None, None) for i, m in enumerate(systems)
        )
        self.devices = ua_parser_rs.DeviceExtractor(
            (m.regex, m.regex_flag, str(i), None, None)
            for i, m in enumerate(cast(list[Any], devices))
        )

    @staticmethod
    def _first(extractor: Any, matchers: list[Any], ua: str) -> Any:
        candidate = extractor.extract(ua)
        if candidate is None:
            return None
        for matcher in matchers[int(candidate.family) :]:
            if found := matcher(ua):
                return found
        return None

    def __call__(self, ua: str, domains: Domain, /) -> PartialResult:
        agents, systems, devices = self.matchers
        return PartialResult(
            domains=domains,
            string=ua,
            user_agent=self._first(self.agents, agents, ua)
            if Domain.USER_AGENT in domains
            else None,
            os=self._first(self.systems, systems, ua) if Domain.OS in domains else None,
            device=self._first(self.devices, devices, ua) if Domain.DEVICE in domains else None,
        )


def _build() -> Resolver:
    # Lazy matchers compile a Python regex only when it confirms a candidate:
    # a few per user agent, rather than all 1,270 up front.
    matchers = load_lazy_builtins()
    try:
        fast: Resolver = _ConfirmedResolver(matchers)
    except ImportError:  # a platform without an ua-parser-rs wheel: slower, same answers
        fast = BasicResolver(matchers)
    return CachingResolver(fast, Cache(512))


#: Built as the module is first imported: once per process.
RESOLVER = _build()


def classify(user_agent: str) -> UserAgent:
    """``user_agents.parse(user_agent)``, with ua-parser 1.x doing the matching.

    ``user_agents`` still decides mobile, tablet, bot and the rest from the
    families and versions; only the regex matching, which took about a
    millisecond per new user agent in ua-parser's legacy pure-Python API,
    moves to :class:`_ConfirmedResolver`. tests/devices/test_ua_classification.py
    checks both routes agree over a table of real user agents.
    """
    result = RESOLVER(user_agent, Domain.ALL).complete().with_defaults()
    browser, os, device = result.user_agent, result.os, result.device
    ua = UserAgent.__new__(UserAgent)
    ua.ua_string = user_agent
    # The legacy parser turns empty matches into None; so do we.
    ua.browser = parse_browser(
        browser.family, browser.major or None, browser.minor or None, browser.patch or None
    )
    ua.os = parse_operating_system(
        os.family, os.major or None, os.minor or None, os.patch or None, os.patch_minor or None
    )
    ua.device = parse_device(device.family, device.brand, device.model)
    return ua
