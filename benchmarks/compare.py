"""Side-by-side benchmark: stock Django, django-sessionmgr and its peers.

    python3 benchmarks/compare.py            # SQLite, and PostgreSQL if POSTGRES_URL is set
    python3 benchmarks/compare.py --rows 100000 --runs 3   # a quick iteration

Builds its own environment in benchmarks/.venv-peers (django-user-sessions and
django-allauth from PyPI, this project editable), runs every competitor in its
own process with its own settings and a fresh database, and writes the table to
docs/benchmarks.md. The request and login rounds rotate through the competitors
so that a busy machine slows all of them alike; ratios to stock are taken
within each round, then the median is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-peers"
REQUIREMENTS = HERE / "requirements-peers.txt"
#: Where docs/benchmarks.md's scenario figures (python -m benchmarks) begin: kept as they are.
KEEP_MARKER = "<!-- scenarios: written by hand from python -m benchmarks; compare.py keeps them -->"
COMPETITORS = ["stock", "sessionmgr", "user_sessions", "allauth"]
NAMES = {
    "stock": "stock Django",
    "sessionmgr": "django-sessionmgr",
    "user_sessions": "django-user-sessions",
    "allauth": "allauth usersessions (activity tracking on)",
}
LISTED = ["sessionmgr", "user_sessions", "allauth"]


def python() -> Path:
    return VENV / "bin" / "python"


def ensure_environment() -> None:
    """Create or refresh the benchmark's virtualenv when the requirements change."""
    digest = hashlib.sha256(
        REQUIREMENTS.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    stamp = VENV / ".requirements-sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    log(f"building {VENV.relative_to(ROOT)} (django-user-sessions, django-allauth, this project)")
    venv.create(VENV, with_pip=True, clear=True)
    subprocess.run(
        [python(), "-m", "pip", "install", "--quiet", "-r", REQUIREMENTS, "-e", ROOT], check=True
    )
    stamp.write_text(digest)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Worker:
    """One competitor on one database, in its own process."""

    def __init__(self, competitor: str, server: str | None) -> None:
        env = {**os.environ, "BENCH_COMPETITOR": competitor, "PYTHONPATH": str(ROOT)}
        env.pop("BENCH_SERVER_URL", None)
        if server:
            env["BENCH_SERVER_URL"] = server
        self.competitor = competitor
        self.process = subprocess.Popen(
            [python(), HERE / "compare_worker.py"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, op: str, **arguments: Any) -> Any:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"{self.competitor} worker failed on {op}; see its stderr above")
        return json.loads(line)

    def close(self) -> None:
        """Let the worker drop its database; a worker that already died just goes."""
        assert self.process.stdin
        try:
            self.process.stdin.write('{"op": "quit"}\n')
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait(timeout=300)


def rounds(workers: dict[str, Worker], op: str, runs: int, n: int) -> dict[str, Any]:
    """``runs`` rounds of ``op`` over every competitor, in a rotating order."""
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in workers}
    for run in range(runs):
        order = COMPETITORS[run % len(COMPETITORS) :] + COMPETITORS[: run % len(COMPETITORS)]
        for name in order:
            samples[name].append(workers[name].send(op, n=n))
    summary = {}
    for name, results in samples.items():
        pairs = list(zip(results, samples["stock"], strict=True))
        summary[name] = {
            "us": statistics.median(r["us"] for r in results),
            "ratio": statistics.median(r["us"] / s["us"] for r, s in pairs),
            "cpu_us": statistics.median(r["cpu_us"] for r in results),
            "cpu_ratio": statistics.median(r["cpu_us"] / s["cpu_us"] for r, s in pairs),
            "queries": statistics.median(r["queries"] for r in results),
        }
    return summary


def bench_database(label: str, server: str | None, args: argparse.Namespace) -> dict[str, Any]:
    log(f"{label}: starting {len(COMPETITORS)} workers")
    workers = {name: Worker(name, server) for name in COMPETITORS}
    try:
        versions = {name: worker.send("setup") for name, worker in workers.items()}
        log(f"{label}: authenticated requests, {args.runs} rounds of {args.requests}")
        requests = rounds(workers, "request", args.runs, args.requests)
        log(f"{label}: logins, {args.runs} rounds of {args.logins}")
        logins = rounds(workers, "login", args.runs, args.logins)
        lists, seeds = {}, {}
        for name in LISTED:
            log(f"{label}: {name}: seeding {args.rows:,} rows, {args.user_rows:,} for the user")
            seeds[name] = workers[name].send(
                "seed", rows=args.rows, user_rows=args.user_rows, revoke_rows=args.revoke_rows
            )
            lists[name] = workers[name].send("lists", runs=args.list_runs)
        log(f"{label}: staff actions")
        staff = workers["sessionmgr"].send("staff", runs=args.list_runs)
    finally:
        for worker in workers.values():
            worker.close()
    return {
        "label": label,
        "versions": versions,
        "requests": requests,
        "logins": logins,
        "seeds": seeds,
        "lists": lists,
        "staff": staff,
    }


