"""The app's own failures never become the project's.

A database error on the app's table (a lock, a failed insert or update) is
logged, and the login or request goes on as stock Django would have served
it. Each write runs in a savepoint when the project wraps requests in a
transaction (``ATOMIC_REQUESTS``), so a failure leaves the project's
transaction usable; outside one it costs no extra statement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, TypeVar

from django.db import DatabaseError, connections, router, transaction

from .models import UserSession

logger = logging.getLogger("django_sessionmgr")

T = TypeVar("T")

#: What the log says failed when a check of a session's row fails.
CHECK = "check a session's row"


def contained(work: Callable[[], T], *, default: T, what: str, writes: bool = True) -> T:
    """``work()``, with a database error contained: logged as "could not
    ``what``", and ``default`` returned instead, so the login or request goes
    on as stock Django would have served it.

    - ``default``: what the caller goes on with (say ``True`` for "the
      session may be served", ``None`` for "no row").
    - ``what``: the failed step, worded to follow "could not" in the log.
    - ``writes``: ``work`` writes, so inside a transaction it runs in a
      savepoint and a failure leaves the project's transaction usable. A read
      (``writes=False``) takes none: a primary-key read that fails has nothing
      to undo, and it runs on every signed-cookie request.

    Only ``DatabaseError`` is contained; any other exception is a bug and
    propagates.
    """
    alias = router.db_for_write(UserSession)
    in_transaction = writes and connections[alias].in_atomic_block
    savepoint: Any = transaction.atomic(using=alias) if in_transaction else nullcontext()
    try:
        with savepoint:
            return work()
    except DatabaseError as error:
        logger.warning("django-sessionmgr could not %s (%s); going on without it", what, error)
        return default
