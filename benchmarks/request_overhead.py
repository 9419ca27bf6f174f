"""What UserSessionMiddleware costs per request, side by side with stock Django.

Run from a checkout: ``python benchmarks/request_overhead.py [--rounds N] [--requests N]``.

One process, a SQLite file database, the same view (it reads ``request.user``)
served by two WSGI handlers: stock Django (the MIDDLEWARE below) and the same
list plus ``UserSessionMiddleware``. Requests alternate (stock, app, app,
stock, ...) and each figure is the median over rounds of the per-round
medians. Requests are measured between activity writes
(``ACTIVITY_UPDATE_INTERVAL`` is an hour), which is what nearly every request
is; the activity write itself is shown separately, and so is the middleware's
own time (called directly on a request whose session is already loaded, as
the view would load it anyway). Logins are timed with the app's receivers
connected and, for stock, disconnected.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

import django
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORKDIR = Path(tempfile.mkdtemp(prefix="sessionmgr-bench-"))
STOCK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
APP_MIDDLEWARE = [*STOCK_MIDDLEWARE, "django_sessionmgr.middleware.UserSessionMiddleware"]
ENGINES = ["db", "cached_db", "cache", "file", "signed_cookies"]
USER_AGENT = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

settings.configure(
    DEBUG=False,
    SECRET_KEY="benchmark-only",
    ALLOWED_HOSTS=["*"],
    USE_TZ=True,
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django_sessionmgr",
    ],
    MIDDLEWARE=APP_MIDDLEWARE,
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(WORKDIR / "db.sqlite3"),
            "CONN_MAX_AGE": None,
            # SQLite as served in production: WAL, no fsync per commit (Django 5.1+).
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
            if django.VERSION >= (5, 1)
            else {},
        }
    },
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    SESSION_FILE_PATH=str(WORKDIR),
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 3600},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
)
django.setup()

from django.contrib.auth import SESSION_KEY, get_user_model, login  # noqa: E402
from django.contrib.auth.signals import user_logged_in, user_logged_out  # noqa: E402
from django.contrib.sessions.backends.base import SessionBase  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from django_sessionmgr import receivers  # noqa: E402
from django_sessionmgr.middleware import UserSessionMiddleware  # noqa: E402
from django_sessionmgr.stores import store_class  # noqa: E402


def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.get_username() or None})


@csrf_exempt
def sign_in(request: HttpRequest) -> JsonResponse:
    user = get_user_model().objects.get(username="alice")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"user": user.get_username()})


urlpatterns = [path("whoami/", whoami), path("login/", sign_in)]


def environ(method: str, path: str, cookie: str = "") -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_USER_AGENT": USER_AGENT,
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    if cookie:
        env["HTTP_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
    return env


class Site:
    """One WSGI handler with a fixed MIDDLEWARE, driven without any test client."""

    def __init__(self, middleware: list[str]) -> None:
        with override_settings(MIDDLEWARE=middleware):
            self.handler = WSGIHandler()

    def call(self, method: str, path: str, cookie: str = "") -> tuple[str, str]:
        """Serve one request; return (status, the session cookie it set, if any)."""
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
            seen["status"], seen["headers"] = status, headers

        body = self.handler(environ(method, path, cookie), start_response)
        b"".join(body)
        body.close()
        assert seen["status"].startswith(("200", "302")), seen["status"]
        prefix = f"{settings.SESSION_COOKIE_NAME}="
        for name, value in seen["headers"]:
            value = value.strip()
            if name == "Set-Cookie" and value.startswith(prefix):
                return seen["status"], value[len(prefix) :].split(";", 1)[0]
        return seen["status"], ""


@contextmanager
def receivers_disconnected() -> Iterator[None]:
    """Stock Django: the app's login/logout receivers out of the way."""
    user_logged_in.disconnect(dispatch_uid="django_sessionmgr.record_login")
    user_logged_out.disconnect(dispatch_uid="django_sessionmgr.record_logout")
    try:
        yield
    finally:
        receivers.connect()


