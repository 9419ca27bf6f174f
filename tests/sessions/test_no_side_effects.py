"""Installing the app changes nothing a project relies on.

- A view that touches neither the user nor the session costs exactly what it
  costs on stock Django: the same queries, the same headers.
- A failure on the app's own table (injected for real with a trigger) is
  logged, and the login or request goes on as stock Django would serve it.
- A session store that dies during a request fails nothing that stock Django
  would have served.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.views.decorators.cache import cache_control

from django_sessionmgr.models import UserSession
from tests.helpers import clone, failing, logged_in_client, whoami, without_sessionmgr
from tests.revoke.test_every_live_session import own_redis  # noqa: F401 (the fixture)
from tests.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

TABLE = UserSession._meta.db_table


@cache_control(public=True, max_age=60)
def public_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the same for everyone")


stopping: list[Any] = []


def stop_the_store(request: HttpRequest) -> JsonResponse:
    username = request.user.get_username()
    for server in stopping:
        server.stop()
    return JsonResponse({"user": username or None})


urlpatterns = [
    path("public/", public_page),
    path("stop-the-store/", stop_the_store),
    *project_urlpatterns,
]


def served(client: Any, url: str) -> tuple[int, list[str], dict[str, str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    headers = {k: v for k, v in response.headers.items() if k not in ("Date", "Expires")}
    return response.status_code, [q["sql"] for q in queries], headers


def test_an_untouched_session_costs_nothing(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    with without_sessionmgr():
        stock = served(clone(client), "/public/")
    ours = served(clone(client), "/public/")

    assert ours == stock
    assert "Vary" not in ours[2]
    assert ours[1] == []


def test_the_user_is_still_checked_when_read(engine: str, user: Any) -> None:
    client = logged_in_client(user)
    UserSession.objects.all().revoke()
    assert served(client, "/public/")[0] == 200
    assert whoami(client) is None


def test_a_login_goes_on_when_its_row_cannot_be_written(
    engine: str, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with failing(TABLE, "INSERT"), caplog.at_level(logging.WARNING, "django_sessionmgr"):
        client = logged_in_client(user)
        assert whoami(client) == "alice"
    assert not UserSession.objects.exists()
    assert "could not record a login" in caplog.text
    # Once the table answers again, the session is adopted on its next request.
    assert whoami(client) == "alice"
    assert UserSession.objects.filter(user=user).count() == 1


def test_pages_and_logout_go_on_when_activity_cannot_be_written(
    engine: str, user: Any, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 0}
    client = logged_in_client(user)
    with failing(TABLE, "UPDATE"), caplog.at_level(logging.WARNING, "django_sessionmgr"):
        assert whoami(client) == "alice"
        assert client.get("/account/sessions/").status_code == 200
        assert client.get("/api/sessions/").status_code == 200
        assert client.post("/accounts/logout/").status_code in (200, 302)
        assert whoami(client) is None
    assert "could not" in caplog.text


def test_a_store_that_dies_mid_request_fails_nothing_stock_django_serves(
    own_redis: Any,  # noqa: F811
    settings: Any,
    user: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cache engine on a Redis server that is stopped while the view runs.
    Stock Django saves nothing on this request; the app's activity write must
    not make the response fail."""
    settings.SESSIONMGR = {"ACTIVITY_UPDATE_INTERVAL": 0}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
        }
    }
    client = logged_in_client(user)
    stopping.append(own_redis)
    try:
        with caplog.at_level(logging.WARNING, "django_sessionmgr"):
            response = client.get("/stop-the-store/")
    finally:
        stopping.clear()
    assert response.status_code == 200
    assert response.json() == {"user": "alice"}
    assert "could not save" in caplog.text
