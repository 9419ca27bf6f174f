"""A fresh process: ``django.setup()``, ``manage.py check`` and the first login, stock vs app.

Every figure comes from new processes, as a server worker or a management
command starts:

- ``django.setup()`` of the example project, and ``manage.py check`` on it;
- the first login of a process behind a ``WSGIHandler`` (db engine, SQLite),
  stock Django (the app's receivers disconnected, its middleware left out)
  against the app, each in processes of its own, alternating. Two orders:
  the login is the process's very first request, or it follows a page
  viewed without a session cookie (the login form) and ``--think`` seconds
  of typing. The process's second login, warm, is given for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from typing import Any

from benchmarks import harness as h

EXAMPLE_ENV = {"DJANGO_SETTINGS_MODULE": "example_project.settings", "DJANGO_DEBUG": "0"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per figure")
    parser.add_argument("--think", type=float, default=1.0, help="seconds from form to login")
    parser.add_argument("--no-logins", action="store_true", help="start-up figures only")
    parser.add_argument("--child", choices=["stock", "app"], help=argparse.SUPPRESS)
    parser.add_argument("--first", choices=["login", "page"], help=argparse.SUPPRESS)


def run(options: Any) -> None:
    if options.child:
        return _child(options)
    env = {**os.environ, **EXAMPLE_ENV, "PYTHONPATH": str(h.ROOT)}
    setup = [
        "-c",
        "import time; t = time.perf_counter(); import django; django.setup(); "
        "print((time.perf_counter() - t) * 1000)",
    ]
    check = [str(h.ROOT / "manage.py"), "check"]
    print(f"{h.about('SQLite')}; medians of {options.runs} fresh processes")
    h.header("fresh process", "wall ms", "CPU ms (whole process)")
    for label, command in (
        ("`django.setup()`, example project", setup),
        ("`manage.py check`, example project", check),
    ):
        wall, cpu = _timed(command, env, options.runs)
        h.row(label, f"{wall:.0f}", f"{cpu:.0f}")
    if options.no_logins:
        return None
    print()
    h.header("first login of a process", "stock ms", "app ms", "added", "second login, added")
    for first, label in (("login", "the first request"), ("page", "after a cookieless page")):
        results: dict[str, list[dict[str, float]]] = {"stock": [], "app": []}
        for i in range(options.runs * 2):
            side = ("stock", "app")[(i + i // 2) % 2]  # ABBA
            command = [
                "-m",
                "benchmarks",
                "cold_start",
                "--child",
                side,
                "--first",
                first,
                "--think",
                str(options.think),
            ]
            out = subprocess.run(
                [sys.executable, *command], env=env, capture_output=True, text=True, check=True
            ).stdout
            results[side].append(json.loads(out.strip().splitlines()[-1]))

        def med(side: str, key: str) -> float:
            return statistics.median(r[key] for r in results[side])  # noqa: B023

        stock_ms, app_ms = med("stock", "first"), med("app", "first")
        h.row(
            f"login as {label}",
            f"{stock_ms:.1f}",
            f"{app_ms:.1f}",
            f"{app_ms - stock_ms:+.1f} ms",
            f"{med('app', 'second') - med('stock', 'second'):+.1f} ms",
        )
    return None


def _timed(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall time (what ``setup`` prints, else the whole process) and CPU time."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        out = subprocess.run(
            [sys.executable, *command], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        wall = (time.perf_counter() - began) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
        walls.append(float(out.splitlines()[-1]) if command[0] == "-c" else wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def _child(options: Any) -> None:
    """One fresh process: set up, then time its first login and a second one."""
    h.setup()
    h.create_user("alice")
    h.create_user("bob")
    app = options.child == "app"
    site = h.WSGISite(h.APP_MIDDLEWARE if app else h.STOCK_MIDDLEWARE)
    with nullcontext() if app else h.stock():
        if options.first == "page":
            site.call("GET", "/page/")  # the login form, viewed without a session cookie
            time.sleep(options.think)
        began = time.perf_counter()
        assert site.login("alice")
        first = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        assert site.login("bob", user_agent=f"{h.FIREFOX} second")
        second = (time.perf_counter() - began) * 1000
    print(json.dumps({"first": first, "second": second}))
