"""Steps a test runs in a process of its own: ``python -m tests.process_steps``.

Reads a JSON list of steps on stdin, runs them in order with
``tests.settings_processes``, and prints each one's result as a line of JSON
as soon as it has it. A process that ``kill_before`` armed is killed for real
(SIGKILL) when the revoke reaches that point, so the results it printed are
those of the steps before (tests/revoke/test_interrupted.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import import_module
from io import StringIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
PASSWORD = "correct horse battery staple"
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _client(cookie: str | None = None) -> Any:
    from django.conf import settings
    from django.test import Client

    client = Client(headers={"user-agent": FIREFOX}, REMOTE_ADDR="203.0.113.9")
    if cookie is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def users(names: list[str]) -> None:
    from django.contrib.auth import get_user_model

    for name in names:
        get_user_model().objects.create_user(name, f"{name}@example.com", PASSWORD)


def login(user: str) -> dict[str, Any]:
    """Log in through the real login view; the cookie, and the row it got."""
    from django.conf import settings

    client = _client()
    response = client.post("/accounts/login/", {"username": user, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    response = client.get("/api/sessions/", headers={"accept": "application/json"})
    assert response.status_code == 200, response.status_code
    [row] = [item["id"] for item in response.json()["results"] if item["is_current"]]
    return {"cookie": client.cookies[settings.SESSION_COOKIE_NAME].value, "row": row}


def kill_before(name: str) -> None:
    """SIGKILL this process when the revoke calls ``revocation.<name>``."""
    from django_sessionmgr import revocation

    def die(*args: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(revocation, name, die)


def command(args: list[str]) -> str:
    from django.core.management import call_command

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def revoke_user(user: str) -> int:
    """The queryset revoke: every session of ``user``."""
    from django_sessionmgr.models import UserSession

    return int(UserSession.objects.filter(user__username=user).revoke())


def revoke_row(row: str) -> bool:
    """The one-session revoke (the API's and the pages' path)."""
    from django_sessionmgr.models import UserSession

    return bool(UserSession.objects.get(pk=row).revoke())


def whoami(cookie: str) -> str | None:
    response = _client(cookie).get("/whoami/")
    assert response.status_code == 200, response.status_code
    user: str | None = response.json()["user"]
    return user


def stored(cookie: str) -> str | None:
    """Whose session the store holds under this key (None: no session there)."""
    from django.conf import settings
    from django.contrib.auth import SESSION_KEY, get_user_model

    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not store().exists(cookie):
        return None
    pk = store(cookie).load().get(SESSION_KEY)
    user = get_user_model().objects.filter(pk=pk).first()
    return user.get_username() if user else None


def rows() -> dict[str, dict[str, Any]]:
    from django_sessionmgr.models import UserSession

    return {
        str(row.pk): {
            "user": row.user.get_username(),
            "status": row.status,
            "claimed": row.revoke_batch is not None,
            "last_activity_at": row.last_activity_at.isoformat(),
        }
        for row in UserSession.objects.select_related("user")
    }


def sleep(seconds: float) -> None:
    time.sleep(seconds)


STEPS: dict[str, Callable[..., Any]] = {
    step.__name__: step
    for step in [
        *(migrate, users, login, kill_before, command, revoke_user, revoke_row),
        *(whoami, stored, rows, sleep),
    ]
}


def run_in_process(env: dict[str, str], *todo: Any, killed: bool = False) -> list[Any]:
    """Run ``todo`` (``[name, *args]`` or a bare name) in a new process with
    ``env``; the steps' results.

    With ``killed``, the process must die of SIGKILL: the results are then
    those of the steps before its death."""
    listed = [[step] if isinstance(step, str) else step for step in todo]
    result = subprocess.run(
        [sys.executable, "-m", "tests.process_steps"],
        cwd=ROOT,
        env=env,
        input=json.dumps(listed),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    expected = -signal.SIGKILL if killed else 0
    assert result.returncode == expected, (result.returncode, result.stderr)
    return [json.loads(line) for line in result.stdout.splitlines()]


def main() -> None:
    import django

    django.setup()
    for name, *args in json.load(sys.stdin):
        print(json.dumps(STEPS[name](*args)), flush=True)


if __name__ == "__main__":
    main()
