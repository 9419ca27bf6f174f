"""A revoke killed half-way, with a real SIGKILL.

A process runs the revoke and kills itself (SIGKILL, nothing caught, nothing
flushed) when the revoke reaches its store cleanup: after it chose and
claimed its rows, before any stored session was deleted. Everything else runs
for real, in processes of its own, on one SQLite file they all reach: the
logins, the killed revoke, the requests and the rerun (tests/process_steps.py).
On db, cache (on Redis: a process-local cache cannot be shared) and file.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.process_steps import run_in_process
from tests.real_servers import once_per_run, redis_url

pytestmark = [pytest.mark.services, pytest.mark.slow, once_per_run]

ENGINES = ["db", "cache", "file"]
#: Where the killed revoke starts, and the rerun its documentation gives.
REVOKES = {
    "command-user": (["command", ["sessionmgr_revoke", "alice"]], ["sessionmgr_revoke", "alice"]),
    "command-all": (["command", ["sessionmgr_revoke", "--all"]], ["sessionmgr_revoke", "--all"]),
    "queryset": (["revoke_user", "alice"], ["sessionmgr_revoke", "alice"]),
}
#: ACTIVITY_UPDATE_INTERVAL in the processes, in seconds.
ACTIVITY_INTERVAL = 1

Run = Callable[..., Any]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test works on its own copy."""
    database = tmp_path_factory.mktemp("interrupted") / "template.sqlite3"
    run_in_process(_env(database, "db", tmp_path_factory.getbasetemp()), "migrate")
    return database


@pytest.fixture(params=ENGINES)
def run(request: pytest.FixtureRequest, migrated: Path, tmp_path: Path) -> Run:
    """Run steps in a new process on this test's database and engine."""
    database = tmp_path / "db.sqlite3"
    shutil.copy(migrated, database)
    folder = tmp_path / "sessions"
    folder.mkdir()
    env = _env(database, request.param, folder)
    if request.param == "cache":
        env["SESSIONMGR_TEST_CACHE_URL"] = redis_url()
        env["SESSIONMGR_TEST_CACHE_PREFIX"] = f"interrupted-{uuid.uuid4().hex}"

    def run_steps(*todo: Any, killed: bool = False) -> Any:
        return run_in_process(env, *todo, killed=killed)

    return run_steps


def _env(database: Path, engine: str, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_processes",
        "DATABASE_URL": f"sqlite:///{database}",
        "SESSIONMGR_TEST_ENGINE": engine,
        "SESSION_FILE_PATH": str(folder),
        "SESSIONMGR_TEST_ACTIVITY_INTERVAL": str(ACTIVITY_INTERVAL),
    }


def _sign_in_then_kill_while_revoking(
    run: Run, revoke: list[Any]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Two sessions of alice and one of bob; then, in the same process, the
    revoke, killed when it reaches its store cleanup."""
    _, *sessions, _ = run(
        ["users", ["alice", "bob"]],
        *[["login", name] for name in ("alice", "alice", "bob")],
        ["kill_before", "delete_stored_sessions"],
        revoke,
        killed=True,
    )
    alice1, alice2, bob = sessions
    return alice1, alice2, bob


@pytest.mark.parametrize("path", list(REVOKES))
def test_a_killed_revoke_leaves_served_rows_active_and_the_rerun_finishes_and_counts_them(
    run: Run, path: str
) -> None:
    revoke, rerun = REVOKES[path]
    alice1, alice2, bob = _sign_in_then_kill_while_revoking(run, revoke)

    sessions = (alice1, alice2, bob)
    # What the rerun finds, the rerun, and what it left (in one process:
    # nothing outlives a step there but what the database and the store hold).
    rows, *results = run(
        "rows",
        *[["stored", s["cookie"]] for s in sessions],
        ["command", rerun],
        "rows",
        *[["stored", s["cookie"]] for s in sessions],
        *[["whoami", s["cookie"]] for s in sessions],
    )
    holders, [output, rows_after], after = results[:3], results[3:5], results[5:]
    # The stored sessions still loaded; their rows said so (still revocable).
    assert holders == ["alice", "alice", "bob"]
    assert [rows[s["row"]]["status"] for s in sessions] == ["active"] * 3
    everyone = path == "command-all"
    # The rerun counts the sessions it finished.
    assert output.splitlines()[-1] == (
        "Revoked 3 session(s) of every user." if everyone else "Revoked 2 session(s) of alice."
    )
    assert [rows_after[s["row"]]["status"] for s in sessions] == [
        "revoked",
        "revoked",
        "revoked" if everyone else "active",
    ]
    bob_left = None if everyone else "bob"
    assert after == [None, None, bob_left, None, None, bob_left]


def test_the_next_revoke_of_another_user_finishes_a_killed_one(run: Run) -> None:
    alice1, alice2, bob = _sign_in_then_kill_while_revoking(
        run, ["command", ["sessionmgr_revoke", "alice"]]
    )

    revoked, rows, *after = run(
        ["revoke_row", bob["row"]],
        "rows",
        *[["stored", s["cookie"]] for s in (alice1, alice2, bob)],
        *[["whoami", s["cookie"]] for s in (alice1, alice2, bob)],
    )
    assert revoked is True
    assert [rows[s["row"]]["status"] for s in (alice1, alice2, bob)] == ["revoked"] * 3
    assert after == [None] * 6


def test_a_claimed_row_takes_no_activity_write(run: Run) -> None:
    alice1, alice2, _ = _sign_in_then_kill_while_revoking(run, ["revoke_user", "alice"])
    # Markers hold whole seconds: from this second on, the next request of
    # alice1 is due an activity write.
    due = int(time.time()) + ACTIVITY_INTERVAL
    before, _, user, after, holder, output, finished = run(
        "rows",
        ["sleep", max(0, due - time.time() + 0.05)],
        ["whoami", alice1["cookie"]],
        "rows",
        ["stored", alice1["cookie"]],
        ["command", ["sessionmgr_revoke", "alice"]],
        "rows",
    )
    assert before[alice1["row"]]["status"] == "active"
    # The request is refused rather than stamping the claimed row.
    assert user is None
    assert holder is None
    assert after[alice1["row"]] == before[alice1["row"]]
    # The next revoke still finishes it, and counts it.
    assert output == "Revoked 2 session(s) of alice."
    assert finished[alice1["row"]]["status"] == finished[alice2["row"]]["status"] == "revoked"
