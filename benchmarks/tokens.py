"""Token-authenticated DRF request between activity writes, stock class vs the app's, per package.

One process serves a small ``APIView`` that reads ``request.user``, behind
each package's stock authentication class and behind the app's:

- DRF ``authtoken``: ``TokenAuthentication`` / ``SessionmgrTokenAuthentication``;
- django-rest-knox: ``knox.auth.TokenAuthentication`` / ``SessionmgrKnoxAuthentication``;
- simplejwt: ``JWTAuthentication`` / ``SessionmgrJWTAuthentication``.

"Stock" is stock Django's middleware, the stock class, and the app's
receivers (login signals and the token models' ``post_save``/``post_delete``)
taken out; "app" is the app's middleware and class. The requests rotate
through tokens of many users obtained through the packages' own views, after
a warm-up: every request falls between two activity writes. Queries and cache
calls (``get``/``get_many`` of ``SESSION_CACHE_ALIAS``, counted by wrapping
the backend here) come from one request of each side. The sign-out marks of
``SessionmgrJWTAuthentication`` live on Redis with ``--redis-url`` (or
``REDIS_URL``), else on ``LocMemCache``, which cannot carry a mark between
processes: the class then reads the family's row on every request.

Then the login that hands out a token (DRF's obtain view, knox's
``LoginView`` with basic auth, simplejwt's ``TokenObtainPairView``), each
for a user who has no token yet: stock view vs the app's.

``--same-middleware`` serves the stock side through the app's middleware too
(the classes alone); ``--analyze`` gives the planner statistics after seeding.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any

from benchmarks import harness as h

PACKAGES = ["drf", "knox", "jwt"]
JWT = "django_sessionmgr.tokens.jwt"
TOKEN_APPS = [
    "rest_framework.authtoken",
    "knox",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--packages", nargs="+", default=PACKAGES, choices=PACKAGES)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000, help="seeded users")
    parser.add_argument("--rows", type=int, default=20_000, help="seeded browser rows")
    parser.add_argument("--tokens", type=int, default=50, help="tokens the requests rotate through")
    parser.add_argument("--obtain-batches", type=int, default=10)
    parser.add_argument("--obtain-per-batch", type=int, default=10)
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE after seeding (VACUUM ANALYZE on PostgreSQL, as autovacuum leaves it)",
    )
    parser.add_argument(
        "--same-middleware",
        action="store_true",
        help="the stock side through the app's middleware too: the classes alone",
    )
    parser.add_argument("--sql", action="store_true", help="print the counted queries")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL"),
        help="a redis:// URL for the cache (default: $REDIS_URL, else LocMemCache)",
    )


def run(options: Any) -> None:
    cache: dict[str, Any] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 10_000_000},
    }
    if options.redis_url:
        redis = "django.core.cache.backends.redis.RedisCache"
        cache = {"BACKEND": redis, "LOCATION": options.redis_url}
    vendor = h.setup(
        options.database,
        extra_apps=TOKEN_APPS,
        CACHES={"default": cache},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
        SIMPLE_JWT={
            "ACCESS_TOKEN_LIFETIME": timedelta(hours=1),  # outlives the run
            "SIGNING_KEY": "benchmarks-only-a-signing-key-of-32-bytes-or-more",
            "ROTATE_REFRESH_TOKENS": True,
            "BLACKLIST_AFTER_ROTATION": True,
            "TOKEN_OBTAIN_SERIALIZER": f"{JWT}.SessionmgrTokenObtainPairSerializer",
            "TOKEN_REFRESH_SERIALIZER": f"{JWT}.SessionmgrTokenRefreshSerializer",
            "TOKEN_BLACKLIST_SERIALIZER": f"{JWT}.SessionmgrTokenBlacklistSerializer",
        },
    )
    from django.core.cache import caches

    caches["default"].clear()  # the run's own Redis database, or the process's LocMem
    h.urlpatterns += _urls()
    seeded = h.seed_sessions(options.rows, users=options.users)
    made = seed_tokens(seeded.users)
    if options.analyze:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")
    where = f"Redis ({options.redis_url})" if options.redis_url else "LocMemCache"
    print(
        f"{h.about(vendor)}; sign-out marks on {where}; {options.rows:,} browser rows, "
        f"{options.users:,} users, {made}, {'analysed' if options.analyze else 'no ANALYZE'}; "
        f"{options.batches} batches of {options.per_batch} "
        f"requests, rotating through {options.tokens} tokens"
    )
    app = h.WSGISite(h.APP_MIDDLEWARE)
    stock = h.WSGISite(h.APP_MIDDLEWARE if options.same_middleware else h.STOCK_MIDDLEWARE)
    if options.same_middleware:
        print("Both sides through the app's middleware: the authentication classes alone.")
    rng = random.Random(23)
    holders = _usernames(rng.sample(seeded.users[1:], options.tokens))
    h.header(
        "token request",
        "stock µs",
        "app µs",
        "app/stock",
        "queries (stock → app)",
        "cache get/get_many (stock → app)",
    )
    for package in options.packages:
        tokens = [OBTAIN[package](app, name, i) for i, name in enumerate(holders)]

        def call(site: h.WSGISite, side: str, i: int, p: str = package, t: Any = tokens) -> Any:
            header = {"HTTP_AUTHORIZATION": t[i % len(t)]}
            return site.call("GET", f"/tok/{p}/{side}/", headers=header)

        for _ in range(3):  # every token seen by each side (the app's rows remembered)
            for i in range(len(tokens)):
                call(app, "app", i)
                with stock_only():
                    call(stock, "stock", i)
        with stock_only(), h.counting_queries() as stock_q, counting_cache() as stock_c:
            call(stock, "stock", 0)
        with h.counting_queries() as app_q, counting_cache() as app_c:
            call(app, "app", 0)
        result = h.paired(
            lambda i: call(stock, "stock", i),
            lambda i: call(app, "app", i),
            options.batches,
            options.per_batch,
            stock_context=stock_only,
        )
        show(options, stock_q, app_q, stock_c, app_c)
        h.row(
            f"{package}{' (marks on Redis)' if package == 'jwt' and options.redis_url else ''}",
            f"{result.stock_ms * 1000:.0f}",
            f"{result.app_ms * 1000:.0f}",
            result.spread(),
            f"{len(stock_q)} → {len(app_q)}",
            f"{len(stock_c)} → {len(app_c)}",
        )
    print()
    h.header("token login (obtain)", "stock ms", "app ms", "app/stock", "queries (stock → app)")
    for package in options.packages:
        obtain_row(package, stock, app, options)


def obtain_row(package: str, stock: h.WSGISite, app: h.WSGISite, options: Any) -> None:
    """A user's first token: the package's stock view against the app's."""
    per_side = options.obtain_batches * options.obtain_per_batch
    pool = iter(_usernames(h.create_users(2 * per_side + 40, prefix=f"first-{package}-")))
    login = LOGIN[package]
    for _ in range(10):
        with stock_only():
            login(stock, "stock", next(pool))
        login(app, "app", next(pool))
    with stock_only(), h.counting_queries() as stock_q:
        login(stock, "stock", next(pool))
    with h.counting_queries() as app_q:
        login(app, "app", next(pool))
    show(options, stock_q, app_q)
    result = h.paired(
        lambda i: login(stock, "stock", next(pool)),
        lambda i: login(app, "app", next(pool)),
        options.obtain_batches,
        options.obtain_per_batch,
        stock_context=stock_only,
    )
    h.row(
        package,
        f"{result.stock_ms:.3f}",
        f"{result.app_ms:.3f}",
        result.spread(),
        f"{len(stock_q)} → {len(app_q)}",
    )


