"""WSGI authenticated request between activity writes, stock vs app, per engine.

Two ``WSGIHandler`` in one process serve the same view (it reads
``request.user``) with the same session cookie: stock Django's middleware,
and the same list plus ``UserSessionMiddleware``. Batches alternate.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from typing import Any

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engines", nargs="+", default=h.ENGINES, choices=h.ENGINES)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--no-layer", action="store_true", help="skip the pass-through row")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="then cProfile this many app requests on the first engine and list the app's share",
    )
    parser.add_argument(
        "--policies",
        action="store_true",
        help="with MAX_SESSIONS, IDLE_TIMEOUT and ABSOLUTE_TIMEOUT on",
    )


def run(options: Any) -> None:
    policies = {"MAX_SESSIONS": 5, "IDLE_TIMEOUT": 7200, "ABSOLUTE_TIMEOUT": 86400}
    vendor = h.setup(
        options.database,
        SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 3600, **(policies if options.policies else {})},
    )
    from django.test.utils import override_settings

    h.create_user("alice")
    print(f"{h.about(vendor)}; {options.batches} batches of {options.per_batch} requests")
    h.header("WSGI request", "stock µs", "app µs", "app/stock", "queries (stock → app)")
    for engine in options.engines:
        with override_settings(SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"):
            stock, app = h.WSGISite(h.STOCK_MIDDLEWARE), h.WSGISite(h.APP_MIDDLEWARE)
            cookie = app.login("alice")
            for site in (stock, app, stock, app):  # warm caches and statement caches
                for _ in range(50):
                    site.call("GET", "/page/", cookie)
            with h.stock(), h.counting_queries() as stock_q:
                stock.call("GET", "/page/", cookie)
            with h.counting_queries() as app_q:
                app.call("GET", "/page/", cookie)
            result = h.paired(
                lambda i: stock.call("GET", "/page/", cookie),  # noqa: B023
                lambda i: app.call("GET", "/page/", cookie),  # noqa: B023
                options.batches,
                options.per_batch,
            )
        h.row(
            f"{engine}{', policies on' if options.policies else ''}",
            f"{result.stock_ms * 1000:.0f}",
            f"{result.app_ms * 1000:.0f}",
            result.spread(),
            f"{len(stock_q)} → {len(app_q)}",
        )
    if options.profile:
        _profile(options.engines[0], options.profile)
    if not options.no_layer:  # for scale: what any one more middleware costs
        stock = h.WSGISite(h.STOCK_MIDDLEWARE)
        layered = h.WSGISite([*h.STOCK_MIDDLEWARE, f"{__name__}.pass_through"])
        cookie = h.WSGISite(h.APP_MIDDLEWARE).login("alice")
        result = h.paired(
            lambda i: stock.call("GET", "/page/", cookie),
            lambda i: layered.call("GET", "/page/", cookie),
            options.batches,
            options.per_batch,
        )
        h.row(
            "db, a pass-through middleware instead of the app's",
            f"{result.stock_ms * 1000:.0f}",
            f"{result.app_ms * 1000:.0f}",
            result.spread(),
            "",
        )


def pass_through(get_response: Any) -> Any:
    def middleware(request: Any) -> Any:
        return get_response(request)

    return middleware


def _profile(engine: str, requests: int) -> None:
    """The app's own functions over ``requests`` authenticated requests, and the share of
    the ones the request would run without the app (cProfile's overhead included)."""
    from django.test.utils import override_settings

    with override_settings(SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"):
        app = h.WSGISite(h.APP_MIDDLEWARE)
        cookie = app.login("alice")
        for _ in range(100):
            app.call("GET", "/page/", cookie)
        profile = cProfile.Profile()
        profile.runcall(lambda: [app.call("GET", "/page/", cookie) for _ in range(requests)])
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = max(value[3] for value in stats.values())
    print(
        f"\n{engine}: the app's own functions, µs per request under cProfile "
        f"({requests} requests; a whole request: {total * 1e6 / requests:.0f} µs; "
        "nested calls count in their callers too)\n"
    )
    h.header("function", "cumulative µs", "own µs", "calls per request")
    ours = sorted(
        (
            (value[3], value[2], value[1], name, path)
            for (path, _, name), value in stats.items()
            if "django_sessionmgr" in path
        ),
        reverse=True,
    )
    for cumulative, own, calls, name, path in ours[:15]:
        h.row(
            f"`{path.rsplit('django_sessionmgr/', 1)[-1]}:{name}`",
            f"{cumulative * 1e6 / requests:.1f}",
            f"{own * 1e6 / requests:.1f}",
            f"{calls / requests:g}",
        )
