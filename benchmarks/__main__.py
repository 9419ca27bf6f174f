"""``python -m benchmarks <scenario> [options]`` runs one; ``--all`` runs each with its defaults.

Each scenario is a module here with ``add_arguments(parser)`` and
``run(options)``, on ``benchmarks/harness.py``. Every one takes
``--database postgres://.../name`` (that database is dropped and created
afresh; default: a fresh SQLite file) and prints markdown table rows.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

SCENARIOS = [
    "wsgi",
    "asgi",
    "login_ua",
    "user_list",
    "mass_revoke",
    "staff_bulk",
    "admin_changelist",
    "tokens",
    "compare",
    "cold_start",
    "worker_memory",
]


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        for name in SCENARIOS:
            doc = importlib.import_module(f"benchmarks.{name}").__doc__ or ""
            print(f"  {name:<17} {doc.strip().splitlines()[0]}")
        return 0
    if argv[0] == "--all":  # Django is set up once per process: one process each
        failed = [
            name
            for name in SCENARIOS
            if subprocess.run([sys.executable, "-m", "benchmarks", name]).returncode
        ]
        print(f"failed: {', '.join(failed)}" if failed else "all passed", file=sys.stderr)
        return 1 if failed else 0
    if argv[0] not in SCENARIOS:
        print(f"unknown scenario {argv[0]!r}; one of: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    scenario = importlib.import_module(f"benchmarks.{argv[0]}")
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks {argv[0]}", description=scenario.__doc__
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--database", help="a postgres:// URL (default: a fresh SQLite file)")
    scenario.add_arguments(parser)
    options = parser.parse_args(argv[1:])
    print(f"== python -m benchmarks {' '.join(argv)}", file=sys.stderr, flush=True)
    return scenario.run(options) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
