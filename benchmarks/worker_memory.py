"""Memory of a server worker: what each import of the app adds, and gunicorn workers stock vs app.

Part one imports step by step in one fresh process and reads its RSS
(``VmRSS``) after each step: Django's own stack, the app and its
middleware, its URLconfs, DRF's views and serializers behind its API, then
each heavy dependency and the user-agent resolver's automata. Each figure is
what the step adds after the steps above it (a module already loaded by an
earlier step adds nothing).

Part two boots real gunicorn servers, 4 sync workers each, the default
(no ``--preload``: nothing shared copy-on-write), on one SQLite file: stock
Django (the admin, auth, sessions, messages) against the same site with
DRF, the app, its middleware, its pages and its API. It reads each worker's
RSS after boot, after ordinary authenticated requests (a session cookie,
no login) have reached every worker, and after requests without a session
cookie (the login form) have.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

from benchmarks import harness as h

WORKERS = 4
GUNICORN_CONFIG = """
from pathlib import Path

def post_worker_init(worker):
    Path({ready!r}, str(worker.pid)).touch()
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", choices=["imports", "gunicorn", "both"], default="both")
    parser.add_argument("--port", type=int, default=8471)
    parser.add_argument("--prepare", choices=["stock", "app"], help=argparse.SUPPRESS)
    parser.add_argument("--steps", action="store_true", help=argparse.SUPPRESS)


def run(options: Any) -> None:
    if options.steps:
        return _steps()
    if options.prepare:
        _configure(options.prepare, os.environ["WORKER_MEMORY_DB"])
        import django
        from django.core.management import call_command

        django.setup()
        from django.test import Client

        call_command("migrate", verbosity=0, interactive=False)
        h.create_user("alice")
        client = Client()
        assert client.login(username="alice", password=h.PASSWORD)
        print(client.cookies["sessionid"].value)
        return None
    print(h.about("SQLite"))
    if options.part in ("imports", "both"):
        env = {**os.environ, "PYTHONPATH": str(h.ROOT)}
        command = [sys.executable, "-m", "benchmarks", "worker_memory", "--steps"]
        subprocess.run(command, env=env, check=True)
    if options.part in ("gunicorn", "both"):
        _gunicorn(options.port)
    return None


def _rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _steps() -> None:
    """Part one, in its own process: each step's RSS and time."""
    os.environ["WORKER_MEMORY_DB"] = str(Path(tempfile.mkdtemp()) / "steps.sqlite3")
    last = _rss_mib()
    print("\nOne process, imports in this order (each figure: what the step adds)\n")
    h.header("step", "RSS MiB", "ms")

    def step(name: str, work: Any) -> None:
        nonlocal last
        began = time.perf_counter()
        work()
        spent, now = (time.perf_counter() - began) * 1000, _rss_mib()
        h.row(name, f"{now - last:+.1f}", f"{spent:.0f}")
        last = now

    def django_stack() -> None:
        _configure("app", os.environ["WORKER_MEMORY_DB"])
        for name in STOCK_IMPORTS:
            importlib.import_module(name)

    def django_setup() -> None:
        import django

        django.setup()

    def wsgi() -> None:
        from django.core.wsgi import get_wsgi_application

        get_wsgi_application()

    def api_patterns() -> None:
        list(importlib.import_module("django_sessionmgr.api.urls").urlpatterns)

    def resolver() -> None:
        from django_sessionmgr import devices

        devices.parse_user_agent(h.FIREFOX)

    step("Python, Django's handler, ORM, forms, templates, sessions", django_stack)
    step("`rest_framework` (an installed app: its package and checks)", _imports("rest_framework"))
    step("`django.setup()`: Django's apps, the app's modules, the admins", django_setup)
    step("the WSGI handler, the app's middleware", wsgi)
    step("the app's pages URLconf", _imports("django_sessionmgr.urls"))
    step("the app's API URLconf", _imports("django_sessionmgr.api.urls"))
    step("the API's patterns (DRF's views, serializers)", api_patterns)
    step("`cryptography` (AES-GCM)", _imports("cryptography.hazmat.primitives.ciphers.aead"))
    step("`ua_parser` (and `ua_parser_rs`, `yaml`)", _imports("ua_parser"))
    step("`user_agents` (ua-parser's legacy regexes, compiled)", _imports("user_agents.parsers"))
    step("the user-agent resolver built (ua-parser-rs automata)", resolver)


