"""Whether a token family may still be served, at one cache ``get`` a request.

A stateless token (a simplejwt access token) carries no row to read: this
module answers from the user's sign-out mark (``signouts``) and what this
process last saw of the family's row. Every event that stops a family
(a revoke's clear step, the package's own logout) replaces the user's mark
*after* the row stopped being active, so a request is vouched for only while
the cache holds the very mark this process read before it last found the row
active; otherwise the row is read again (one indexed query). Timeouts need
no mark: the row's recorded end is kept here and compared with the clock.

The marks live in ``SESSION_CACHE_ALIAS`` whatever the session engine. A
process-local cache (``LocMemCache``) cannot carry a mark between processes:
then every request reads the row. docs/tokens.md ("simplejwt") states the guarantee.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from functools import partial
from typing import Any, NamedTuple

from django.db import connections, transaction

from ..models import UserSession
from ..signouts import current_mark, shared_mark_cache, vouches, write_marks
from .known import KnownTokens
from .lookup import token_rows

logger = logging.getLogger("django_sessionmgr")


class Seen(NamedTuple):
    """What this process saw when it last found a family's row active."""

    #: The user's sign-out mark, read before the row.
    mark: str
    #: The row's recorded end (Unix time): past it, the row is read again.
    ends: float


_seen: KnownTokens[Seen] = KnownTokens()


def replace_marks(user_pks: Iterable[Any], *, using: str) -> None:
    """Mark that token families of these users stopped just now. Call it after
    the write that stopped them, on the database ``using``. Raises if the
    cache fails.

    Inside a transaction, the marks are replaced again once it commits: until
    then another request may read the new mark yet still find the row active.
    """
    users = set(user_pks)
    _write_marks(users)
    if users and connections[using].in_atomic_block:
        transaction.on_commit(partial(_write_marks_after_commit, users), using=using)


def _write_marks_after_commit(user_pks: set[Any]) -> None:
    try:
        _write_marks(user_pks)
    except Exception as error:
        logger.error(
            "django-sessionmgr could not write a sign-out mark after a transaction that "
            "stopped token families committed (%s); their access tokens may be accepted "
            "until they expire",
            type(error).__name__,
        )


def _write_marks(user_pks: set[Any]) -> None:
    if (cache := shared_mark_cache()) is not None:
        write_marks(cache, user_pks)


def family_serves(digests: list[str], user_pk: Any) -> bool | None:
    """May the family whose row holds one of ``digests`` (the first under
    ``SECRET_KEY``), of the user ``user_pk``, be served now? None when the
    family has no row. Between row writes: one cache ``get``, no query."""
    digest = digests[0]
    cache = shared_mark_cache()
    # A mark added here (the user had none) vouches for nothing seen before.
    mark = current_mark(cache, user_pk) if cache is not None else None
    seen = _seen.get(digest)
    if seen is not None and vouches(mark, seen.mark) and time.time() < seen.ends:
        return True
    row = (
        token_rows(UserSession.Kind.JWT, digests)
        .values_list("status", "expires_at", "revoke_batch")
        .first()
    )
    if row is None:
        return None
    status, expires_at, claimed = row
    if status != UserSession.Status.ACTIVE or expires_at.timestamp() <= time.time():
        forget(digest)
        return False
    if mark is not None and claimed is None:  # a revoke under way vouches for nothing
        _seen.put(digest, Seen(mark, expires_at.timestamp()))
    return True


def forget(digest: str) -> None:
    _seen.forget(digest)
