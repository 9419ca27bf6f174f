"""The session limit, ``MAX_SESSIONS``: applied at login, in the login's own
transaction. (The timeouts, ``IDLE_TIMEOUT`` and ``ABSOLUTE_TIMEOUT``, are in
``endings``.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import router, transaction
from django.utils.module_loading import import_string

from .conf import app_settings
from .exceptions import RevokeFailed
from .models import RevokeReason, UserSession

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


logger = logging.getLogger("django_sessionmgr")


def session_limit(user: AbstractBaseUser) -> int | None:
    """The user's ``MAX_SESSIONS``: an int, or a callable (or its dotted path)
    taking the user and returning an int or None."""
    limit: Any = app_settings.MAX_SESSIONS
    if isinstance(limit, str):
        limit = import_string(limit)
    if callable(limit):
        limit = limit(user)
    return None if limit is None else max(int(limit), 1)


def enforce_session_limit(user: AbstractBaseUser, new_row_id: str) -> int:
    """Revoke the user's least recently active other sessions past the limit.

    Runs inside ``login_atomically``, after the login's row was inserted.
    """
    return revoke_past_limit(sessions_past_limit(user, new_row_id))


def sessions_past_limit(user: AbstractBaseUser, new_row_id: str) -> list[Any]:
    """The ids of the user's least recently active other sessions past the limit.

    Sessions staff started while impersonating the user are not the user's
    own doing: they neither count nor are revoked. Token sessions count (and
    go) with the others unless ``TOKENS_COUNT_TOWARD_MAX_SESSIONS`` is off.
    Read inside ``login_atomically``, so that concurrent logins each see the
    others' rows.
    """
    limit = session_limit(user)
    if limit is None:
        return []
    others = (
        UserSession.objects.from_primary()  # in the login's transaction
        .filter(user_id=user.pk, status=UserSession.Status.ACTIVE, impersonated_by__isnull=True)
        .exclude(pk=new_row_id)
        .order_by("-last_activity_at", "-created_at")
    )
    if not app_settings.TOKENS_COUNT_TOWARD_MAX_SESSIONS:
        others = others.filter(kind=UserSession.Kind.SESSION)
    return list(others.values_list("pk", flat=True)[limit - 1 :])


def tokens_count() -> bool:
    """Whether a token login applies ``MAX_SESSIONS`` (and token sessions count)."""
    return bool(app_settings.TOKENS_COUNT_TOWARD_MAX_SESSIONS)


def revoke_past_limit(excess: list[Any]) -> int:
    """Revoke the sessions ``sessions_past_limit`` found, reason ``session_limit``."""
    if not excess:
        return 0
    try:
        return UserSession.objects.filter(pk__in=excess).revoke(
            reason=RevokeReason.SESSION_LIMIT.value
        )
    except RevokeFailed:
        logger.error("A login went past MAX_SESSIONS: the session store could not be cleared")
        return 0


@contextmanager
def login_atomically(user: AbstractBaseUser) -> Iterator[None]:
    """The transaction a login records its row in, when a limit applies.

    It locks the user's row first, before the insert: concurrent logins of one
    user then run one after the other, so together they never leave more than
    the limit active. Taken after the insert, the lock would deadlock with the
    shared lock the insert's foreign-key check holds (InnoDB, PostgreSQL).
    """
    if app_settings.MAX_SESSIONS is None:
        yield
        return
    with transaction.atomic(using=router.db_for_write(UserSession)):
        list(type(user)._default_manager.select_for_update().filter(pk=user.pk).values("pk"))
        yield
