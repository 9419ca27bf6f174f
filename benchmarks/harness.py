"""What every scenario shares: one Django set-up, realistic seed data, paired timing.

A scenario calls :func:`setup` (a fresh SQLite file, or the PostgreSQL
database named by ``--database``, dropped and created afresh), seeds with
:func:`seed_sessions`, drives requests through :class:`WSGISite` or Django's
``AsyncClient`` and times stock Django against the app with :func:`paired`.
"Stock" is the same process with the app's middleware left out of
``MIDDLEWARE`` and its receivers disconnected (:func:`stock`); the app is
whatever ``django_sessionmgr`` is installed.
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import random
import shutil
import statistics
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
#: The contrib apps of every benchmark site, stock and app alike.
CONTRIB_APPS = (
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
)
STOCK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
APP_MIDDLEWARE = [
    *STOCK_MIDDLEWARE[:5],
    "django_sessionmgr.middleware.UserSessionMiddleware",
    STOCK_MIDDLEWARE[5],
]
ENGINES = ["db", "cached_db", "cache", "file", "signed_cookies"]
PASSWORD = "bench-password"
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
#: The URLconf (ROOT_URLCONF is this module); filled in by setup().
urlpatterns: list[Any] = []


def setup(
    database: str | None = None,
    competitor: str = "sessionmgr",
    extra_apps: Iterable[str] = (),
    sqlite_journal: str = "wal",
    migrate: bool = True,
    **overrides: Any,
) -> str:
    """Configure Django for ``competitor``, migrate a fresh database; returns its vendor.

    ``sqlite_journal``: ``wal`` (WAL, ``synchronous=NORMAL``: no fsync per
    commit, as SQLite is served in production) or ``django`` (SQLite as Django
    leaves it: a rollback journal and an fsync per commit). ``migrate=False``
    opens ``database`` as it is (a worker process of a project already set up).

    ``competitor`` is ``sessionmgr`` (the app installed; every scenario),
    or, for the side-by-side runs, ``stock``, ``user_sessions`` or ``allauth``.
    ``extra_apps`` go before the app in ``INSTALLED_APPS`` (a scenario's own
    packages, such as the token packages).
    """
    import dj_database_url
    import django
    from django.conf import settings

    workdir = Path(tempfile.mkdtemp(prefix="sessionmgr-bench-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    if database is None:
        database = f"sqlite:///{workdir / 'bench.sqlite3'}"
    elif database.startswith("postgres") and migrate:
        _recreate_postgres(database)
    db = dj_database_url.parse(database)
    db["CONN_MAX_AGE"] = None  # persistent connections, as deployed
    if db["ENGINE"].endswith("sqlite3") and sqlite_journal == "wal":
        # As served in production: WAL, no fsync per commit.
        db["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    apps = list(CONTRIB_APPS)
    middleware, engine = list(STOCK_MIDDLEWARE), "django.contrib.sessions.backends.db"
    extra: dict[str, Any] = {}
    if competitor == "sessionmgr":
        apps += ["rest_framework", *extra_apps, "django_sessionmgr"]
        middleware = list(APP_MIDDLEWARE)
    elif competitor == "user_sessions":
        apps[apps.index("django.contrib.sessions")] = "user_sessions"
        middleware[1] = "user_sessions.middleware.SessionMiddleware"
        engine = "user_sessions.backends.db"
    elif competitor == "allauth":
        apps += ["django.contrib.humanize", "allauth", "allauth.account", "allauth.usersessions"]
        middleware += [
            "allauth.account.middleware.AccountMiddleware",
            "allauth.usersessions.middleware.UserSessionsMiddleware",
        ]
        extra["USERSESSIONS_TRACK_ACTIVITY"] = True
    settings.configure(
        **{
            "SECRET_KEY": "benchmarks-only-not-secret",
            "DEBUG": False,
            "ALLOWED_HOSTS": ["*"],
            "USE_TZ": True,
            "ROOT_URLCONF": __name__,
            "INSTALLED_APPS": apps,
            "MIDDLEWARE": middleware,
            "DATABASES": {"default": db},
            "SESSION_ENGINE": engine,
            "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
            "STATIC_URL": "/static/",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            # Logins measure session bookkeeping, not password hashing.
            "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
            "CACHES": {
                "default": {
                    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "OPTIONS": {"MAX_ENTRIES": 10_000_000},
                }
            },
            "SESSION_FILE_PATH": str(workdir),
            "GEOIP_PATH": str(ROOT / "tests/data/geoip"),
            "GEOIP_CITY": "GeoLite2-City-Test.mmdb",
            "GEOIP_COUNTRY": "GeoLite2-Country-Test.mmdb",
            # Nearly every request falls between two activity writes.
            "SESSIONMGR": {"ACTIVITY_UPDATE_INTERVAL": 3600},
            "TEMPLATES": [
                {
                    "BACKEND": "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True,
                    "OPTIONS": {
                        "context_processors": [
                            "django.template.context_processors.request",
                            "django.contrib.auth.context_processors.auth",
                            "django.contrib.messages.context_processors.messages",
                        ]
                    },
                }
            ],
            # A failing page must say why: scenarios stop on any unexpected status.
            "LOGGING": {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"stderr": {"class": "logging.StreamHandler"}},
                "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
            },
            **extra,
            **overrides,
        }
    )
    django.setup()
    urlpatterns[:] = _urls(competitor)
    from django.core.management import call_command
    from django.db import connection

    if migrate:
        call_command("migrate", verbosity=0, interactive=False)
    return connection.vendor


def _recreate_postgres(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def page(request: Any) -> Any:
    """The authenticated request every side serves: who is signed in."""
    from django.http import HttpResponse

    return HttpResponse(request.user.get_username())


async def async_page(request: Any) -> Any:
    from django.http import HttpResponse

    user = await request.auser()
    return HttpResponse(user.get_username())


def sign_in(request: Any) -> Any:
    from django.contrib.auth import authenticate, login
    from django.http import HttpResponse

    user = authenticate(request, username=request.POST["username"], password=PASSWORD)
    if user is None:
        return HttpResponse(status=400)
    login(request, user)
    return HttpResponse(user.get_username())


def _urls(competitor: str) -> list[Any]:
    from django.contrib import admin
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    urls = [
        path("admin/", admin.site.urls),
        path("page/", page),
        path("async-page/", async_page),
        path("login/", csrf_exempt(sign_in)),
    ]
    if competitor == "sessionmgr":
        urls += [
            path("account/sessions/", include("django_sessionmgr.urls")),
            path("api/", include("django_sessionmgr.api.urls")),
        ]
    elif competitor == "user_sessions":
        urls += [path("", include("user_sessions.urls", "user_sessions"))]
    elif competitor == "allauth":
        urls += [path("accounts/", include("allauth.urls"))]
    return urls


@contextmanager
def stock() -> Iterator[None]:
    """Stock Django's signals: the app's receivers taken out for the block."""
    from django.contrib.auth import signals

    saved = {}
    for signal in (signals.user_logged_in, signals.user_logged_out, signals.user_login_failed):
        saved[signal] = list(signal.receivers)
        signal.receivers = [r for r in signal.receivers if not _is_ours(r[1])]
        signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for signal, receivers in saved.items():
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


def _is_ours(receiver: Any) -> bool:
    target = receiver() if isinstance(receiver, weakref.ReferenceType) else receiver
    return getattr(target, "__module__", "").startswith("django_sessionmgr")


class WSGISite:
    """A ``WSGIHandler`` with its own ``MIDDLEWARE``, driven with no test client in between."""

    def __init__(self, middleware: list[str] | None = None) -> None:
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler
        from django.test.utils import override_settings

        with override_settings(MIDDLEWARE=middleware or settings.MIDDLEWARE):
            self.handler = WSGIHandler()
        self.body = b""

    def call(
        self,
        method: str,
        path: str,
        cookie: str = "",
        form: dict[str, str] | None = None,
        user_agent: str = FIREFOX,
        remote_addr: str = "81.2.69.160",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Serve one request; returns its status and the session cookie it set, if any.

        ``headers``: more WSGI environ entries (``HTTP_AUTHORIZATION``, say).
        The response's body is kept in ``self.body``.
        """
        from django.conf import settings

        path, _, query = path.partition("?")
        body = urlencode(form or {}).encode()
        name = settings.SESSION_COOKIE_NAME
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "HTTP_USER_AGENT": user_agent,
            "HTTP_COOKIE": f"{name}={cookie}" if cookie else "",
            "REMOTE_ADDR": remote_addr,  # in the GeoIP test databases (London)
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            **(headers or {}),
        }
        seen: list[Any] = []
        result = self.handler(environ, lambda status, headers, exc=None: seen.extend(headers))
        try:
            self.body = b"".join(result)
        finally:
            result.close()
        assert result.status_code in (200, 302), (path, result.status_code)
        for header, value in seen:
            if header == "Set-Cookie" and value.strip().startswith(f"{name}="):
                return result.status_code, value.strip()[len(name) + 1 :].split(";", 1)[0]
        return result.status_code, ""

    def login(self, username: str, user_agent: str = FIREFOX) -> str:
        return self.call("POST", "/login/", form={"username": username}, user_agent=user_agent)[1]


