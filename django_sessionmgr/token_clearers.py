"""What a revoke does to a token session's token: one clearer per kind.

A revoke's "clear" step (``revocation``) ends browser sessions by deleting
them from the session store; a token session ends when its package can no
longer accept its token. Each token adapter (``tokens/``) registers, at
``AppConfig.ready`` time, the function that does that for its kind: delete
the rows' DRF or knox tokens, blacklist a simplejwt family. A clearer that
fails makes the revoke fail (``RevokeFailed``), as a store that fails does:
the claim is undone and a retry reaches the same tokens.

A revoke of every session of some users (a password change, "sign out
everywhere", a staff revoke of a user, ``sessionmgr_revoke --all``) also
sweeps their tokens that no active row records (``sweep_tokens``): a token
from before the install that was never used since, or one whose row's digest
was written under a ``SECRET_KEY`` since dropped. The app cannot show those;
it must not leave them working.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .exceptions import RevokeFailed

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .models import UserSession

logger = logging.getLogger("django_sessionmgr")

#: Ends the tokens of the rows given (all of one kind); raises on failure.
Clearer = Callable[["QuerySet[UserSession]"], None]
#: Ends the tokens of the users given (None: of every user) that no active
#: row records; raises on failure.
Sweeper = Callable[[Any], None]

_clearers: dict[str, Clearer] = {}
_sweepers: dict[str, Sweeper] = {}


def register(kind: str, clear: Clearer, sweep: Sweeper) -> None:
    """Make ``clear`` the clearer of the token sessions of ``kind``, and
    ``sweep`` the end of its tokens without a row (one of each per kind)."""
    _clearers[kind] = clear
    _sweepers[kind] = sweep


def clear_tokens(rows: QuerySet[UserSession], kinds: Iterable[str] | None = None) -> None:
    """End the tokens of the token sessions among ``rows``, one clearer per kind.

    ``kinds``: the kinds among ``rows`` when the caller knows them (the
    revoke's claim counts them), else they are read (one query). A kind
    without a clearer has no package installed to end it. Raises
    ``RevokeFailed`` when a clearer fails; the error's text is not kept, as
    it may quote a token.
    """
    model: Any = rows.model
    session_kind = model.Kind.SESSION
    if kinds is None:
        tokens = rows.exclude(kind=session_kind).order_by()
        kinds = tokens.values_list("kind", flat=True).distinct()
    for kind in sorted(set(kinds) - {session_kind}):
        clear = _clearers.get(kind)
        if clear is None:
            continue
        with _ending(kind):
            clear(rows.filter(kind=kind))


def sweep_tokens(users: Any) -> None:
    """End the tokens of ``users`` (primary keys, or a query of them; None:
    every user) that no active row records, of every kind with a package
    installed. Raises ``RevokeFailed`` when a package's tokens cannot be ended."""
    for kind, sweep in sorted(_sweepers.items()):
        with _ending(kind):
            sweep(users)


@contextmanager
def _ending(kind: str) -> Iterator[None]:
    """Turn a package's failure to end tokens into ``RevokeFailed``; the
    error's text is not kept, as it may quote a token."""
    try:
        yield
    except Exception as error:
        logger.error("The %s tokens of a revoke could not be ended", kind)
        raise RevokeFailed(
            f"The {kind} tokens could not be ended ({type(error).__name__})."
        ) from None
