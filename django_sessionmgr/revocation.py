"""The one revoke code path: API, HTML views, admin, commands and receivers all end here.

A revoke runs in three steps, each safe to be the last one a process runs
before it is killed:

1. **Claim.** One transaction records a pending revoke (``PendingRevoke``)
   and tags the chosen active rows with its batch id, the actor and the
   reason. A claimed row still reads ``active`` (its session still loads),
   but no row write succeeds on it any more: a request that rotates its key
   meanwhile drops the new key, and a save that lands after the store is
   cleared is deleted again (``middleware``).
2. **Clear.** The stored sessions behind the claimed rows are deleted; for
   sessions a delete cannot end (signed cookies, ``cached_db``), their users'
   sign-out marks are replaced (``signouts``). The claimed token sessions'
   tokens are ended by their kind's clearer (``token_clearers``).
3. **Mark.** The claimed rows read ``revoked``, the pending record goes, and
   ``session_revoked`` is sent.

A revoke killed after step 1 leaves a pending record. The next revoke of any
kind, or the rerun of the interrupted one, finishes it (steps 2 and 3), so a
row never reads ``revoked`` while its session is still served.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Q,
    UUIDField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from .bulk_delete import delete_stored_sessions
from .exceptions import RevokeFailed
from .internals import query_hints
from .signals import session_revoked
from .signouts import mark_cache, record_sign_outs
from .token_clearers import clear_tokens, sweep_tokens

logger = logging.getLogger("django_sessionmgr")

if TYPE_CHECKING:
    from collections.abc import Collection

    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import Model, QuerySet

    from .models import UserSession
    from .queries import UserSessionQuerySet

#: Query hints a revoke reads (``UserSessionQuerySet.with_impersonations_by``
#: and ``sparing``): whose impersonations it also claims, and which session it spares.
ACTORS_HINT = "sessionmgr_actors"
SPARE_HINT = "sessionmgr_spare"
#: Interrupted revokes finished by one revoke, at most (the rest by the next).
FINISH_AT_ONCE = 100
#: A pending record that claimed no row for this long was left by a process
#: killed before its claim: it is dropped.
STALE_CLAIM = timedelta(minutes=10)


def revoke_sessions(
    sessions: UserSessionQuerySet,
    *,
    by: AbstractBaseUser | None = None,
    reason: str = "",
    finish_interrupted: bool = True,
) -> int:
    """Revoke the live sessions among ``sessions``; return how many.

    Rows are chosen by status, not by their recorded expiry: every session
    that still loads has an active row (the middleware ends a session at its
    row's expiry), so nothing that loads escapes. The query count does not
    grow with the number of rows. Rows claimed by an interrupted revoke are
    still active, so a rerun claims them again and counts them.

    If the store or the marks cannot be written, the claim is undone and
    ``RevokeFailed`` is raised: a retry then reaches the same sessions.

    A revoke of every session of some users (``signed_in_as_or_by``) also
    ends their tokens that no active row records (``sweep_tokens``).
    """
    model = sessions.model
    batch = uuid.uuid4()
    revoked_by = by if by is not None and by.pk is not None else None
    # Where the UPDATE writes (a locking query goes there too), not where
    # reads are routed: a replica that lags has not the marks yet.
    alias = sessions.select_for_update().db
    # Receivers see what was stored.
    reason = (reason or "")[: model._meta.get_field("revoke_reason").max_length]
    reason = model.storable_text(reason, alias)
    if (everyone_of := query_hints(sessions).get(ACTORS_HINT)) is not None:
        # Before the claim: what it claims is still active, so still recorded.
        sweep_tokens(everyone_of)
    pending = _pending_model()._default_manager.using(alias)
    # The record first (on the database's clock): a process killed between
    # the two leaves a bare record, never claimed rows without one.
    pending.create(batch=batch, created_at=Now())
    count, kinds = _claim_with_impersonations(sessions, alias, batch, revoked_by, reason)
    token_kinds: Collection[str] | None = kinds - {model.Kind.SESSION}
    finished: list[uuid.UUID] = []
    held_by_a_failing_revoke = False
    if finish_interrupted:
        finished, taken, held_by_a_failing_revoke = _finish_holders(
            sessions, alias, batch, revoked_by, reason
        )
        count += taken
        if taken:
            token_kinds = None  # rows taken over from a dead revoke: kinds unknown
    # Ours is finished (or its bare record dropped) even when another revoke
    # holds some of these sessions: what it claimed is revoked, then it fails.
    if count:
        _complete(
            model,
            alias,
            batch,
            revoked_by=revoked_by,
            reason=reason,
            undo_on_failure=True,
            token_kinds=token_kinds,
        )
    else:
        pending.filter(batch=batch).delete()
    if held_by_a_failing_revoke:
        raise RevokeFailed(
            "Another revoke holds some of these sessions and could not finish: the "
            "session store is not answering."
        )
    if finished:
        # What an interrupted revoke of these sessions left (a rerun): counted.
        count += sessions.filter(revoke_batch__in=finished).count()
    return count


def _claim_with_impersonations(
    sessions: UserSessionQuerySet,
    alias: str,
    batch: uuid.UUID,
    revoked_by: AbstractBaseUser | None,
    reason: str,
) -> tuple[int, frozenset[str]]:
    """Step 1: claim the active rows among ``sessions``, then the sessions
    their hints add (``ACTORS_HINT`` but ``SPARE_HINT``); return how many
    rows ``batch`` holds, and their kinds (counted in the same query, so a
    revoke of browser sessions only asks nothing more of token clearers)."""
    model = sessions.model
    touched = _claim(sessions, batch, revoked_by, reason)
    hints = query_hints(sessions)
    if (actors := hints.get(ACTORS_HINT)) is not None:
        # After the rows above: see UserSessionQuerySet.with_impersonations_by.
        impersonations = model.objects.using(alias).filter(impersonated_by__in=actors)
        if (spare := hints.get(SPARE_HINT)) is not None:
            impersonations = impersonations.exclude(pk=spare)
        touched += _claim(impersonations, batch, revoked_by, reason)
    if not touched:
        return 0, frozenset()
    # Rows another revoke holds were touched but keep its batch: count ours.
    per_kind = (
        model.objects.using(alias)
        .filter(revoke_batch=batch)
        .order_by()
        .values_list("kind")
        .annotate(rows=Count("pk"))
    )
    counted = dict(per_kind)
    return sum(counted.values()), frozenset(counted)


def _finish_holders(
    sessions: UserSessionQuerySet,
    alias: str,
    batch: uuid.UUID,
    revoked_by: AbstractBaseUser | None,
    reason: str,
) -> tuple[list[uuid.UUID], int, bool]:
    """Finish interrupted revokes: a first lot of any (``FINISH_AT_ONCE``),
    then exactly those that hold some of ``sessions``, whichever they are.

    A claim whose record is gone is taken over by ``batch``: nobody else
    will finish it. Returns the batches finished, the rows taken over, and
    whether some of ``sessions`` are still held by a revoke that cannot
    finish (the store fails): then this revoke cannot say it succeeded.
    """
    model = sessions.model
    finished, _ = _finish_pending(model, alias, but=batch)
    held = sessions.filter(status=model.Status.ACTIVE, revoke_batch__isnull=False).exclude(
        revoke_batch=batch
    )
    holders = set(held.order_by().values_list("revoke_batch", flat=True).distinct())
    if not holders:
        return finished, 0, False
    pending = _pending_model()._default_manager.using(alias)
    recorded = set(pending.filter(batch__in=holders).values_list("batch", flat=True))
    taken = 0
    if orphans := holders - recorded:
        taken = held.filter(revoke_batch__in=orphans).update(
            revoked_by=revoked_by, revoke_reason=reason, revoke_batch=batch
        )
    more, stuck = _finish_pending(model, alias, but=batch, only=recorded)
    return finished + more, taken, bool(stuck) or held.exists()


def _claim(
    sessions: UserSessionQuerySet,
    batch: uuid.UUID,
    revoked_by: AbstractBaseUser | None,
    reason: str,
) -> int:
    """Tag the active rows among ``sessions`` with ``batch``; return how many
    rows the UPDATE touched (those another revoke holds included).

    Rows another revoke claimed stay its own to finish (it may still be
    running, or have died: then the finishing does it). The condition sits
    in the SET, not the WHERE: there, SQLite without statistics would leave
    the per-user index for a scan of every active row. ``revoke_batch`` is
    set last: MySQL evaluates each SET with the ones before it applied.
    """
    model = sessions.model
    unclaimed = Q(revoke_batch__isnull=True)
    by_field = model._meta.get_field("revoked_by")
    touched = sessions.filter(status=model.Status.ACTIVE).update(
        revoked_by=Case(
            When(unclaimed, then=Value(revoked_by.pk if revoked_by is not None else None)),
            default=F("revoked_by"),
            output_field=by_field.target_field,
        ),
        revoke_reason=Case(
            When(unclaimed, then=Value(reason)),
            default=F("revoke_reason"),
            output_field=CharField(),
        ),
        revoke_batch=Coalesce(F("revoke_batch"), Value(batch), output_field=UUIDField()),
    )
    return int(touched)


def finish_interrupted_revokes(model: type[UserSession], alias: str) -> int:
    """Finish the revokes a killed process left half-done, however many;
    return how many sessions that revoked. A store that still fails leaves
    them for the next try."""
    holding = model.objects.using(alias).filter(
        status=model.Status.ACTIVE, revoke_batch__isnull=False
    )
    holders = set(holding.order_by().values_list("revoke_batch", flat=True).distinct())
    finished, _ = _finish_pending(model, alias, only=holders) if holders else ([], [])
    _finish_pending(model, alias)  # and what is left: bare records
    if not finished:
        return 0
    return model.objects.using(alias).filter(revoke_batch__in=finished).count()


def _finish_pending(
    model: type[UserSession], alias: str, but: Any = None, only: set[Any] | None = None
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Finish every pending revoke but ``but``; return the batches finished,
    and those that could not be (the store fails).

    One that is still running is finished alongside it, which is harmless
    (each step can run twice). A bare record, whose revoke died before it
    claimed anything, goes once it is old by the database's own clock."""
    stale = ExpressionWrapper(Now() - Value(STALE_CLAIM), output_field=DateTimeField())
    pending = (
        _pending_model()
        ._default_manager.using(alias)
        .exclude(batch=but)
        .annotate(bare_may_go=Case(When(created_at__lt=stale, then=True), default=False))
    )
    # The batches asked for, else every one, the oldest first when many wait.
    pending = pending.filter(batch__in=only) if only is not None else pending.order_by("created_at")
    finished: list[uuid.UUID] = []
    stuck: list[uuid.UUID] = []
    rows = pending.values_list("batch", "bare_may_go")
    for batch, bare_may_go in list(rows if only is not None else rows[:FINISH_AT_ONCE]):
        claimed = model.objects.using(alias).filter(revoke_batch=batch)
        first = claimed.values("revoked_by", "revoke_reason").first()
        if first is None and not bare_may_go:
            continue  # not claimed yet: a revoke that is still running
        by = None
        if first is not None and first["revoked_by"] is not None:
            by = get_user_model()._default_manager.filter(pk=first["revoked_by"]).first()
        try:
            count = _complete(
                model,
                alias,
                batch,
                revoked_by=by,
                reason=first["revoke_reason"] if first else "",
                undo_on_failure=False,
            )
        except RevokeFailed:
            logger.error("An interrupted revoke could not be finished yet: the store fails")
            stuck.append(batch)
            continue
        if count:
            logger.warning("Finished an interrupted revoke of %d session(s)", count)
        finished.append(batch)
    return finished, stuck


def _complete(
    model: type[UserSession],
    alias: str,
    batch: uuid.UUID,
    *,
    revoked_by: AbstractBaseUser | None,
    reason: str,
    undo_on_failure: bool,
    token_kinds: Collection[str] | None = None,
) -> int:
    """Steps 2 and 3 for the rows claimed under ``batch``; return how many it marked.

    ``token_kinds``: the kinds of token sessions among them, when known (None:
    read them). Tokens are ended first: a package that fails leaves every
    session as it was. When the store fails after them, the token sessions
    are over all the same, so their rows read revoked, and only the claim
    of the rest is undone."""
    claimed = model.objects.using(alias).filter(revoke_batch=batch, status=model.Status.ACTIVE)
    try:
        clear_tokens(claimed, token_kinds)  # none to end: no query
    except RevokeFailed:
        if undo_on_failure:
            _undo_claim(claimed, alias, batch)
        raise
    try:
        _clear(claimed)
    except RevokeFailed:
        if undo_on_failure:
            tokens = claimed.exclude(kind=model.Kind.SESSION)
            ended = tokens.update(status=model.Status.REVOKED, revoked_at=timezone.now())
            _undo_claim(claimed, alias, batch)
            _announce(model, alias, batch, ended, revoked_by, reason)
        raise
    count = claimed.update(status=model.Status.REVOKED, revoked_at=timezone.now())
    _pending_model()._default_manager.using(alias).filter(batch=batch).delete()
    if connections[alias].in_atomic_block:
        # Until the caller's transaction commits, no other request sees the
        # claim: a save that lands meanwhile passes its check of the row.
        # Clearing again once it commits deletes what such a save wrote.
        transaction.on_commit(partial(_clear_after_commit, model, alias, batch), using=alias)
    _announce(model, alias, batch, count, revoked_by, reason)
    return count


def _announce(
    model: type[UserSession],
    alias: str,
    batch: uuid.UUID,
    count: int,
    revoked_by: AbstractBaseUser | None,
    reason: str,
) -> None:
    """``session_revoked`` for the ``count`` rows of ``batch`` that read revoked."""
    if count:
        session_revoked.send(
            sender=model,
            sessions=model.objects.using(alias).filter(
                revoke_batch=batch, status=model.Status.REVOKED
            ),
            count=count,
            revoked_by=revoked_by,
            reason=reason,
        )


def _undo_claim(claimed: QuerySet[UserSession], alias: str, batch: uuid.UUID) -> None:
    """A failed revoke lets go of the rows it still holds, and of its record:
    a retry reaches the same sessions."""
    claimed.update(revoked_by=None, revoke_reason="", revoke_batch=None)
    _pending_model()._default_manager.using(alias).filter(batch=batch).delete()
    logger.error("Revoking session(s) failed: the session store or tokens could not be cleared")


def _clear_after_commit(model: type[UserSession], alias: str, batch: uuid.UUID) -> None:
    revoked = model.objects.using(alias).filter(revoke_batch=batch)
    try:
        # The tokens were ended inside the transaction, which commits their end.
        _clear(revoked)
    except RevokeFailed:
        logger.error(
            "The sessions of a revoke could not be cleared again after its transaction "
            "committed: a save that ran meanwhile may have written one back"
        )


def _clear(rows: QuerySet[UserSession]) -> None:
    """Step 2 for ``rows``, after their tokens: their stored sessions
    deleted, their users' sign-out marks replaced. Raises ``RevokeFailed``."""
    delete_stored_sessions(rows.exclude(session_key="").values_list("session_key", flat=True))
    _record_sign_outs(rows)


def _pending_model() -> type[Model]:
    return apps.get_model("django_sessionmgr", "PendingRevoke")


def _record_sign_outs(revoked: QuerySet[UserSession]) -> None:
    """The sign-out marks of the revoked sessions' users, when marks are in use."""
    if mark_cache() is None:
        return
    users = list(revoked.order_by().values_list("user_id", flat=True).distinct())
    try:
        record_sign_outs(users)
    except Exception as error:
        raise RevokeFailed(
            f"The sign-out marks could not be written ({type(error).__name__})."
        ) from error