def create_user(username: str, **fields: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username, password=PASSWORD, **fields)


@contextmanager
def counting_queries() -> Iterator[list[tuple[str, Any]]]:
    """The SQL and parameters sent on this thread's connection inside the block."""
    from django.db import connection

    sent: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


class Commits:
    """What :func:`counting_commits` saw: transactions that wrote, each one commit."""

    def __init__(self) -> None:
        #: Write transactions committed: an ``atomic`` block's commit after
        #: a write, or a write run in autocommit (its own transaction).
        self.commits = 0
        #: Every statement sent, ``BEGIN`` and ``SAVEPOINT`` included.
        self.queries = 0
        self._wrote = False


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@contextmanager
def counting_commits(alias: str = "default") -> Iterator[Commits]:
    """Count the commits that reach the disk on ``alias`` inside the block.

    Django's ``CaptureQueriesContext`` never shows a ``COMMIT`` (SQLite and
    psycopg commit through the driver, not a statement). So: a write outside
    any transaction is one commit (autocommit); a transaction that wrote is
    one commit when ``connection.commit()`` ends it. Read-only transactions
    write nothing to the disk and are not counted. Checked against SQLite's
    own counter of write transactions (:func:`sqlite_change_counter`).
    """
    from django.db import connections

    connection = connections[alias]
    seen = Commits()

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.queries += 1
        result = execute(sql, params, many, context)
        if sql.lstrip()[:7].upper().startswith(_WRITES):
            if connection.in_atomic_block or not connection.get_autocommit():
                seen._wrote = True
            else:
                seen.commits += 1
        return result

    def commit() -> None:
        own_commit()
        if seen._wrote:
            seen.commits, seen._wrote = seen.commits + 1, False

    def rollback() -> None:
        own_rollback()
        seen._wrote = False

    own_commit, own_rollback = connection.commit, connection.rollback
    connection.commit, connection.rollback = commit, rollback  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(record):
            yield seen
    finally:
        del connection.commit, connection.rollback


