"""Deleting many sessions from the configured engine's store at once."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.cache import SessionStore as CacheStore
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.contrib.sessions.backends.file import SessionStore as FileStore
from django.core.cache import caches
from django.db import router
from django.db.models import QuerySet
from django.views.decorators.debug import sensitive_variables

from .batches import batched
from .conf import django_settings
from .exceptions import RevokeFailed
from .keys import unseal
from .stores import is_server_side, store_class

#: Keys sent to the cache in one ``delete_many`` call.
CACHE_BATCH_SIZE = 10_000


@sensitive_variables()
def delete_stored_sessions(stored_keys: QuerySet[Any, str]) -> None:
    """End the stored sessions whose keys ``stored_keys`` (a flat values query) yields.

    Database-backed engines delete with one statement driven by the subquery;
    cache-backed ones read the keys once and delete them in ``delete_many``
    batches; the file engine removes one file per key. Other engines fall back
    to ``SessionStore.delete`` per key. Any failure raises ``RevokeFailed``,
    including a file that is still there, which Django's own file store would
    silently leave behind.
    """
    store = store_class()
    if not is_server_side(store):
        return
    try:
        _delete(store, stored_keys)
    except RevokeFailed:
        raise
    except Exception as error:
        # Not chained: a store's error message can name the key (a file path).
        raise RevokeFailed(
            f"The session store could not be cleared ({type(error).__name__})."
        ) from None


@sensitive_variables()
def _keys(stored_keys: QuerySet[Any, str]) -> Iterator[str]:
    for stored in stored_keys.iterator():
        if key := unseal(stored):
            yield key


@sensitive_variables()
def _delete(store: type[SessionBase], stored_keys: QuerySet[Any, str]) -> None:
    if issubclass(store, DBStore):
        model = store.get_model_class()
        if router.db_for_write(model) == stored_keys.db:
            model._default_manager.filter(session_key__in=stored_keys).delete()
        else:
            for batch in batched(_keys(stored_keys), CACHE_BATCH_SIZE):
                model._default_manager.filter(session_key__in=batch).delete()
        if not issubclass(store, CachedDBStore):
            return
    if issubclass(store, CacheStore | CachedDBStore):
        cache = caches[django_settings.SESSION_CACHE_ALIAS]
        prefix = store.cache_key_prefix
        for batch in batched(_keys(stored_keys), CACHE_BATCH_SIZE):
            cache.delete_many([prefix + key for key in batch])
        return
    if issubclass(store, FileStore):
        files = store()
        for key in _keys(stored_keys):
            path = files._key_to_file(key)  # type: ignore[attr-defined]
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return
    for key in _keys(stored_keys):
        store(session_key=key).delete()
