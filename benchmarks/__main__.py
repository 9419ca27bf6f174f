"""``python -m benchmarks <scenario> [its options]``; ``--all`` runs each with its defaults.

Each scenario is a script in this directory that sets Django up its own way,
so each runs in its own process. Options after the scenario's name go to it
(``python -m benchmarks user_list --help``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name: (script, what it measures)
SCENARIOS = {
    "request_overhead": (
        "request_overhead.py",
        "WSGI request between activity writes, stock vs app, every engine; login",
    ),
    "login_ua": (
        "login_ua.py",
        "login with never-seen user agents, stock vs app, paired batches; its profile",
    ),
    "user_list": (
        "user_list.py",
        "a user's own lists at 20k/200k/1M realistic rows (SQLite without ANALYZE, or PG)",
    ),
    "mass_revoke": (
        "mass_revoke.py",
        "sessionmgr_revoke --all at 100k and 1M active rows: time, peak memory",
    ),
    "self_service_list": ("self_service_list.py", "the self-service list, one user's 10k rows"),
    "admin_changelist": ("admin_changelist.py", "the admin changelist at 1M rows"),
    "staff_bulk": ("staff_bulk.py", "staff bulk revoke through the admin and the staff API"),
    "compare": ("compare.py", "side by side with the peers; rewrites docs/benchmarks.md"),
}


def run(name: str, args: list[str]) -> int:
    script, _ = SCENARIOS[name]
    print(f"== {name}: python benchmarks/{script} {' '.join(args)}".rstrip(), flush=True)
    return subprocess.run([sys.executable, str(HERE / script), *args]).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        for name, (_, what) in SCENARIOS.items():
            print(f"  {name:<18} {what}")
        return 0
    if argv[0] == "--all":
        failed = [name for name in SCENARIOS if run(name, []) != 0]
        if failed:
            print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    if argv[0] not in SCENARIOS:
        print(f"unknown scenario {argv[0]!r}; one of: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
