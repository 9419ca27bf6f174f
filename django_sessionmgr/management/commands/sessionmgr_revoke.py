"""``manage.py sessionmgr_revoke USERNAME | --all [--reason TEXT]``: sign users out everywhere.

``--all`` (after a breach) ends the tokens no session records (from before
the install, unused since), then revokes every active session of every user in
batches through the one revoke path, in bounded memory, printing progress. It
selects by status, so a run that is interrupted resumes where it stopped when
started again, and walks the table in login order, so each batch costs the same.
``--workers N`` splits the sweep into N stretches of that order, each revoked
on its own database connection (PostgreSQL and MariaDB; SQLite takes one
writer at a time). Run from a request (``call_command`` in a view), it spares
the session serving that request.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, router

from ... import services
from ...exceptions import RevokeFailed
from ...markers import session_row_id
from ...models import REASON_MAX_LENGTH, RevokeReason, UserSession
from ...revocation import finish_interrupted_revokes, revoke_sessions
from ...token_clearers import sweep_tokens

BATCH_SIZE = 10_000
MAX_BATCH_SIZE = 50_000
MAX_WORKERS = 16

#: ``(created_at, pk)``: a place in the sweep's order.
Position = tuple[Any, Any]


def check_reason(reason: Any) -> None:
    """Refuse, with a ``CommandError``, a reason the row cannot store as given."""
    if not isinstance(reason, str):
        raise CommandError(f"--reason must be text; got {reason!r}.")
    if len(reason) > REASON_MAX_LENGTH:
        raise CommandError(
            f"--reason is {len(reason)} characters long; at most {REASON_MAX_LENGTH} are kept."
        )
    if not reason.isprintable():
        raise CommandError("--reason must be printable text, without control characters.")
    if reason in RevokeReason.values and reason != RevokeReason.COMMAND.value:
        raise CommandError(
            f"--reason {reason!r} is one of the app's own reason codes; describe it in words."
        )


class Command(BaseCommand):
    help = "Revoke all active sessions of one user, or of every user with --all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", help="The user's username (USERNAME_FIELD).")
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everyone",
            help="Revoke every active session of every user (after a breach).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Sessions revoked per batch with --all (default {BATCH_SIZE}).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="With --all, revoke this many stretches of the table at once, each on its "
            "own database connection (default 1; not on SQLite).",
        )
        parser.add_argument(
            "--reason",
            default=RevokeReason.COMMAND.value,
            help=f'Recorded as the revoke reason (default "{RevokeReason.COMMAND.value}").',
        )

    def handle(
        self,
        *args: Any,
        username: str | None,
        reason: str,
        everyone: bool,
        batch_size: int,
        workers: int,
        **options: Any,
    ) -> None:
        check_reason(reason)
        if not everyone and username is None:
            raise CommandError(
                "Say whose sessions to revoke: a username (sessionmgr_revoke alice), "
                "or --all for every user."
            )
        if everyone and username is not None:
            raise CommandError("Give either a username or --all, not both.")
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}.")
        if not 1 <= workers <= MAX_WORKERS:
            raise CommandError(f"--workers must be between 1 and {MAX_WORKERS}.")
        if workers > 1 and not everyone:
            raise CommandError("--workers goes with --all.")
        alias = router.db_for_write(UserSession)
        if workers > 1 and connections[alias].vendor == "sqlite":
            raise CommandError("SQLite takes one writer at a time: leave out --workers.")
        if everyone:
            self._revoke_everyone(reason, batch_size, workers)
            return
        user_model = get_user_model()
        # A NUL byte would reach the database driver, which refuses it (PostgreSQL).
        if not isinstance(username, str) or not username or "\x00" in username:
            raise CommandError(f"Not a valid username: {username!r}.")
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(f"No user with username {username!r}.") from None
        try:
            everywhere = UserSession.objects.signed_in_as_or_by([user.pk])
            count = _spare_current(everywhere).revoke(reason=reason)
        except RevokeFailed as error:
            raise CommandError(f"{error} Nothing was revoked; try again.") from error
        self.stdout.write(f"Revoked {count} session(s) of {user.get_username()}.")

    def _revoke_everyone(self, reason: str, batch_size: int, workers: int) -> None:
        active = _spare_current(UserSession.objects.filter(status=UserSession.Status.ACTIVE))
        total = active.count()
        # A revoke that a killed process left half-done (a rerun of this one):
        # finished first, and counted.
        finished = finish_interrupted_revokes(UserSession, router.db_for_write(UserSession))
        if finished:
            self.stdout.write(f"Finished {finished} session(s) an interrupted revoke had claimed.")
        try:
            # Tokens no row records (made before the install, unused since).
            sweep_tokens(None)
        except RevokeFailed as error:
            raise CommandError(f"{error} Nothing more was revoked; try again.") from error
        lock, failed = threading.Lock(), threading.Event()
        errors: list[RevokeFailed] = []
        done = finished

        def sweep(start: Position | None, stop: Position | None) -> int:
            """Revoke the active rows in (start, stop], a batch at a time.

            Each batch is a slice of the table in login order, found by
            reading one row batch_size rows on from where the last one ended,
            then revoked by that range: from the start each time, the read
            would step over every row revoked so far (quadratic: minutes at a
            million rows); by a list of ids, each row would cost a primary-key
            lookup (random UUIDs), where the range reads one stretch of the
            (status, created_at, id) index.
            """
            nonlocal done
            rows, swept, after = _until(active, stop), 0, start
            try:
                while not failed.is_set() and (upto := _batch_end(rows, after, batch_size)):
                    # Rows an interrupted revoke claimed are still active:
                    # claimed again here, and counted.
                    revoked = revoke_sessions(
                        _in_range(rows, after, upto), reason=reason, finish_interrupted=False
                    )
                    after, swept = upto, swept + revoked
                    with lock:
                        done += revoked
                        self.stdout.write(f"Revoked {done} of {total} session(s)...")
            except RevokeFailed as error:
                errors.append(error)
                failed.set()
            finally:
                if workers > 1:
                    connections.close_all()  # this thread's own connections
            return swept

        # Sessions started meanwhile come after the sweep; any that land
        # behind it are caught by one more sweep, until a sweep finds none.
        swept = -1
        while swept and not failed.is_set():
            bounds = _stretches(active, workers)
            if workers == 1:
                swept = sweep(None, None)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    swept = sum(pool.map(sweep, bounds[:-1], bounds[1:]))
        if errors:
            raise CommandError(
                f"{errors[0]} Revoked {done} so far; run the command again to go on."
            ) from errors[0]
        self.stdout.write(f"Revoked {done} session(s) of every user.")


def _stretches(active: Any, workers: int) -> list[Position | None]:
    """Where ``workers`` stretches of about the same size meet in login order,
    with None for either open end."""
    if workers == 1:
        return [None, None]
    count = active.count()
    ordered = active.order_by("created_at", "pk").values_list("created_at", "pk")
    places = sorted({count * i // workers for i in range(1, workers)} - {0})
    inner = [ordered[place - 1 : place].first() for place in places]
    return [None, *sorted({bound for bound in inner if bound is not None}), None]


def _until(rows: Any, stop: Position | None) -> Any:
    """The rows up to and including ``stop``; all of them without one."""
    if stop is None:
        return rows
    return rows.beyond(stop, later=False, inclusive=True)


def _after(rows: Any, after: tuple[Any, Any] | None) -> Any:
    """The rows past ``(created_at, pk)``; the plain ``>=`` bounds the index range."""
    if after is None:
        return rows
    return rows.beyond(after, later=True)


def _batch_end(active: Any, after: tuple[Any, Any] | None, size: int) -> tuple[Any, Any] | None:
    """``(created_at, pk)`` of the last row of the next batch; None when none is left."""
    rest = _after(active, after).values_list("created_at", "pk")
    end: tuple[Any, Any] | None = rest.order_by("created_at", "pk")[size - 1 : size].first()
    return end or rest.order_by("-created_at", "-pk").first()


def _in_range(active: Any, after: Position | None, upto: Position) -> Any:
    return _until(_after(active, after), upto)


def _spare_current(sessions: Any) -> Any:
    """Leave out the session serving the request that runs the command, if any."""
    return services.others(sessions, session_row_id())