def sqlite_change_counter(path: str) -> int:
    """SQLite's file change counter (the header's bytes 24 to 27): one more for
    every write transaction committed under a rollback journal."""
    with open(path, "rb") as db:
        db.seek(24)
        return int.from_bytes(db.read(4), "big")


# Seed data ------------------------------------------------------------------

# (user agent, browser, os, device, type): what the seeded rows say they are.
DEVICES = [
    (FIREFOX, "Firefox 128", "Ubuntu", "Other", "desktop"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "Chrome 126", "macOS", "Mac", "desktop"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Edge 126", "Windows", "Other", "desktop"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17", "iOS 17.5", "iPhone", "mobile"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome 126", "Android", "Other", "mobile"),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17", "iPadOS 17.5", "iPad", "tablet"),
]  # fmt: skip
CITIES = [("London", "GB"), ("Berlin", "DE"), ("Paris", "FR"), ("", ""), ("Austin", "US")]
REASONS = ["user", "password_change", "admin", "command"]


class Login(NamedTuple):
    """One login as a session table keeps it; ``key`` is set while it is active."""

    id: str
    user: int
    status: str
    key: str
    ip: str
    device: tuple[str, str, str, str, str]
    place: tuple[str, str]
    created: datetime
    last: datetime
    expires: datetime
    ended: datetime | None
    revoked: datetime | None
    reason: str