def mean_us(run: Callable[[], object], count: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(count):
        run()
    return (time.perf_counter_ns() - start) / count / 1000


def queries(run: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured)


def side_by_side(
    stock: Callable[[], object], app: Callable[[], object], rounds: int, count: int
) -> tuple[float, float]:
    """Median over rounds of each one's median µs per request.

    The two alternate request by request (stock first on even requests, app
    first on odd ones), so both see the same machine load; medians keep a
    stray pause (GC, another process) from landing on one side only.
    """
    clock = time.perf_counter_ns
    stock_runs: list[float] = []
    app_runs: list[float] = []
    for _ in range(rounds):
        times: dict[Callable[[], object], list[int]] = {stock: [], app: []}
        for i in range(count):
            for run in (stock, app) if i % 2 else (app, stock):
                start = clock()
                run()
                times[run].append(clock() - start)
        stock_runs.append(statistics.median(times[stock]) / 1000)
        app_runs.append(statistics.median(times[app]) / 1000)
    return statistics.median(stock_runs), statistics.median(app_runs)


def logged_in_cookie(site: Site) -> str:
    status, cookie = site.call("POST", "/login/")
    assert cookie, status
    assert site.call("GET", "/whoami/", cookie)[0].startswith("200")
    return cookie


def middleware_own_us(cookie: str, rounds: int, count: int) -> float:
    """Median µs of UserSessionMiddleware itself around an empty view."""
    response = HttpResponse()
    middleware = UserSessionMiddleware(lambda request: response)
    store: type[SessionBase] = store_class()
    clock = time.perf_counter_ns
    runs = []
    for _ in range(rounds):
        requests = []
        for _ in range(count):
            request = HttpRequest()
            request.session = store(cookie)
            request.session.get(SESSION_KEY)  # loaded, as reading request.user does
            requests.append(request)
        gc.collect()
        gc.disable()  # building the requests left garbage; don't bill its collection here
        start = clock()
        for request in requests:
            middleware(request)
        runs.append((clock() - start) / count / 1000)
        gc.enable()
    return statistics.median(runs)


def benchmark_engine(engine: str, rounds: int, count: int) -> dict[str, Any]:
    with override_settings(SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"):
        stock, app = Site(STOCK_MIDDLEWARE), Site(APP_MIDDLEWARE)
        cookie = logged_in_cookie(app)
        for site in (stock, app):  # warm caches and the ORM's statement cache
            for _ in range(50):
                site.call("GET", "/whoami/", cookie)

        def stock_request() -> object:
            return stock.call("GET", "/whoami/", cookie)

        def app_request() -> object:
            return app.call("GET", "/whoami/", cookie)

        stock_us, app_us = side_by_side(stock_request, app_request, rounds, count)
        result: dict[str, Any] = {
            "engine": engine,
            "own_us": middleware_own_us(cookie, rounds, count),
            "stock_us": stock_us,
            "app_us": app_us,
            "stock_q": queries(stock_request),
            "app_q": queries(app_request),
        }
        with override_settings(SESSIONMGR={"ACTIVITY_UPDATE_INTERVAL": 0}):
            # The once-per-interval write, for reference; its cookie may change.
            writing = {"cookie": logged_in_cookie(app)}

            def write_request() -> object:
                status, new = app.call("GET", "/whoami/", writing["cookie"])
                writing["cookie"] = new or writing["cookie"]
                return status

            result["write_q"] = queries(write_request)
            result["write_us"] = statistics.median(
                mean_us(write_request, max(count // 4, 1)) for _ in range(rounds)
            )
    return result


class PassThroughMiddleware:
    """A middleware that does nothing: the price of any extra layer."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)


def benchmark_extra_layer(rounds: int, count: int) -> tuple[float, float]:
    """Stock against stock plus a pass-through middleware, on the cache engine."""
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.cache"):
        stock = Site(STOCK_MIDDLEWARE)
        layered = Site([*STOCK_MIDDLEWARE, f"{__name__}.PassThroughMiddleware"])
        cookie = logged_in_cookie(Site(APP_MIDDLEWARE))
        return side_by_side(
            lambda: stock.call("GET", "/whoami/", cookie),
            lambda: layered.call("GET", "/whoami/", cookie),
            rounds,
            count,
        )


def benchmark_anonymous(rounds: int, count: int) -> dict[str, Any]:
    stock, app = Site(STOCK_MIDDLEWARE), Site(APP_MIDDLEWARE)

    def stock_request() -> object:
        return stock.call("GET", "/whoami/")

    def app_request() -> object:
        return app.call("GET", "/whoami/")

    stock_us, app_us = side_by_side(stock_request, app_request, rounds, count)
    return {
        "stock_us": stock_us,
        "app_us": app_us,
        "stock_q": queries(stock_request),
        "app_q": queries(app_request),
    }


def benchmark_login(rounds: int, count: int) -> dict[str, Any]:
    stock, app = Site(STOCK_MIDDLEWARE), Site(APP_MIDDLEWARE)

    def stock_login() -> object:
        with receivers_disconnected():
            return stock.call("POST", "/login/")

    def app_login() -> object:
        return app.call("POST", "/login/")

    # Connecting and disconnecting receivers is timed on the stock side too:
    # a few µs that only make stock look slower by as much.
    stock_us, app_us = side_by_side(stock_login, app_login, rounds, count)
    return {
        "stock_ms": stock_us / 1000,
        "app_ms": app_us / 1000,
        "stock_q": queries(stock_login),
        "app_q": queries(app_login),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=400, help="requests per round")
    parser.add_argument(
        "--policies",
        action="store_true",
        help="with MAX_SESSIONS, IDLE_TIMEOUT and ABSOLUTE_TIMEOUT all on",
    )
    args = parser.parse_args()
    if args.policies:
        override_settings(
            SESSIONMGR={
                "ACTIVITY_UPDATE_INTERVAL": 3600,
                "MAX_SESSIONS": 5,
                "IDLE_TIMEOUT": 7200,
                "ABSOLUTE_TIMEOUT": 86400,
            }
        ).enable()

    call_command("migrate", verbosity=0)
    get_user_model().objects.create_user("alice", password="benchmark")
    print(
        f"Django {django.get_version()}, Python {sys.version.split()[0]}, SQLite file DB; "
        f"median of {args.rounds} interleaved rounds of {args.requests} requests\n"
    )
    print("Authenticated request, between activity writes")
    header = (
        f"{'engine':<15}{'stock µs':>10}{'app µs':>10}{'ratio':>8}"
        f"{'stock q':>9}{'app q':>7}{'extra q':>9}{'own µs':>8}   {'write µs':>9}{'write q':>9}"
    )
    print(header)
    print("-" * len(header))
    for engine in ENGINES:
        r = benchmark_engine(engine, args.rounds, args.requests)
        print(
            f"{engine:<15}{r['stock_us']:>10.0f}{r['app_us']:>10.0f}"
            f"{r['app_us'] / r['stock_us']:>7.3f}x{r['stock_q']:>9}{r['app_q']:>7}"
            f"{r['app_q'] - r['stock_q']:>+9}{r['own_us']:>8.1f}"
            f"   {r['write_us']:>9.0f}{r['write_q']:>9}"
        )
    plain, layered = benchmark_extra_layer(args.rounds, args.requests)
    print(
        f"\nFor scale: a pass-through middleware (cache engine) costs {layered - plain:.0f} µs "
        f"({layered / plain:.3f}x) by being one more layer"
    )
    a = benchmark_anonymous(args.rounds, args.requests)
    print("\nAnonymous request, no session cookie")
    print(
        f"{'stock':<15}{a['stock_us']:>10.0f} µs {a['stock_q']} queries\n"
        f"{'app':<15}{a['app_us']:>10.0f} µs {a['app_q']} queries "
        f"({a['app_us'] / a['stock_us']:.3f}x)"
    )
    login_ = benchmark_login(args.rounds, max(args.requests // 4, 1))
    print("\nLogin (db engine, login() in a view, new session each time)")
    print(
        f"{'stock':<15}{login_['stock_ms']:>10.3f} ms {login_['stock_q']} queries\n"
        f"{'app':<15}{login_['app_ms']:>10.3f} ms {login_['app_q']} queries "
        f"(+{login_['app_ms'] - login_['stock_ms']:.3f} ms)"
    )


if __name__ == "__main__":
    main()
