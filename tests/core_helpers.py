"""Helpers shared by the core test modules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from django_sessionmgr.checks import MIDDLEWARE_PATH
from django_sessionmgr.tracking import session_row_id

from .conftest import make_client


def current_row_id(client: Client) -> str | None:
    """The public id of the ``UserSession`` the client's session cookie points at."""
    request = HttpRequest()
    request.session = client.session
    return session_row_id(request)


def session_cookie(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def stock_middleware() -> list[str]:
    """The test project's MIDDLEWARE without ours: what stock Django would run."""
    return [path for path in settings.MIDDLEWARE if path != MIDDLEWARE_PATH]


@contextmanager
def without_sessionmgr() -> Iterator[None]:
    """Serve requests made inside (by clients that first request inside) as stock Django."""
    with override_settings(MIDDLEWARE=stock_middleware()):
        yield


def clone(client: Client, **kwargs: Any) -> Client:
    """A new client (with freshly loaded middleware) holding the same cookies."""
    twin = make_client(**kwargs)
    for name, morsel in client.cookies.items():
        twin.cookies[name] = morsel.value
    return twin


def count_queries(client: Client, path: str) -> int:
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)
