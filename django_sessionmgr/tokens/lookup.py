"""How a token's row is found: the keyed digests of what identifies the
token (never the token itself), the rows holding them, and the tokens no
active row records (what a revoke of every session of a user sweeps)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from ..batches import batched
from ..conf import django_settings
from ..models import UserSession

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db.models import QuerySet


@sensitive_variables()
def token_digest(kind: str, identity: str) -> str:
    """HMAC-SHA256 under ``SECRET_KEY`` of what identifies a token of ``kind``."""
    return _digest(kind, identity, None)


@sensitive_variables()
def _digest(kind: str, identity: str, secret: str | None) -> str:
    salt = f"django_sessionmgr.tokens.{kind}"
    return salted_hmac(salt, identity, secret=secret, algorithm="sha256").hexdigest()


@sensitive_variables()
def token_digests(kind: str, identity: str) -> list[str]:
    """Every digest a row of the token may hold: under ``SECRET_KEY``, then
    under each of ``SECRET_KEY_FALLBACKS`` (rows written before a rotation)."""
    fallbacks = getattr(django_settings, "SECRET_KEY_FALLBACKS", None) or []
    return [token_digest(kind, identity), *(_digest(kind, identity, key) for key in fallbacks)]


def token_rows(kind: str, digests: list[str]) -> QuerySet[UserSession]:
    """The rows of ``kind`` holding one of ``digests``, whatever their status,
    read from the primary through the digest index. Conditions on the status
    are the caller's to check on the few rows found: beside the digest in
    SQL, they let SQLite without statistics walk every active row instead."""
    return UserSession.objects.from_primary().filter(kind=kind, token_digest__in=digests).order_by()


#: Digests one query of ``unrecorded`` looks for (within every database's
#: parameter limit).
DIGESTS_AT_ONCE = 900


@sensitive_variables("tokens", "chunk", "digests")
def unrecorded(
    kind: str, tokens: Iterable[tuple[Any, str]], *, any_status: bool = False
) -> list[Any]:
    """The ids among ``tokens`` (pairs of an id and what identifies the token)
    that no active row of ``kind`` records (``any_status``: no row at all),
    under ``SECRET_KEY`` or a fallback.

    Read a bounded number at a time, so any number of tokens fits in memory."""
    per_token = 1 + len(getattr(django_settings, "SECRET_KEY_FALLBACKS", None) or [])
    found: list[Any] = []
    for chunk in batched(tokens, max(1, DIGESTS_AT_ONCE // per_token)):
        digests = {token_id: token_digests(kind, identity) for token_id, identity in chunk}
        every = [digest for some in digests.values() for digest in some]
        recorded = {
            digest
            for digest, status in token_rows(kind, every).values_list("token_digest", "status")
            if any_status or status == UserSession.Status.ACTIVE
        }
        found.extend(token_id for token_id, some in digests.items() if recorded.isdisjoint(some))
    return found