def show(options: Any, *counted: list[tuple[str, Any]]) -> None:
    """With ``--sql``: the counted queries and cache calls, stock then app, on stderr."""
    if options.sql:
        for calls in counted:
            print("--", *(call[0] for call in calls), sep="\n  ", file=sys.stderr)


# Views ---------------------------------------------------------------------------


def _urls() -> list[Any]:
    from django.urls import path
    from knox.auth import TokenAuthentication as KnoxAuthentication
    from knox.views import LoginView
    from rest_framework.authentication import BasicAuthentication, TokenAuthentication
    from rest_framework.authtoken.views import obtain_auth_token
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
    from rest_framework_simplejwt.views import TokenObtainPairView

    from django_sessionmgr.tokens import drf
    from django_sessionmgr.tokens.jwt import SessionmgrJWTAuthentication
    from django_sessionmgr.tokens.knox import SessionmgrKnoxAuthentication

    class Whoami(APIView):
        """The token request: who is signed in."""

        permission_classes = [IsAuthenticated]

        def get(self, request: Request) -> Response:
            return Response({"user": request.user.get_username()})

    classes = {
        "drf": (TokenAuthentication, drf.SessionmgrTokenAuthentication),
        "knox": (KnoxAuthentication, SessionmgrKnoxAuthentication),
        "jwt": (JWTAuthentication, SessionmgrJWTAuthentication),
    }
    urls = [
        path(f"tok/{package}/{side}/", Whoami.as_view(authentication_classes=[cls]))
        for package, pair in classes.items()
        for side, cls in zip(("stock", "app"), pair, strict=True)
    ]
    knox_login = LoginView.as_view(authentication_classes=[BasicAuthentication])
    return [
        *urls,
        path("obtain/drf/stock/", obtain_auth_token),
        path("obtain/drf/app/", drf.obtain_auth_token),
        path("obtain/knox/stock/", knox_login),
        path("obtain/knox/app/", knox_login),
        path(
            "obtain/jwt/stock/",
            TokenObtainPairView.as_view(serializer_class=TokenObtainPairSerializer),
        ),
        path("obtain/jwt/app/", TokenObtainPairView.as_view()),  # SIMPLE_JWT: the app's
    ]