@dataclass
class Seeded:
    rows: int
    users: list[int]
    #: The user whose list is measured: the same rows whatever the table's size.
    subject: Any
    #: The keys of the active rows, to give each a stored session.
    keys: list[str]


def logins(
    total: int,
    users: list[int],
    subject: int,
    subject_rows: int = 200,
    subject_active: float = 0.1,
    active: float = 0.1,
    seed: int = 16,
) -> Iterator[Login]:
    """``total`` varied logins, ``subject_rows`` of them ``subject``'s, spread through.

    A year of logins, each user with their own weight (a few heavy users,
    many light ones), statuses and end times as real traffic leaves them:
    most sessions ended or expired, some revoked, ``active`` of them active,
    and one active row in twenty already past its expiry. The subject's rows
    come from their own generator, so they are the same at every size.
    """
    from django.utils import timezone

    rng = random.Random(seed)
    weights = [rng.paretovariate(1.2) for _ in users]
    owners = rng.choices(users, weights=weights, k=max(0, total - subject_rows))
    now = timezone.now()
    step, done, k = max(1, total // max(subject_rows, 1)), 0, 0
    for i in range(total):
        if i % step == 0 and done < subject_rows:
            owner, r = subject, random.Random(f"subject{done}")
            is_active = r.random() < subject_active
            done += 1
        else:
            owner, r = owners[k], rng
            is_active = r.random() < active
            k += 1
        yield _login(r, owner, now, is_active, i)


def _login(r: random.Random, owner: int, now: datetime, active: bool, i: int) -> Login:
    ip = f"{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
    ended = revoked = None
    reason = key = ""
    if active:
        status, key = "active", f"{r.getrandbits(96):024x}{i:08x}"
        created = now - timedelta(seconds=r.uniform(60, 13 * 86400))
        last = min(now, created + timedelta(seconds=r.uniform(0, 13 * 86400)))
        expires = created + timedelta(days=14)
        if r.random() < 0.05:  # past its expiry, not yet cleaned up
            expires = now - timedelta(seconds=r.uniform(1, 86400))
    else:
        created = now - timedelta(seconds=r.uniform(14 * 86400, 365 * 86400))
        last = created + timedelta(seconds=r.uniform(0, 14 * 86400))
        expires = created + timedelta(days=14)
        status = r.choices(["ended", "expired", "revoked", "active"], [50, 30, 15, 5])[0]
        if status == "ended":
            ended = last
        elif status == "revoked":
            revoked, reason = last, r.choice(REASONS)
    return Login(
        f"{r.getrandbits(128):032x}",
        owner,
        status,
        key,
        ip,
        r.choice(DEVICES),
        r.choice(CITIES),
        created,
        last,
        expires,
        ended,
        revoked,
        reason,
    )


def create_users(count: int, prefix: str = "user") -> list[int]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    model, password = get_user_model(), make_password(PASSWORD)
    model.objects.bulk_create(
        (model(username=f"{prefix}{i}", password=password) for i in range(count)), batch_size=5000
    )
    return list(model.objects.filter(username__startswith=prefix).values_list("pk", flat=True))


def seed_sessions(total: int, users: int = 1000, subject: Any = None, **options: Any) -> Seeded:
    """``users`` users and ``total`` rows of the app's table (see :func:`logins`)."""
    from django_sessionmgr import keys, tracking
    from django_sessionmgr.models import UserSession

    seal = getattr(keys, "seal", lambda key: key)  # as the app stores keys under this engine
    try:
        from django_sessionmgr.digests import key_digest as digest
    except ImportError:  # a build whose digests live in tracking
        digest = getattr(tracking, "key_digest", None)
    subject = subject or create_user("subject")
    others = create_users(users - 1)
    made: list[str] = []

    def values(s: Login) -> dict[str, Any]:
        row = dict(
            id=s.id,
            user_id=s.user,
            status=s.status,
            ip_address=s.ip,
            user_agent=s.device[0],
            device_browser=s.device[1],
            device_os=s.device[2],
            device_family=s.device[3],
            device_type=s.device[4],
            location_city=s.place[0],
            location_country=s.place[1],
            created_at=s.created,
            last_activity_at=s.last,
            expires_at=s.expires,
            ended_at=s.ended,
            revoked_at=s.revoked,
            revoke_reason=s.reason,
        )
        if s.key:
            made.append(s.key)
            row["session_key"] = seal(s.key)
            if digest:
                row["session_key_digest"] = digest(s.key)
        return row

    count = insert_model(UserSession, map(values, logins(total, others, subject.pk, **options)))
    return Seeded(count, [subject.pk, *others], subject, made)


def insert_model(model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows given by field name; fields not given get their default.

    So the seed follows whatever model the installed app (or peer) has.
    """
    from django.db import connection, models

    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    dates = {f.attname for f in fields if isinstance(f, models.DateTimeField)}
    adapt = _adapter(connection)

    def row(values: dict[str, Any]) -> tuple[Any, ...]:
        values = {k: adapt(v) if k in dates else v for k, v in values.items()}
        return tuple(
            values[f.attname] if f.attname in values else defaults[f.attname] for f in fields
        )

    return insert_rows(map(row, rows), [f.column for f in fields], model._meta.db_table)


def store_sessions(keys: list[str], user: Any = None) -> None:
    """A stored session for each key, in the engine in force (db or cache), signed in as
    ``user`` as ``login()`` leaves it (so a peer that checks the auth hash keeps it)."""
    from django.conf import settings
    from django.contrib.sessions.backends.cache import KEY_PREFIX
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.cache import caches
    from django.db import connection
    from django.utils import timezone

    data = session_data(user)
    if settings.SESSION_ENGINE.endswith(".cache"):
        cache = caches[settings.SESSION_CACHE_ALIAS]
        for first in range(0, len(keys), 10_000):
            cache.set_many({KEY_PREFIX + k: data for k in keys[first : first + 10_000]})
        return
    expires = _adapter(connection)(timezone.now() + timedelta(days=14))
    encoded = SessionStore().encode(data)
    insert_rows(
        ((k, encoded, expires) for k in keys),
        ["session_key", "session_data", "expire_date"],
        Session._meta.db_table,
    )


def session_data(user: Any) -> dict[str, str]:
    if user is None:
        return {}
    return {
        "_auth_user_id": str(user.pk),
        "_auth_user_hash": user.get_session_auth_hash(),
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
    }


def stored_left(keys: list[str]) -> int:
    """How many of these keys still have a stored session (db or cache engine)."""
    from django.conf import settings
    from django.contrib.sessions.backends.cache import KEY_PREFIX
    from django.contrib.sessions.models import Session
    from django.core.cache import caches

    chunks = [keys[first : first + 10_000] for first in range(0, len(keys), 10_000)]
    if settings.SESSION_ENGINE.endswith(".cache"):
        cache = caches[settings.SESSION_CACHE_ALIAS]
        return sum(len(cache.get_many([KEY_PREFIX + k for k in chunk])) for chunk in chunks)
    return sum(Session.objects.filter(session_key__in=chunk).count() for chunk in chunks)


def _adapter(connection: Any) -> Callable[[datetime | None], Any]:
    return lambda v: None if v is None else connection.ops.adapt_datetimefield_value(v)


def insert_rows(rows: Iterable[tuple[Any, ...]], columns: list[str], table: str) -> int:
    """Insert in batches of 10,000 (COPY on PostgreSQL); returns how many went in."""
    from django.db import connection, transaction

    total = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    total += 1
            return total
        values = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                cursor.executemany(sql, batch)
                total, batch = total + len(batch), []
        cursor.executemany(sql, batch)
    return total + len(batch)


def reset() -> None:
    """Empty every table, for the next size (never ``ANALYZE``)."""
    from django.core.management import call_command
    from django.db import connection

    call_command("flush", verbosity=0, interactive=False)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")


# Timing and reporting ---------------------------------------------------------


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


@dataclass
class Paired:
    stock_ms: float
    app_ms: float
    #: app/stock of each batch pair, sorted.
    ratios: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def spread(self) -> str:
        """The ratio with its interquartile range and its extremes."""
        q = statistics.quantiles(self.ratios, n=4) if len(self.ratios) > 1 else self.ratios * 3
        return (
            f"×{self.ratio:.3f} (IQR {q[0]:.3f}–{q[2]:.3f}, "  # noqa: RUF001
            f"range {self.ratios[0]:.3f}–{self.ratios[-1]:.3f})"  # noqa: RUF001
        )


_loop: asyncio.AbstractEventLoop | None = None


def paired(
    stock_run: Callable[[int], Any],
    app_run: Callable[[int], Any],
    batches: int,
    per_batch: int,
    stock_context: Callable[[], AbstractContextManager[Any]] = stock,
) -> Paired:
    """Alternate batches of stock and app calls (ABBA); each batch's median, ratio per pair.

    Stock batches run inside ``stock_context`` (:func:`stock` unless given).
    Each call gets a running index, so it can be given new input (a user
    agent never seen before, say). The two may be coroutine functions: their
    batches then run on one event loop.
    """
    global _loop
    counter = iter(range(10**9))
    times: dict[Any, list[float]] = {stock_run: [], app_run: []}

    async def timed_async(run: Any) -> list[float]:
        samples = []
        for _ in range(per_batch):
            i, began = next(counter), time.perf_counter()
            await run(i)
            samples.append((time.perf_counter() - began) * 1000)
        return samples

    def timed(run: Any) -> list[float]:
        samples = []
        for _ in range(per_batch):
            i, began = next(counter), time.perf_counter()
            run(i)
            samples.append((time.perf_counter() - began) * 1000)
        return samples

    for b in range(batches):
        for run in (stock_run, app_run) if b % 2 else (app_run, stock_run):
            with stock_context() if run is stock_run else nullcontext():
                if inspect.iscoroutinefunction(run):
                    _loop = _loop or asyncio.new_event_loop()
                    samples = _loop.run_until_complete(timed_async(run))
                else:
                    samples = timed(run)
            times[run].append(statistics.median(samples))
    ratios = sorted(a / s for a, s in zip(times[app_run], times[stock_run], strict=True))
    return Paired(statistics.median(times[stock_run]), statistics.median(times[app_run]), ratios)


def paired_clocks(
    stock_run: Callable[[int], Any],
    app_run: Callable[[int], Any],
    batches: int,
    per_batch: int,
    stock_context: Callable[[], AbstractContextManager[Any]] = stock,
) -> tuple[Paired, Paired]:
    """:func:`paired` on two clocks at once: wall time, and this process's CPU time."""
    counter = iter(range(10**9))
    wall: dict[Any, list[float]] = {stock_run: [], app_run: []}
    cpu: dict[Any, list[float]] = {stock_run: [], app_run: []}
    for b in range(batches):
        for run in (stock_run, app_run) if b % 2 else (app_run, stock_run):
            walls, cpus = [], []
            with stock_context() if run is stock_run else nullcontext():
                for _ in range(per_batch):
                    i = next(counter)
                    began, began_cpu = time.perf_counter(), time.process_time()
                    run(i)
                    cpus.append((time.process_time() - began_cpu) * 1000)
                    walls.append((time.perf_counter() - began) * 1000)
            wall[run].append(statistics.median(walls))
            cpu[run].append(statistics.median(cpus))

    def pair(times: dict[Any, list[float]]) -> Paired:
        ratios = sorted(a / s for a, s in zip(times[app_run], times[stock_run], strict=True))
        return Paired(
            statistics.median(times[stock_run]), statistics.median(times[app_run]), ratios
        )

    return pair(wall), pair(cpu)


def peak_rss_reset() -> int:
    """Start the peak resident memory afresh (Linux); returns the current RSS in KiB."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _status_kib("VmRSS")


def peak_rss() -> int:
    """The peak resident memory in KiB since :func:`peak_rss_reset`."""
    return _status_kib("VmHWM")


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def row(*cells: Any) -> None:
    """One markdown table row, ready to paste into docs/benchmarks.md."""
    print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)


def header(*names: str) -> None:
    row(*names)
    row(*("---" for _ in names))


def about(vendor: str) -> str:
    import platform

    import django

    return (
        f"Django {django.get_version()}, Python {platform.python_version()}, {vendor}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