#: Django's own stack, what any site loads (models need the apps ready: ``django.setup()``).
STOCK_IMPORTS = [
    "django.core.handlers.wsgi",
    "django.db.models",
    "django.forms",
    "django.template.loader",
    "django.contrib.sessions.backends.db",
]


def _imports(*names: str) -> Any:
    return lambda: [importlib.import_module(name) for name in names]


def _configure(variant: str, db_path: str) -> None:
    """Settings and URLconf of the gunicorn site: ``stock`` or ``app``."""
    from django.conf import settings

    apps = list(h.CONTRIB_APPS)
    if variant == "app":
        apps += ["rest_framework", "django_sessionmgr"]
    settings.configure(
        SECRET_KEY="benchmarks-only-not-secret",
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=apps,
        MIDDLEWARE=h.APP_MIDDLEWARE if variant == "app" else h.STOCK_MIDDLEWARE,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db_path}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        STATIC_URL="/static/",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
    )


def __getattr__(name: str) -> Any:
    """``urlpatterns``: ROOT_URLCONF is this module, read at a worker's first
    request (as a project's ``urls.py`` is), not when the worker boots."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.contrib import admin
    from django.urls import include, path

    urlpatterns = [path("admin/", admin.site.urls), path("page/", page)]
    if os.environ["WORKER_MEMORY_VARIANT"] == "app":
        urlpatterns.extend(
            [
                path("account/sessions/", include("django_sessionmgr.urls")),
                path("api/", include("django_sessionmgr.api.urls")),
            ]
        )
    return urlpatterns


def page(request: Any) -> Any:
    """Which worker answered, and for whom."""
    from django.http import HttpResponse

    return HttpResponse(f"{os.getpid()} {request.user.get_username()}")


def application() -> Any:
    """gunicorn's entry: ``benchmarks.worker_memory:application()``."""
    _configure(os.environ["WORKER_MEMORY_VARIANT"], os.environ["WORKER_MEMORY_DB"])
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _gunicorn(port: int) -> None:
    print(f"\ngunicorn, {WORKERS} sync workers, no --preload; RSS per worker (mean over workers)\n")
    h.header("site", "after boot MiB", "after authenticated requests", "after cookieless requests")
    figures = {}
    for variant in ("stock", "app"):
        figures[variant] = _serve(variant, port)
        h.row(variant, *(f"{value:.1f}" for value in figures[variant]))
    h.row(
        "app - stock, per worker",
        *(f"{a - s:+.1f}" for a, s in zip(figures["app"], figures["stock"], strict=True)),
    )


def _serve(variant: str, port: int) -> tuple[float, float, float]:
    work = Path(tempfile.mkdtemp(prefix="sessionmgr-workers-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(h.ROOT),
        "WORKER_MEMORY_VARIANT": variant,
        "WORKER_MEMORY_DB": str(work / "db.sqlite3"),
    }
    prepare = [sys.executable, "-m", "benchmarks", "worker_memory", "--prepare", variant]
    cookie = subprocess.run(
        prepare, env=env, capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    ready = work / "ready"
    ready.mkdir()
    config = work / "gunicorn.conf.py"
    config.write_text(GUNICORN_CONFIG.format(ready=str(ready)))
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", str(config), "--workers", str(WORKERS), "--bind",
         f"127.0.0.1:{port}", "benchmarks.worker_memory:application()"],
        env=env, cwd=h.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(list(ready.iterdir())) < WORKERS:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"gunicorn ({variant}) did not boot {WORKERS} workers")
            time.sleep(0.1)
        pids = [int(p.name) for p in ready.iterdir()]
        time.sleep(1)
        booted = _mean_rss(pids)
        _reach_every_worker(port, pids, f"sessionid={cookie}", "alice")
        time.sleep(2)  # a background build, had one started, would show here
        authenticated = _mean_rss(pids)
        _reach_every_worker(port, pids, "", "")
        time.sleep(2)
        cookieless = _mean_rss(pids)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return booted, authenticated, cookieless


def _mean_rss(pids: list[int]) -> float:
    return statistics.mean(_rss_mib(pid) for pid in pids)


def _reach_every_worker(port: int, pids: list[int], cookie: str, user: str) -> None:
    """GET /page/ on new connections until each worker answered three times."""
    answered = dict.fromkeys(pids, 0)
    for _ in range(400):
        connection = HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/page/", headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        pid, _, name = response.read().decode().partition(" ")
        connection.close()
        assert response.status == 200 and name == user, (response.status, name)
        answered[int(pid)] += 1
        if min(answered.values()) >= 3:
            return
    raise RuntimeError(f"not every worker answered: {answered}")