def _usernames(pks: list[Any]) -> list[str]:
    """The users' names, in the order of ``pks`` (read before any timing)."""
    from django.contrib.auth import get_user_model

    model = get_user_model()
    names = dict(model.objects.filter(pk__in=pks).values_list("pk", model.USERNAME_FIELD))
    return [names[pk] for pk in pks]


def _obtain_drf(site: h.WSGISite, side: str, username: str, i: int = 0) -> str:
    form = {"username": username, "password": h.PASSWORD}
    site.call("POST", f"/obtain/drf/{side}/", form=form, user_agent=_agent(i))
    return f"Token {json.loads(site.body)['token']}"


def _obtain_knox(site: h.WSGISite, side: str, username: str, i: int = 0) -> str:
    basic = base64.b64encode(f"{username}:{h.PASSWORD}".encode()).decode()
    site.call(
        "POST",
        f"/obtain/knox/{side}/",
        user_agent=_agent(i),
        headers={"HTTP_AUTHORIZATION": f"Basic {basic}"},
    )
    return f"Token {json.loads(site.body)['token']}"


def _obtain_jwt(site: h.WSGISite, side: str, username: str, i: int = 0) -> str:
    form = {"username": username, "password": h.PASSWORD}
    site.call("POST", f"/obtain/jwt/{side}/", form=form, user_agent=_agent(i))
    return f"Bearer {json.loads(site.body)['access']}"


def _agent(i: int) -> str:
    return h.DEVICES[i % len(h.DEVICES)][0]


#: Obtain a token for a measured request, through the app's view: (site, username, i) -> header.
OBTAIN: dict[str, Callable[[h.WSGISite, str, int], str]] = {
    "drf": lambda site, username, i: _obtain_drf(site, "app", username, i),
    "knox": lambda site, username, i: _obtain_knox(site, "app", username, i),
    "jwt": lambda site, username, i: _obtain_jwt(site, "app", username, i),
}
#: A first login through either side's view: (site, side, username).
LOGIN: dict[str, Callable[[h.WSGISite, str, str], str]] = {
    "drf": _obtain_drf,
    "knox": _obtain_knox,
    "jwt": _obtain_jwt,
}


