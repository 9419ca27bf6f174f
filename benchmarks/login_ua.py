"""Login with a user agent never seen before: stock Django against the app.

One process, a SQLite file database (or ``--database postgres://...``), the
``db`` session engine and the MD5 password hasher, so the app's share shows.
A view calls ``django.contrib.auth.login`` behind two WSGI handlers: stock
Django's middleware with the app's receivers disconnected, and the app's.
Every login sends a user agent no cache has seen (a real one with a unique
build number appended). Batches alternate, stock-app then app-stock, and the
figure is the median of the per-batch ratios with its interquartile spread.
Then a profile of the app's logins says where its share goes: the user-agent
parsing, GeoIP (the test databases in tests/data/geoip), the INSERT, and the
rest of the receiver.

    python -m benchmarks login_ua [--batches 30] [--per-batch 20] [--legacy-ua]

``--legacy-ua`` parses user agents as before (``user_agents.parse`` on
ua-parser's pure-Python legacy API), for the "before" figure.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import counting_queries, paired, setup_django

STOCK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
APP_MIDDLEWARE = [*STOCK_MIDDLEWARE, "django_sessionmgr.middleware.UserSessionMiddleware"]


def sign_in(request: Any) -> Any:
    from django.contrib.auth import get_user_model, login
    from django.http import JsonResponse

    user = get_user_model().objects.get(username="subject")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"user": user.get_username()})


def _urls() -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("login/", csrf_exempt(sign_in))]


urlpatterns: list[Any] = []


def user_agents() -> list[str]:
    from tests.test_ua_classification import ALL_USER_AGENTS

    return [ua for _, ua in ALL_USER_AGENTS if ua]


class Site:
    def __init__(self, middleware: list[str]) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.test.utils import override_settings

        with override_settings(MIDDLEWARE=middleware):
            self.handler = WSGIHandler()

    def login(self, user_agent: str) -> None:
        seen: dict[str, str] = {}

        def start_response(status: str, headers: Any, exc: Any = None) -> None:
            seen["status"] = status

        body = self.handler(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/login/",
                "QUERY_STRING": "",
                "SERVER_NAME": "testserver",
                "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "81.2.69.160",  # in the GeoIP test databases (London)
                "HTTP_USER_AGENT": user_agent,
                "wsgi.url_scheme": "http",
                "wsgi.input": BytesIO(b""),
                "wsgi.errors": sys.stderr,
            },
            start_response,
        )
        b"".join(body)
        body.close()
        assert seen["status"].startswith("200"), seen["status"]


@contextmanager
def receivers_disconnected() -> Iterator[None]:
    from django.contrib.auth.signals import user_logged_in, user_logged_out

    from django_sessionmgr import receivers

    user_logged_in.disconnect(dispatch_uid="django_sessionmgr.record_login")
    user_logged_out.disconnect(dispatch_uid="django_sessionmgr.record_logout")
    try:
        yield
    finally:
        receivers.connect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--per-batch", type=int, default=20)
    parser.add_argument("--database", help="a postgres:// URL (default: a fresh SQLite file)")
    parser.add_argument("--legacy-ua", action="store_true")
    options = parser.parse_args()

    vendor = setup_django(options.database)
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from django_sessionmgr import devices

    urlpatterns[:] = _urls()
    settings.ROOT_URLCONF = __name__
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.GEOIP_PATH = str(Path(__file__).resolve().parent.parent / "tests/data/geoip")
    if options.legacy_ua:
        import user_agents as plain

        devices.classify = plain.parse  # type: ignore[assignment]
    get_user_model().objects.create_user("subject", password="bench")

    agents = user_agents()
    stock, app = Site(STOCK_MIDDLEWARE), Site(APP_MIDDLEWARE)

    def new_agent(i: int) -> str:
        return f"{agents[i % len(agents)]} build/{i}"

    def stock_login(i: int) -> None:
        with receivers_disconnected():
            stock.login(new_agent(i))

    def app_login(i: int) -> None:
        app.login(new_agent(i))

    for i in range(20):  # warm up: imports, regex compilation, statement caches
        stock_login(10**8 + i)
        app_login(10**8 + 100 + i)
    with counting_queries() as stock_q:
        stock_login(10**8 + 500)
    with counting_queries() as app_q:
        app_login(10**8 + 501)

    result = paired(stock_login, app_login, options.batches, options.per_batch)
    route = "user_agents.parse (legacy)" if options.legacy_ua else "devices.classify (ua-parser-rs)"
    print(f"login with a new user agent, {vendor}, db engine, MD5 hasher; UA route: {route}")
    print(
        f"  stock {result.stock_ms:.3f} ms ({len(stock_q)} queries)   "
        f"app {result.app_ms:.3f} ms ({len(app_q)} queries)   "
        f"added {result.added_ms:+.3f} ms   ratio {result.ratio:.3f} "
        f"(IQR {result.ratio_iqr[0]:.3f}-{result.ratio_iqr[1]:.3f}), "
        f"{options.batches} batches of {options.per_batch}"
    )

    # The parsing alone, without the profiler's overhead.
    import statistics
    import time

    samples = []
    for round_ in range(7):
        fresh = [f"{ua} parse/{round_}.{i}" for i, ua in enumerate(agents)]
        began = time.perf_counter()
        for ua in fresh:
            devices.parse_user_agent(ua)
        samples.append((time.perf_counter() - began) / len(fresh) * 1e6)
    print(
        f"  devices.parse_user_agent alone: {statistics.median(samples):.1f} µs per never-seen "
        f"user agent (mean over {len(agents)} real ones, median of 7 rounds)"
    )

    # Where the app's share goes.
    count = 300
    profile = cProfile.Profile()
    profile.enable()
    for i in range(count):
        app_login(2 * 10**8 + i)
    profile.disable()
    stats = pstats.Stats(profile)
    parts = {
        "record_login receiver (all the app does at login)": ("receivers.py", "record_login"),
        "  the new row (tracking._create_row)": ("tracking.py", "_create_row"),
        "    its device fields (tracking._device_fields)": ("tracking.py", "_device_fields"),
        "      user-agent parsing (devices.parse_user_agent)": ("devices.py", "parse_user_agent"),
        "      GeoIP (network.locate_ip)": ("network.py", "locate_ip"),
        "    the INSERT (QuerySet.create)": ("query.py", "create"),
        "  the session's key before the row (tracking._ensure_key)": ("tracking.py", "_ensure_key"),
    }
    print(f"  profile of {count} app logins (profiler overhead included), ms per login:")
    for label, (filename, function) in parts.items():
        total = sum(
            value[3]
            for (path, _, name), value in stats.stats.items()  # type: ignore[attr-defined]
            if path.endswith(filename) and name == function
        )
        print(f"    {label:<60} {total * 1000 / count:7.3f}")


if __name__ == "__main__":
    main()
