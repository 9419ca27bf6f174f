"""A login's row written in the transaction of the session's own save: no commit of its own.

Stock ``login()`` on the ``db`` and ``cached_db`` engines commits the new
session and ``last_login``, and the response commits the session's data.
The app's row joins that last one: right after ``login()`` the row is
written and the session saved in one transaction, and the response's save,
finding nothing changed since, writes nothing again. A login then costs the
disk (an fsync under SQLite's rollback journal, PostgreSQL's
``synchronous_commit``) no more commits than stock Django.

The row is written first, so a failure of ours rolls back nothing of the
project's; a failure of the session's save rolls back the row with it, and
the response's save then runs as stock Django's would. Either way the
session is adopted on a later request.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.db import DatabaseError, connections, router, transaction

from .internals import replace_session_method
from .models import UserSession

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

logger = logging.getLogger("django_sessionmgr")

T = TypeVar("T")


def shared_database(session: SessionBase) -> str | None:
    """The database where the login's row can share the session's commit, or None.

    Only for a session stored in the database of the app's table (the ``db``
    and ``cached_db`` engines, and engines built on them), and only outside
    a transaction: inside one (``ATOMIC_REQUESTS``, a view's ``atomic``) the
    row is already written in the project's transaction, under a savepoint.
    """
    if not isinstance(session, DBStore):
        return None
    alias = router.db_for_write(UserSession)
    if router.db_for_write(type(session).get_model_class()) != alias:
        return None
    connection = connections[alias]
    if connection.in_atomic_block or not connection.get_autocommit():
        return None
    return alias


def write_then_save(session: SessionBase, alias: str, write: Callable[[], T]) -> T | None:
    """``write()``, then the session's save, committed together.

    A database error of ``write()`` propagates, once the project's part is
    safe: ``write()`` runs first, so nothing of the project's is rolled back
    with it, except after ``login()`` flushed the session (another user was
    signed in): its new key is created first, for the row to hold, and
    ``write()`` runs in a savepoint after it. None when the session's save
    fails: the row is rolled back with it, and the response's save tries
    again as stock's would.
    """
    failure: DatabaseError | None = None
    try:
        with transaction.atomic(using=alias):
            if session.session_key is None:
                session.save()
                try:
                    with transaction.atomic(using=alias):
                        written = write()
                except DatabaseError as error:
                    failure = error  # the session is saved without a row all the same
            else:
                written = write()
            session.save()
    except UpdateError:
        logger.warning("django-sessionmgr could not save a session with its row; going on without")
        return None
    skip_save_if_unchanged(session)
    if failure is not None:
        raise failure
    return written


#: The session's attribute holding its key and data as the login's commit saved them.
SAVED = "_sessionmgr_saved_with_row"


def skip_save_if_unchanged(session: SessionBase) -> None:
    """The session's next save (``SessionMiddleware``'s, the test client's)
    writes nothing if the key and data are still what was just saved; any
    change since, and every later save, goes to the store as usual."""
    saved = (session.session_key, copy.deepcopy(dict(session.items())))
    save, asave = session.save, session.asave

    def unchanged(must_create: bool) -> bool:
        skip = not must_create and next_save_is_skipped(session)
        setattr(session, SAVED, None)  # only the first save after the commit
        return skip

    def save_if_changed(must_create: bool = False) -> None:
        if not unchanged(must_create):
            save(must_create=must_create)

    async def asave_if_changed(must_create: bool = False) -> Any:
        if not unchanged(must_create):
            await asave(must_create=must_create)

    setattr(session, SAVED, saved)
    replace_session_method(session, "save", save_if_changed)
    replace_session_method(session, "asave", asave_if_changed)


def next_save_is_skipped(session: SessionBase) -> bool:
    """Whether the session's next save writes nothing: it is the first since
    the login's commit, and the key and data are unchanged."""
    saved = getattr(session, SAVED, None)
    return saved is not None and (session.session_key, dict(session.items())) == saved
