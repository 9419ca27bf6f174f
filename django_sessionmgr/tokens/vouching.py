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
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from functools import partial
from typing import Any, NamedTuple

from django.core.cache import BaseCache, caches
from django.db import connections, transaction

from ..batches import batched
from ..conf import django_settings
from ..models import UserSession
from ..signouts import LOCAL_CACHES, MARK_BATCH_SIZE, mark_key, new_token, read_mark, vouches

logger = logging.getLogger("django_sessionmgr")

#: Families remembered per process, at most (the least recently used go).
REMEMBERED_FAMILIES = 10_000


class Seen(NamedTuple):
    """What this process saw when it last found a family's row active."""

    #: The user's sign-out mark, read before the row.
    mark: str
    #: The row's recorded end (Unix time): past it, the row is read again.
    ends: float


_seen: OrderedDict[str, Seen] = OrderedDict()
_lock = threading.Lock()


def shared_cache() -> BaseCache | None:
    """The cache holding the marks, or None when it is local to each process."""
    cache = caches[django_settings.SESSION_CACHE_ALIAS]
    return None if isinstance(cache, LOCAL_CACHES) else cache


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
    cache = shared_cache()
    if cache is None:
        return
    token = new_token()
    timeout = int(django_settings.SESSION_COOKIE_AGE)
    for batch in batched([mark_key(pk) for pk in user_pks], MARK_BATCH_SIZE):
        if failed := cache.set_many(dict.fromkeys(batch, token), timeout):
            raise RuntimeError(f"{len(failed)} sign-out mark(s) were not stored")


def family_serves(digests: list[str], user_pk: Any) -> bool:
    """May the family whose row holds one of ``digests`` (the first under
    ``SECRET_KEY``), of the user ``user_pk``, be served now? Between row
    writes: one cache ``get``, no query."""
    digest = digests[0]
    cache = shared_cache()
    mark = _read(cache, user_pk) if cache is not None else None
    seen = _recall(digest)
    if seen is not None and vouches(mark, seen.mark) and time.time() < seen.ends:
        return True
    if cache is not None and mark is None:
        mark = _add_mark(cache, user_pk)
    row = (
        UserSession.objects.from_primary()
        .filter(token_digest__in=digests, kind=UserSession.Kind.JWT)
        .order_by()
        .values_list("status", "expires_at", "revoke_batch")
        .first()
    )
    if row is None:
        return True  # no row yet (its login could not write one): token_used adopts it
    status, expires_at, claimed = row
    if status != UserSession.Status.ACTIVE or expires_at.timestamp() <= time.time():
        forget(digest)
        return False
    if mark is not None and claimed is None:  # a revoke under way vouches for nothing
        _remember(digest, Seen(mark, expires_at.timestamp()))
    return True


def forget(digest: str) -> None:
    with _lock:
        _seen.pop(digest, None)


def _recall(digest: str) -> Seen | None:
    with _lock:
        seen = _seen.get(digest)
        if seen is not None:
            _seen.move_to_end(digest)
        return seen


def _remember(digest: str, seen: Seen) -> None:
    with _lock:
        _seen[digest] = seen
        _seen.move_to_end(digest)
        while len(_seen) > REMEMBERED_FAMILIES:
            _seen.popitem(last=False)


def _read(cache: BaseCache, user_pk: Any) -> str | None:
    """The user's mark; None when there is none or the cache fails (then
    the row decides)."""
    try:
        return read_mark(cache, user_pk)
    except Exception as error:
        logger.warning(
            "django-sessionmgr could not read a sign-out mark (%s)", type(error).__name__
        )
        return None


def _add_mark(cache: BaseCache, user_pk: Any) -> str | None:
    """A mark for a user who has none, read back (another process may have
    added one first). Never overwrites a sign-out's."""
    try:
        cache.add(mark_key(user_pk), new_token(), int(django_settings.SESSION_COOKIE_AGE))
        return read_mark(cache, user_pk)
    except Exception as error:
        logger.warning("django-sessionmgr could not add a sign-out mark (%s)", type(error).__name__)
        return None
