"""The one revoke code path: API, HTML views, admin, commands and receivers all end here."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.utils import timezone

from .signals import session_revoked
from .stores import delete_stored_sessions

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from .models import UserSessionQuerySet


def revoke_sessions(
    sessions: UserSessionQuerySet,
    *,
    by: AbstractBaseUser | None = None,
    reason: str = "",
) -> int:
    """Revoke the active sessions among ``sessions``; return how many.

    One UPDATE marks the rows and tags them with a batch id; the stored
    sessions behind exactly those rows are then deleted through the engine's
    bulk operation, and ``session_revoked`` is sent once for the batch. The
    query count does not grow with the number of rows.
    """
    from .models import REASON_MAX_LENGTH, UserSession

    batch = uuid.uuid4()
    revoked_by = by if by is not None and by.pk is not None else None
    reason = (reason or "")[:REASON_MAX_LENGTH]  # receivers see what was stored
    count = sessions.active().update(
        status=UserSession.Status.REVOKED,
        revoked_at=timezone.now(),
        revoked_by=revoked_by,
        revoke_reason=reason,
        revoke_batch=batch,
    )
    if not count:
        return 0
    revoked = UserSession.objects.using(sessions.db).filter(revoke_batch=batch)
    delete_stored_sessions(revoked.exclude(session_key="").values_list("session_key", flat=True))
    session_revoked.send(
        sender=UserSession, sessions=revoked, count=count, revoked_by=revoked_by, reason=reason
    )
    return count
