"""The session's final save, where the app must watch it.

``SessionMiddleware`` saves the session after the view. Two saves need more
than Django gives: one made only for the app's activity write must not cost
the response if the store fails, and one that could bring back a session a
revoke deleted meanwhile (``cache``, ``file``, and ``cached_db`` without the
sign-out marks) is followed by a check of the row.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore

from .conf import django_settings
from .internals import replace_session_method
from .login_commit import next_save_is_skipped
from .markers import data_without_marker
from .rows import row_is_active
from .safety import CHECK, contained, logger
from .signouts import mark_cache
from .stores import is_server_side

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

    from .state import RequestState


def saves_only_activity(session: SessionBase, state: RequestState) -> bool:
    """Whether the response saves the session only for the app's marker."""
    return (
        state.before_activity is not None
        and is_server_side(session)
        and not django_settings.SESSION_SAVE_EVERY_REQUEST
        and data_without_marker(session) == state.before_activity
    )


def tolerate_save(session: SessionBase) -> None:
    """Stock Django would not have saved this session at all: a store that
    fails now must not cost the response. The next request writes again."""
    save = session.save

    def tolerant_save(must_create: bool = False) -> None:
        try:
            save(must_create=must_create)
        except UpdateError:
            raise  # deleted under the request: stock Django answers this itself
        except Exception as error:
            logger.warning(
                "django-sessionmgr could not save a session's activity (%s); the response goes on",
                type(error).__name__,
            )

    replace_session_method(session, "save", tolerant_save)


def will_save(session: SessionBase) -> bool:
    return (
        session.modified or django_settings.SESSION_SAVE_EVERY_REQUEST
    ) and not session.is_empty()


def guard_save(session: SessionBase, row_id: str) -> None:
    """Check the row right after ``SessionMiddleware`` saves the session.

    Any revoke that marked the row before this check finds it revoked here;
    one that marks it after the check deletes the store after this save.
    Either way the revoked session stays gone.
    """
    save = session.save

    def guarded_save(must_create: bool = False) -> None:
        # A save that writes nothing (the login's response) brings nothing back.
        writes = must_create or not next_save_is_skipped(session)
        save(must_create=must_create)
        if writes and not contained(
            partial(row_is_active, row_id), default=True, what=CHECK, writes=False
        ):
            session.delete()

    replace_session_method(session, "save", guarded_save)


def save_can_resurrect(session: SessionBase) -> bool:
    """Whether the engine's save can bring back a session a revoke deleted,
    for the session's next request to be served.

    Django's ``db`` engine refuses to: its save is an UPDATE that fails on a
    deleted row. ``cached_db`` writes the cache after that UPDATE, so a revoke
    that deletes both in between leaves the session in the cache; with a
    shared cache, the sign-out marks refuse it at its next request, but a
    process-local cache has none. ``cache`` and ``file`` write unconditionally."""
    if isinstance(session, CachedDBStore):
        return mark_cache() is None
    return is_server_side(session) and not isinstance(session, DBStore)
