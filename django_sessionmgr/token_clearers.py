"""What a revoke does to a token session's token: one clearer per kind.

A revoke's "clear" step (``revocation``) ends browser sessions by deleting
them from the session store; a token session ends when its package can no
longer accept its token. Each token adapter (``tokens/``) registers, at
``AppConfig.ready`` time, the function that does that for its kind: delete
the rows' DRF or knox tokens, blacklist a simplejwt family. A clearer that
fails makes the revoke fail (``RevokeFailed``), as a store that fails does:
the claim is undone and a retry reaches the same tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .exceptions import RevokeFailed

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .models import UserSession

logger = logging.getLogger("django_sessionmgr")

#: Ends the tokens of the rows given (all of one kind); raises on failure.
Clearer = Callable[["QuerySet[UserSession]"], None]

_clearers: dict[str, Clearer] = {}


def register(kind: str, clear: Clearer) -> None:
    """Make ``clear`` the clearer of the token sessions of ``kind`` (one per kind)."""
    _clearers[kind] = clear


def registered_kinds() -> frozenset[str]:
    """The kinds that have a clearer."""
    return frozenset(_clearers)


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
        try:
            clear(rows.filter(kind=kind))
        except Exception as error:
            logger.error("The %s tokens of a revoke could not be ended", kind)
            raise RevokeFailed(
                f"The {kind} tokens could not be ended ({type(error).__name__})."
            ) from None
