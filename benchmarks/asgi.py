"""ASGI authenticated request (AsyncClient, ``await request.auser()``), stock vs app.

Two ``AsyncClient`` in one process, each with its own middleware chain (loaded
on its first request), serve an async view that awaits ``request.auser()``
with the same session cookie, between activity writes. Batches alternate on
one event loop. Queries are counted on a request run from this thread, where
the handler's ``sync_to_async`` calls land.
"""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks import harness as h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engines", nargs="+", default=["db", "cache", "signed_cookies"], choices=h.ENGINES
    )
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--per-batch", type=int, default=100)


def run(options: Any) -> None:
    vendor = h.setup(options.database)
    from asgiref.sync import async_to_sync
    from django.conf import settings
    from django.test import AsyncClient
    from django.test.utils import override_settings

    h.create_user("alice")
    print(f"{h.about(vendor)}; {options.batches} batches of {options.per_batch} requests")
    h.header("ASGI request", "stock µs", "app µs", "app/stock", "queries (stock → app)")
    for engine in options.engines:
        with override_settings(SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"):
            stock, app = AsyncClient(), AsyncClient()
            cookie = h.WSGISite(h.APP_MIDDLEWARE).login("alice")
            for client, middleware in ((stock, h.STOCK_MIDDLEWARE), (app, h.APP_MIDDLEWARE)):
                client.cookies[settings.SESSION_COOKIE_NAME] = cookie
                with override_settings(MIDDLEWARE=middleware):
                    async_to_sync(client.get)("/async-page/")  # loads its middleware chain

            async def stock_get(i: int, client: Any = stock) -> None:
                assert (await client.get("/async-page/")).content == b"alice"

            async def app_get(i: int, client: Any = app) -> None:
                assert (await client.get("/async-page/")).content == b"alice"

            h.paired(stock_get, app_get, 2, 50)  # warm up
            with h.stock(), h.counting_queries() as stock_q:
                async_to_sync(stock_get)(0)
            with h.counting_queries() as app_q:
                async_to_sync(app_get)(0)
            result = h.paired(stock_get, app_get, options.batches, options.per_batch)
        h.row(
            engine,
            f"{result.stock_ms * 1000:.0f}",
            f"{result.app_ms * 1000:.0f}",
            result.spread(),
            f"{len(stock_q)} → {len(app_q)}",
        )
