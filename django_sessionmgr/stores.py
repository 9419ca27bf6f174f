"""What the configured session engine keeps: its store, and whether that store is on the server."""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module

from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.signed_cookies import SessionStore as SignedCookieStore
from django.core.cache import BaseCache
from django.core.cache.backends.locmem import LocMemCache

from .conf import django_settings

#: Cache backends local to each process: what one process writes or deletes
#: there, no other process sees (check W002, and the sign-out marks).
PROCESS_LOCAL_CACHES: tuple[type[BaseCache], ...] = (LocMemCache,)


@lru_cache(maxsize=8)
def _store_class(engine: str) -> type[SessionBase]:
    store: type[SessionBase] = import_module(engine).SessionStore
    return store


def store_class() -> type[SessionBase]:
    """The ``SessionStore`` of the ``SESSION_ENGINE`` in force now."""
    return _store_class(django_settings.SESSION_ENGINE)


def is_server_side(session: SessionBase | type[SessionBase]) -> bool:
    """Whether the engine keeps sessions on the server (so deleting ends them).

    Signed-cookie sessions live in the client; the middleware refuses revoked
    ones instead.
    """
    cls = session if isinstance(session, type) else type(session)
    return not issubclass(cls, SignedCookieStore)
