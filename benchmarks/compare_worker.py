"""One competitor on one database, driven by ``compare.py`` over stdin/stdout.

Each line in is a JSON command, each line out its JSON result. Requests go
straight into Django's ``WSGIHandler`` with a prepared environ: the full
middleware stack and view, no HTTP client in between to blur the differences.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import timedelta
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
COMPETITOR = os.environ["BENCH_COMPETITOR"]
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PASSWORD = "bench-password"
#: Sessions per generated user, for the crowd and the revoke victims.
ROWS_PER_USER = 1000
#: Where each competitor shows a user their sessions.
LIST_PAGES = {
    "sessionmgr": ["/api/sessions/", "/account/sessions/"],
    "user_sessions": ["/account/sessions/"],
    "allauth": ["/accounts/sessions/"],
}


def create_database(server: str | None) -> tuple[str, Callable[[], None]]:
    """A fresh database for this process, and how to drop it."""
    if not server:
        directory = tempfile.mkdtemp(prefix=f"bench-{COMPETITOR}-")
        path = Path(directory) / "db.sqlite3"

        def remove() -> None:
            for file in Path(directory).iterdir():
                file.unlink()
            Path(directory).rmdir()

        return f"sqlite:///{path}", remove
    import psycopg

    name = f"bench_{COMPETITOR}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(urlsplit(server)._replace(path=f"/{name}")), drop


class Bench:
    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.cookie = ""

    def call(
        self, method: str, path: str, cookie: str = "", form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, list[str]], bytes]:
        path, _, query = path.partition("?")
        body = urlencode(form or {}).encode()
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "HTTP_USER_AGENT": FIREFOX,
            "HTTP_COOKIE": cookie,
            "REMOTE_ADDR": "203.0.113.9",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        started: list[Any] = []
        result = self.handler(environ, lambda status, headers, exc=None: started.append(headers))
        try:
            content = b"".join(result)
        finally:
            result.close()
        headers: dict[str, list[str]] = {}
        for name, value in started[0]:
            headers.setdefault(name.lower(), []).append(value.strip())
        return int(result.status_code), headers, content

    def login(self, username: str) -> str:
        status, headers, _ = self.call(
            "POST", "/login/", form={"username": username, "password": PASSWORD}
        )
        assert status == 200, status
        for header in headers["set-cookie"]:
            if header.startswith("sessionid="):
                return header.split(";", 1)[0]
        raise AssertionError("no session cookie")

    # Commands -----------------------------------------------------------------

    def setup(self) -> dict[str, Any]:
        from django.contrib.auth.models import User
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        User.objects.create_user("bench", password=PASSWORD)
        User.objects.create_superuser("staff", password=PASSWORD)
        self.cookie = self.login("bench")
        for _ in range(50):  # warm every cache on the path
            self.call("GET", "/page/", self.cookie)
        from importlib.metadata import version

        import django
        from django.db import connection

        package = {
            "stock": "Django",
            "sessionmgr": "django-sessionmgr",
            "user_sessions": "django-user-sessions",
            "allauth": "django-allauth",
        }[COMPETITOR]
        return {
            "version": f"{package} {version(package)}",
            "django": django.get_version(),
            "database": f"{connection.display_name} {connection.Database.__name__}",
        }

    def request(self, n: int) -> dict[str, Any]:
        """Time per authenticated request, and queries per request."""
        cookie, call = self.cookie, self.call
        result = timed(lambda: call("GET", "/page/", cookie), n)
        result["queries"] = self.count_queries(lambda: call("GET", "/page/", cookie), 20)
        return result

    def login_cost(self, n: int) -> dict[str, Any]:
        result = timed(lambda: self.login("bench"), n)
        result["queries"] = self.count_queries(lambda: self.login("bench"), 5)
        return result

    @staticmethod
    def count_queries(action: Callable[[], object], n: int) -> float:
        with QueryCounter() as counter:
            for _ in range(n):
                action()
        return counter.count / n

    def timed_pages(self, paths: list[str], cookie: str, runs: int) -> dict[str, Any]:
        """Median time of ``runs`` loads of each page after a warm-up load, and its queries.

        When the warm-up load takes over 5 s, it is the only one: its time and
        query count stand.
        """
        results = {}
        for path in paths:
            start = time.perf_counter()
            queries = self.count_queries(lambda p=path: self.assert_ok(p, cookie), 1)
            times = [time.perf_counter() - start]
            if times[0] < 5:
                times.clear()
                for _ in range(runs):
                    start = time.perf_counter()
                    self.call("GET", path, cookie)
                    times.append(time.perf_counter() - start)
                # Counted again in the steady state: the warm-up may have written activity.
                queries = self.count_queries(lambda p=path: self.assert_ok(p, cookie), 1)
            results[path] = {"ms": statistics.median(times) * 1e3, "queries": queries}
        return results

    def assert_ok(self, path: str, cookie: str) -> None:
        status, _, _ = self.call("GET", path, cookie)
        assert status == 200, (path, status)

    def seed(self, rows: int, user_rows: int, revoke_rows: int) -> dict[str, Any]:
        """A table of ``rows`` sessions, ``user_rows`` of them the bench user's."""
        from django.contrib.auth.models import User

        start = time.perf_counter()
        model = session_model()
        bench = User.objects.get(username="bench")
        template = model.objects.filter(user=bench).order_by(model._meta.pk.name).first()
        assert template is not None
        # Other users own the rest, ROWS_PER_USER sessions each. The revoke
        # victims come in two sets, one a tenth of the other, to show that
        # memory does not grow with the count.
        large = max(1, revoke_rows // ROWS_PER_USER)
        small = max(1, large // 10)
        crowd_rows = max(0, rows - user_rows - (large + small) * ROWS_PER_USER)
        crowd = max(1, crowd_rows // ROWS_PER_USER)
        first = create_users("crowd", crowd + small + large)
        clone(model, template, user_rows - 1, "u", f"{bench.pk}")
        clone(model, template, crowd_rows, "c", f"{first} + n %% {crowd}")
        self.victims = {
            "small": list(range(first + crowd, first + crowd + small)),
            "large": list(range(first + crowd + small, first + crowd + small + large)),
        }
        for tag, users in (("s", self.victims["small"]), ("l", self.victims["large"])):
            count = len(users) * ROWS_PER_USER
            clone(model, template, count, tag, f"{users[0]} + n %% {len(users)}")
        victim_ids = self.victims["small"] + self.victims["large"]
        if COMPETITOR in ("sessionmgr", "allauth"):
            # Their rows point at stored sessions: give the bench user's and the
            # victims' rows one each, as real logins would have.
            add_stored_sessions(model, [bench.pk, *victim_ids])
        analyze()
        return {"seconds": time.perf_counter() - start, "rows": model.objects.count()}

    def lists(self, runs: int) -> dict[str, Any]:
        return self.timed_pages(LIST_PAGES.get(COMPETITOR, []), self.cookie, runs)

    def staff(self, runs: int) -> dict[str, Any]:
        from django.core.management import call_command
        from django.utils import timezone

        from django_sessionmgr.models import UserSession

        staff_cookie = self.login("staff")
        results = self.timed_pages(
            ["/admin/django_sessionmgr/usersession/", "/api/admin/sessions/"], staff_cookie, runs
        )
        for size, users in self.victims.items():
            sessions = UserSession.objects.filter(user_id__in=users)
            results[f"revoke_{size}"] = measure(lambda s=sessions: s.revoke(reason="bench"))
        # Date each set back past the retention period, then prune it.
        for size, users in self.victims.items():
            UserSession.objects.filter(user_id__in=users).update(
                revoked_at=timezone.now() - timedelta(days=3650)
            )
            output = StringIO()
            results[f"prune_{size}"] = measure(
                lambda o=output: call_command("sessionmgr_prune", stdout=o)
            )
            results[f"prune_{size}"]["result"] = int(output.getvalue().split()[1])
        return results


def timed(action: Callable[[], object], n: int) -> dict[str, float]:
    """Wall-clock and CPU microseconds per call of ``action``.

    CPU time is this process's own: it ignores time spent waiting for a busy
    machine, but also the database server's share on PostgreSQL.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        action()
    return {
        "us": (time.perf_counter() - wall) / n * 1e6,
        "cpu_us": (time.process_time() - cpu) / n * 1e6,
    }


class QueryCounter:
    """Counts the queries run on the default connection, with no cap and no log."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> QueryCounter:
        from django.db import connection

        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wrapper.__exit__(*exc)


def measure(action: Callable[[], Any]) -> dict[str, Any]:
    """Seconds, queries and peak Python memory of one action."""
    tracemalloc.start()
    start = time.perf_counter()
    with QueryCounter() as counter:
        result = action()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": elapsed,
        "queries": counter.count,
        "peak_kib": peak / 2**10,
        "result": result if isinstance(result, int) else None,
    }


def session_model() -> Any:
    if COMPETITOR == "sessionmgr":
        from django_sessionmgr.models import UserSession

        return UserSession
    if COMPETITOR == "user_sessions":
        from user_sessions.models import Session

        return Session
    if COMPETITOR == "allauth":
        from allauth.usersessions.models import UserSession as AllauthSession

        return AllauthSession
    from django.contrib.sessions.models import Session as DjangoSession

    return DjangoSession


def create_users(prefix: str, count: int) -> int:
    """``count`` users with consecutive ids; returns the first id."""
    from django.contrib.auth.models import User

    User.objects.bulk_create(
        [User(username=f"{prefix}{n}", password="!") for n in range(count)], batch_size=5000
    )
    return int(User.objects.get(username=f"{prefix}0").pk)


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def clone(model: Any, template: Any, count: int, tag: str, user_sql: str) -> None:
    """Copy ``template`` ``count`` times in one INSERT ... SELECT, each with a unique key.

    ``user_sql`` is an SQL expression of ``n`` (1..count) giving each copy's user id,
    with ``%`` doubled as the query has parameters.
    """
    from django.db import connection, models

    if count <= 0:
        return
    qn = connection.ops.quote_name
    postgres = is_postgres()
    key = f"'{tag}' || lpad(n::text, 30, '0')" if postgres else f"printf('{tag}%%030d', n)"
    new_uuid = "gen_random_uuid()" if postgres else "lower(hex(randomblob(16)))"
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and isinstance(field, models.AutoField | models.BigAutoField):
            continue
        columns.append(qn(field.column))
        if field.name == "session_key":
            values.append(key)
        elif field.primary_key:
            values.append(new_uuid)
        elif field.name == "user":
            values.append(user_sql)
        else:
            values.append(f"t.{qn(field.column)}")
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    select = f"SELECT {', '.join(values)} FROM {table} t, s WHERE t.{pk} = %s"
    series = (
        f"s(n) AS (SELECT generate_series(1, {count}))"
        if postgres
        else f"RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"
    )
    template_pk = model._meta.pk.get_db_prep_value(template.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {series} INSERT INTO {table} ({', '.join(columns)}) {select}", [template_pk]
        )


def add_stored_sessions(model: Any, user_ids: list[int]) -> None:
    """A ``django_session`` row for each of these users' tracked sessions."""
    from django.contrib.sessions.models import Session
    from django.db import connection

    qn = connection.ops.quote_name
    stored = Session.objects.order_by("expire_date").last()
    assert stored is not None
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(Session._meta.db_table)} (session_key, session_data, expire_date)"
            f" SELECT s.session_key, %s, %s FROM {qn(model._meta.db_table)} s"
            f" WHERE s.user_id IN ({', '.join(map(str, user_ids))})"
            f" AND s.session_key NOT IN (SELECT session_key FROM {qn(Session._meta.db_table)})",
            [stored.session_data, stored.expire_date],
        )


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    # The protocol owns the real stdout; anything Django prints goes to stderr.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    url, remove = create_database(os.environ.get("BENCH_SERVER_URL"))
    os.environ["BENCH_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.compare_settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    bench = Bench()
    commands: dict[str, Callable[..., dict[str, Any]]] = {
        "setup": bench.setup,
        "request": bench.request,
        "login": bench.login_cost,
        "seed": bench.seed,
        "lists": bench.lists,
        "staff": bench.staff,
    }
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "quit":
                break
            result = commands[command.pop("op")](**command)
            protocol.write(json.dumps(result) + "\n")
    finally:
        remove()


if __name__ == "__main__":
    main()
