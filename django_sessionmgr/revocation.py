"""The one revoke code path: API, HTML views, admin, commands and receivers all end here."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from django.utils import timezone

from .exceptions import RevokeFailed
from .signals import session_revoked
from .signouts import mark_cache, record_sign_outs
from .stores import delete_stored_sessions

logger = logging.getLogger("django_sessionmgr")

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

    from .models import UserSession, UserSessionQuerySet


def revoke_sessions(
    sessions: UserSessionQuerySet,
    *,
    by: AbstractBaseUser | None = None,
    reason: str = "",
) -> int:
    """Revoke the live sessions among ``sessions``; return how many.

    Rows are chosen by status, not by their recorded expiry: every session
    that still loads has an active row (the middleware ends a session at its
    row's expiry), so nothing that loads escapes. One UPDATE marks the rows and
    tags them with a batch id; the stored sessions behind exactly those rows
    are then deleted through the engine's bulk operation, and
    ``session_revoked`` is sent once for the batch. The query count does not
    grow with the number of rows.

    The mark comes first, so a request that rotates its key meanwhile finds
    its row revoked and drops the new key. Signed cookies have no store to
    clear: their users' sign-out marks are written instead (``signouts``).
    If the store or the marks cannot be written, the rows are put back to
    active and ``RevokeFailed`` is raised: a retry then reaches the same
    sessions.
    """
    model = sessions.model
    active = model.Status.ACTIVE
    batch = uuid.uuid4()
    revoked_by = by if by is not None and by.pk is not None else None
    # Where the UPDATE writes (a locking query goes there too), not where
    # reads are routed: a replica that lags has not the marks yet.
    alias = sessions.select_for_update().db
    # Receivers see what was stored.
    reason = (reason or "")[: model._meta.get_field("revoke_reason").max_length]
    reason = model.storable_text(reason, alias)
    count = sessions.filter(status=active).update(
        status=model.Status.REVOKED,
        revoked_at=timezone.now(),
        revoked_by=revoked_by,
        revoke_reason=reason,
        revoke_batch=batch,
    )
    if not count:
        return 0
    revoked = model.objects.using(alias).filter(revoke_batch=batch)
    try:
        delete_stored_sessions(
            revoked.exclude(session_key="").values_list("session_key", flat=True)
        )
        _record_sign_outs(revoked)
    except RevokeFailed:
        revoked.update(
            status=active,
            revoked_at=None,
            revoked_by=None,
            revoke_reason="",
            revoke_batch=None,
        )
        logger.error("Revoking %d session(s) failed: the session store could not be cleared", count)
        raise
    session_revoked.send(
        sender=model, sessions=revoked, count=count, revoked_by=revoked_by, reason=reason
    )
    return count


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