def postgres_server(explicit: str | None) -> str | None:
    for url in (explicit, os.environ.get("POSTGRES_URL"), os.environ.get("DATABASE_URL")):
        if url and urlsplit(url).scheme in ("postgres", "postgresql"):
            return url
    return None


def render(results: list[dict[str, Any]], args: argparse.Namespace, command: str) -> str:
    first = results[0]["versions"]
    lines = [
        "# Benchmarks",
        "",
        "django-sessionmgr side by side with stock Django and its peers. Every figure",
        "comes from one run of one command:",
        "",
        "```console",
        f"$ {command}",
        "```",
        "",
        "It builds `benchmarks/.venv-peers` (the peers from PyPI, this project",
        "editable), starts one process per competitor and database with its own",
        "settings module (`benchmarks/compare_settings.py`) and a fresh database, and",
        "sends requests straight into Django's `WSGIHandler`, so the whole middleware",
        "stack and view run with nothing else in between. Each competitor uses the",
        "`db` session engine (django-user-sessions requires its own), persistent",
        "connections and the MD5 password hasher, so a login measures session",
        "bookkeeping, not password hashing.",
        "",
        f"- Run on {time.strftime('%Y-%m-%d')}, Python {platform.python_version()},"
        f" Django {first['stock']['django']}, {os.cpu_count()} CPUs"
        " (shared with other work: absolute times are noisy, ratios less so).",
        "- Competitors: "
        + ", ".join(
            first[name]["version"] if name != "stock" else NAMES[name] for name in COMPETITORS
        )
        + ".",
        f"- Request and login figures: medians of {args.runs} rounds of {args.requests:,}"
        f" requests and {args.logins:,} logins; the rounds rotate through the competitors"
        " and each ratio to stock is taken within its round.",
        f"- Page figures: medians of {args.list_runs} loads after one warm-up load (that"
        " counts the queries); for a page whose warm-up load takes over 5 s, that load's"
        " time stands.",
        "",
    ]
    lines += summary(results, args)
    for result in results:
        label = result["label"]
        lines += [
            f"## {label}",
            "",
            "### Authenticated request and login",
            "",
            "The same view (`request.user.get_username()`) behind each competitor's middleware,",
            "and a login through `django.contrib.auth.login`. CPU time is the worker process's",
            "own: steadier on a busy machine, but it leaves out the PostgreSQL server's share.",
            "",
            "| competitor | what | µs (wall) | ratio to stock | µs (CPU) | ratio to stock"
            " | queries |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for kind, what in (("requests", "request"), ("logins", "login")):
            for name in COMPETITORS:
                r = result[kind][name]
                lines.append(
                    f"| {NAMES[name]} | {what} | {r['us']:,.0f} | {r['ratio']:.3f}"
                    f" | {r['cpu_us']:,.0f} | {r['cpu_ratio']:.3f} | {r['queries']:.2f} |"
                )
        lines += [
            "",
            f"### Self-service list: {args.rows:,} rows, {args.user_rows:,} of them the user's",
            "",
            "Stock Django has no such page. The peers' pages show every session at once.",
            "",
            "| competitor | page | ms | queries |",
            "| --- | --- | ---: | ---: |",
        ]
        for name in LISTED:
            for path, page in result["lists"][name].items():
                lines.append(
                    f"| {NAMES[name]} | `{path}` | {page['ms']:,.1f} | {page['queries']:.0f} |"
                )
        staff = result["staff"]
        lines += [
            "",
            f"### Staff actions (django-sessionmgr, {args.rows:,} rows)",
            "",
            "| action | time | queries | peak Python memory |",
            "| --- | ---: | ---: | ---: |",
            f"| admin changelist `/admin/django_sessionmgr/usersession/`"
            f" | {staff['/admin/django_sessionmgr/usersession/']['ms']:,.1f} ms"
            f" | {staff['/admin/django_sessionmgr/usersession/']['queries']:.0f} | |",
            f"| staff API `/api/admin/sessions/` | {staff['/api/admin/sessions/']['ms']:,.1f} ms"
            f" | {staff['/api/admin/sessions/']['queries']:.0f} | |",
        ]
        for key in ("revoke_small", "revoke_large", "prune_small", "prune_large"):
            action = staff[key]
            what = "bulk revoke" if key.startswith("revoke") else "prune (`sessionmgr_prune`)"
            lines.append(
                f"| {what} of {action['result']:,} sessions | {action['seconds']:,.2f} s"
                f" | {action['queries']:,} | {action['peak_kib']:,.0f} KiB |"
            )
        lines += [
            "",
            "Bulk revoke is `UserSession.objects.filter(user__in=...).revoke()`, the code path",
            "behind the admin actions, the staff API and `sessionmgr_revoke`; it also deletes",
            "the stored sessions. Prune deletes the revoked rows once they are past",
            "`RETENTION_DAYS`. Memory is tracemalloc's peak during the action: it stays",
            "flat as the count grows tenfold.",
            "",
        ]
    return "\n".join(lines)


def summary(results: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """The headline figures, each straight from the tables below."""
    lines = ["## Summary", ""]
    for result in results:
        requests, label = result["requests"], result["label"]
        mgr, stock = requests["sessionmgr"], requests["stock"]
        peers = ", ".join(
            f"{NAMES[name]} {requests[name]['ratio']:.2f} times"
            f" ({requests[name]['queries']:.0f} queries)"
            for name in ("user_sessions", "allauth")
        )
        staff, pages = result["staff"], result["lists"]
        lines += [
            f"- **{label}.** An authenticated request costs {mgr['ratio']:.3f} times stock's"
            f" time (CPU {mgr['cpu_ratio']:.3f}) with {mgr['queries'] - stock['queries']:+.2f}"
            f" queries ({mgr['queries']:.0f} against stock's {stock['queries']:.0f});"
            f" peers: {peers}. A page of the user's {args.user_rows:,} sessions among"
            f" {args.rows:,}: {pages['sessionmgr']['/api/sessions/']['ms']:,.0f} ms (API),"
            f" {pages['sessionmgr']['/account/sessions/']['ms']:,.0f} ms (HTML); the peers"
            " list all of them: "
            + ", ".join(
                f"{NAMES[name]} {ms:,.0f} ms"
                for name in ("user_sessions", "allauth")
                for ms in [next(iter(pages[name].values()))["ms"]]
            )
            + f". Revoking {staff['revoke_large']['result']:,} sessions takes"
            f" {staff['revoke_large']['seconds']:.1f} s in {staff['revoke_large']['queries']}"
            f" queries with a {staff['revoke_large']['peak_kib']:,.0f} KiB memory peak"
            f" ({staff['revoke_small']['peak_kib']:,.0f} KiB for"
            f" {staff['revoke_small']['result']:,}).",
        ]
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="sessions in the big table")
    parser.add_argument("--user-rows", type=int, default=10_000, help="the listing user's share")
    parser.add_argument("--revoke-rows", type=int, default=100_000, help="sessions bulk revoked")
    # Many short rounds: a burst of load elsewhere on the machine then spoils a
    # few rounds' ratios, which the median drops, instead of one competitor's figure.
    parser.add_argument("--runs", type=int, default=21, help="rounds of requests and logins")
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--logins", type=int, default=10, help="logins per round")
    parser.add_argument("--list-runs", type=int, default=3, help="loads of each page")
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: POSTGRES_URL)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()

    started = time.monotonic()
    ensure_environment()
    databases: list[tuple[str, str | None]] = [("SQLite", None)]
    server = None if args.no_postgres else postgres_server(args.postgres)
    if server:
        databases.append(("PostgreSQL", server))
    else:
        log("no PostgreSQL server (POSTGRES_URL or --postgres): SQLite only")
    results = [bench_database(label, url, args) for label, url in databases]
    command = "python3 benchmarks/compare.py " + " ".join(
        arg for arg in sys.argv[1:] if not arg.startswith("--postgres=")
    )
    if server:
        command = 'eval "$(scripts/services.sh start)" && ' + command
    args.output.parent.mkdir(parents=True, exist_ok=True)
    kept = ""
    if args.output.exists() and KEEP_MARKER in (previous := args.output.read_text()):
        kept = "\n" + previous[previous.index(KEEP_MARKER) :]
    args.output.write_text(render(results, args, command.strip()) + kept)
    (HERE / "compare_results.json").write_text(json.dumps(results, indent=2))
    log(f"wrote {args.output} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