# Stock, and counting -------------------------------------------------------------


@contextmanager
def stock_only() -> Iterator[None]:
    """Stock Django and the stock packages: :func:`harness.stock`, and the
    app's receivers of model signals (the token models' rows) taken out too."""
    from django.db.models import signals

    with ExitStack() as stack:
        stack.enter_context(h.stock())
        for signal in (signals.post_save, signals.post_delete):
            stack.enter_context(_without_ours(signal))
        yield


@contextmanager
def _without_ours(signal: Any) -> Iterator[None]:
    saved = list(signal.receivers)
    signal.receivers = [r for r in saved if not h._is_ours(r[1])]
    signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        signal.receivers = saved
        signal.sender_receivers_cache.clear()


@contextmanager
def counting_cache() -> Iterator[list[tuple[str, Any]]]:
    """The ``get`` and ``get_many`` calls on the default cache inside the block."""
    from django.core.cache import caches

    cache, calls = caches["default"], []

    def counted(name: str) -> Callable[..., Any]:
        method = getattr(cache, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append((name, args[:1]))
            return method(*args, **kwargs)

        return call

    own = vars(cache)  # instance attributes over the class's methods, for the block
    own.update(get=counted("get"), get_many=counted("get_many"))
    try:
        yield calls
    finally:
        del own["get"], own["get_many"]


# Seed ----------------------------------------------------------------------------


def seed_tokens(users: list[Any], seed: int = 23) -> str:
    """Tokens of every kind, made through the packages, varied as a live
    project has them; the app's receivers make their rows (unknown device).

    - DRF: a key for 60% of the users, one in ten of them regenerated once
      (its first row ended);
    - knox: two tokens a user on average, Pareto-weighted (a few users with
      many), a tenth without expiry, a fifth already expired, the rest for 10
      hours to 30 days;
    - simplejwt: as many families, the same weights, one in seven logged out
      (blacklisted, its row ended).
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone
    from knox.models import AuthToken
    from rest_framework.authtoken.models import Token

    from django_sessionmgr.models import UserSession
    from django_sessionmgr.tokens.core import end_token_session, start_token_session
    from django_sessionmgr.tokens.jwt import SessionmgrRefreshToken
    from django_sessionmgr.tokens.jwt_families import SID_CLAIM

    rng = random.Random(seed)
    people = list(get_user_model().objects.filter(pk__in=users[1:]))
    weights = [rng.paretovariate(1.2) for _ in people]
    with transaction.atomic():
        for user in rng.sample(people, int(len(people) * 0.6)):
            token = Token.objects.create(user=user)
            if rng.random() < 0.1:
                token.delete()
                Token.objects.create(user=user)
        for user in rng.choices(people, weights, k=2 * len(people)):
            kind = rng.random()
            if kind < 0.1:
                expiry = None
            elif kind < 0.3:
                expiry = -timedelta(hours=rng.uniform(1, 24 * 60))
            else:
                expiry = timedelta(hours=rng.uniform(10, 24 * 30))
            AuthToken.objects.create(user, expiry=expiry)
        for user in rng.choices(people, weights, k=2 * len(people)):
            refresh = SessionmgrRefreshToken.for_user(user)
            ends = timezone.now() + timedelta(seconds=refresh.lifetime.total_seconds())
            start_token_session(None, user, UserSession.Kind.JWT, refresh[SID_CLAIM], ends)
            if rng.random() < 1 / 7:
                refresh.blacklist()  # simplejwt's logout, as the app's serializer ends it
                end_token_session(UserSession.Kind.JWT, refresh[SID_CLAIM])
    kinds = UserSession.objects.exclude(kind="session").values_list("kind", flat=True)
    tally: dict[str, int] = {}
    for made in kinds:
        tally[made] = tally.get(made, 0) + 1
    return ", ".join(f"{n:,} {made} rows" for made, n in sorted(tally.items()))
