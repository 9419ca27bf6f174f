"""The sign-out mark: a per-user random token in the shared cache, replaced
at every sign-out, that lets a session be checked with one cache read instead
of a query. Why it never vouches for an ended session: docs/engines.md
("The sign-out mark: a token, not a time")."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache
from django.db.models import QuerySet

from .batches import batched
from .conf import django_settings
from .stores import PROCESS_LOCAL_CACHES, is_server_side, store_class

logger = logging.getLogger("django_sessionmgr")

#: Marks written in one ``set_many`` call.
MARK_BATCH_SIZE = 1_000
#: Cache backends that cannot carry a mark between processes.
LOCAL_CACHES = (*PROCESS_LOCAL_CACHES, DummyCache)


def marks_in_use(store: type[Any]) -> bool:
    """Whether sessions of this engine are checked against the marks: those a
    delete from the store cannot end for sure."""
    return not is_server_side(store) or issubclass(store, CachedDBStore)


def shared_mark_cache() -> BaseCache | None:
    """The cache the marks live in (``SESSION_CACHE_ALIAS``), whatever the
    session engine; None when it is local to each process."""
    cache = caches[django_settings.SESSION_CACHE_ALIAS]
    return None if isinstance(cache, LOCAL_CACHES) else cache


def mark_cache() -> BaseCache | None:
    """The cache that holds the sessions' marks, or None when they are not in
    use: an engine whose store a revoke clears for good, or a process-local cache."""
    return shared_mark_cache() if marks_in_use(store_class()) else None


def mark_key(user_pk: Any) -> str:
    """The mark's cache key for a user (any key type, memcached-safe)."""
    text = str(user_pk)
    if not (text.replace("-", "").isalnum() and text.isascii() and len(text) <= 64):
        text = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"django_sessionmgr:signout:{text}"


def new_token() -> str:
    return secrets.token_hex(8)


def read_mark(cache: BaseCache, user_pk: Any) -> str | None:
    """The user's token; None when there is none. Raises if the cache fails."""
    value = cache.get(mark_key(user_pk))
    return value if isinstance(value, str) else None


def vouches(mark: str | None, seen: str | None) -> bool:
    """Whether the token a row write saw is still the user's: no sign-out since."""
    return mark is not None and seen == mark


def mark_before_write(user_pk: Any) -> str:
    """The token to record with a row write about to happen ("" when marks
    are not in use or the cache fails: the session then reads its row)."""
    cache = mark_cache()
    if cache is None or user_pk is None:
        return ""
    return current_mark(cache, user_pk) or ""


def current_mark(cache: BaseCache, user_pk: Any) -> str | None:
    """The user's token in ``cache``, added first when there is none (never
    overwriting a sign-out's); None when the cache fails (logged)."""
    try:
        key = mark_key(user_pk)
        token = cache.get(key)
        if not isinstance(token, str):
            cache.add(key, new_token(), _timeout())
            token = cache.get(key)
    except Exception as error:
        logger.warning(
            "django-sessionmgr could not read a sign-out mark (%s)", type(error).__name__
        )
        return None
    return token if isinstance(token, str) else None


def note_no_mark(cache: BaseCache, user_pk: Any) -> None:
    """After a read found the row active and the cache no mark: add one, so
    the user's sessions need no query after their next write. Never
    overwrites a sign-out's."""
    try:
        cache.add(mark_key(user_pk), new_token(), _timeout())
    except Exception as error:
        logger.warning("django-sessionmgr could not add a sign-out mark (%s)", type(error).__name__)


def record_sign_outs(user_pks: Iterable[Any]) -> None:
    """Mark that sessions of these users stopped being active just now.

    Call it right after the UPDATE that ended them. Raises if the cache fails.
    """
    cache = mark_cache()
    if cache is not None:
        write_marks(cache, user_pks)


def write_marks(cache: BaseCache, user_pks: Iterable[Any]) -> None:
    """Replace these users' marks in ``cache`` by one new token. Raises if the cache fails."""
    token = new_token()
    for batch in batched({mark_key(pk) for pk in user_pks}, MARK_BATCH_SIZE):
        if failed := cache.set_many(dict.fromkeys(batch, token), _timeout()):
            raise RuntimeError(f"{len(failed)} sign-out mark(s) were not stored")


def record_sign_out_of_row(row: QuerySet[Any]) -> None:
    """After a logout or an expiry ended a row, its user's mark, so a replayed
    cookie is refused. ``row`` selects that row on the primary database
    (``from_primary``); it is read only when marks are in use. A cache that
    fails is logged: it never fails the logout."""
    if mark_cache() is None:
        return
    user_pk = row.values_list("user_id", flat=True).first()
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
    return int(django_settings.SESSION_COOKIE_AGE)
