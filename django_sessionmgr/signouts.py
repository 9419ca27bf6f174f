"""The sign-out mark: a signed-cookie session checked with one cache read.

A signed cookie cannot be deleted, so each request that reads the user must
learn whether the session's row is still active. Reading the row is a query;
this module lets nearly every request learn it from one ``get`` on the
project's shared cache (``SESSION_CACHE_ALIAS``) instead.

For each user the cache may hold a mark ``T``: a time no earlier than the
last moment one of the user's rows stopped being active (a revoke, any path,
or a logout). The session's marker records when its row was last written,
and a row write succeeds only while the row is active. So a session whose
row was written after ``T`` outlived every sign-out of its user: no query.
Any other case reads the row, as without a mark: no mark, a mark at or after
the last write, a cache that fails.

Keeping ``T`` true:

- a sign-out ``set``\\s the mark right after its UPDATE: a row write that
  succeeded ran before that UPDATE, and one that comes later waits for its
  commit and then finds the row ended (so it also holds inside a
  transaction that commits later). A revoke whose mark cannot be written
  fails (``RevokeFailed``), as a revoke whose store cannot be cleared does;
- a request that finds no mark ``add``\\s one once its row read found the row
  active: ``add`` never overwrites a sign-out's mark, and the time it writes
  is later than every sign-out whose mark it could have missed;
- a lost, evicted or expired mark only brings the query back;
- ``CLOCK_MARGIN`` absorbs clock skew between servers.

A process-local cache (``LocMemCache``) or one that keeps nothing
(``DummyCache``) never holds the mark: a sign-out in one process could not
reach another. Then every request reads the row.

After a sign-out of one of a user's sessions, the user's other sessions read
their row until their next activity write (at most
``ACTIVITY_UPDATE_INTERVAL``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache

from .stores import PROCESS_LOCAL_CACHES, is_server_side, store_class

logger = logging.getLogger("django_sessionmgr")

#: Seconds added to every mark: tolerated clock skew between servers.
CLOCK_MARGIN = 2
#: Marks written in one ``set_many`` call.
MARK_BATCH_SIZE = 1_000
#: Cache backends that cannot carry a mark between processes.
LOCAL_CACHES = (*PROCESS_LOCAL_CACHES, DummyCache)


def mark_cache() -> BaseCache | None:
    """The cache that holds the marks, or None when they are not in use:
    an engine that keeps sessions on the server, or a process-local cache."""
    if is_server_side(store_class()):
        return None
    cache = caches[getattr(settings, "SESSION_CACHE_ALIAS", "default")]
    return None if isinstance(cache, LOCAL_CACHES) else cache


def mark_key(user_pk: Any) -> str:
    """The mark's cache key for a user (any key type, memcached-safe)."""
    text = str(user_pk)
    if not (text.replace("-", "").isalnum() and text.isascii() and len(text) <= 64):
        text = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"django_sessionmgr:signout:{text}"


def read_mark(cache: BaseCache, user_pk: Any) -> float | None:
    """The user's mark; None when there is none. Raises if the cache fails."""
    value = cache.get(mark_key(user_pk))
    return float(value) if isinstance(value, int | float) else None


def outlived_mark(mark: float | None, written: int) -> bool:
    """Whether a row written at ``written`` was active after every sign-out."""
    return mark is not None and written > mark


def note_no_mark(cache: BaseCache, user_pk: Any) -> None:
    """After a read found the row active and the cache no mark: add one, so
    the user's next requests need no query. Never overwrites a sign-out's."""
    try:
        cache.add(mark_key(user_pk), time.time() + CLOCK_MARGIN, _timeout())
    except Exception as error:
        logger.warning("django-sessionmgr could not add a sign-out mark (%s)", type(error).__name__)


def record_sign_outs(user_pks: Iterable[Any]) -> None:
    """Mark that sessions of these users stopped being active just now.

    Call it right after the UPDATE that ended them. Raises if the cache fails.
    """
    cache = mark_cache()
    if cache is None:
        return
    mark = time.time() + CLOCK_MARGIN
    iterator = iter({mark_key(pk) for pk in user_pks})
    while batch := list(islice(iterator, MARK_BATCH_SIZE)):
        if failed := cache.set_many(dict.fromkeys(batch, mark), _timeout()):
            raise RuntimeError(f"{len(failed)} sign-out mark(s) were not stored")


def record_sign_out_of_row(row_id: str) -> None:
    """After a logout ended a row, its user's mark, so a replayed cookie is
    refused. A cache that fails is logged: it never fails the logout."""
    from .models import UserSession

    if mark_cache() is None:
        return
    rows = UserSession.objects.from_primary().filter(pk=row_id)
    user_pk = rows.values_list("user_id", flat=True).first()
    try:
        record_sign_outs([user_pk])
    except Exception as error:
        logger.error(
            "django-sessionmgr could not write a sign-out mark after a logout (%s); "
            "a replay of that signed cookie is accepted while the cache keeps an older mark",
            type(error).__name__,
        )


def _timeout() -> int:
    """A mark lives as long as a session may: past that it would guard nothing."""
    return int(settings.SESSION_COOKIE_AGE)
