"""Rows for tokens made before the install (``sessionmgr_adopt_tokens``).

A token without a row escapes every revoke until its first request through
the app's authentication class adopts it. The command gives every such
token its row at once, with an unknown device, in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ..batches import batched
from ..models import UserSession
from .core import token_end
from .lookup import token_digests, token_rows

#: Tokens read, matched and inserted at once.
BATCH_SIZE = 500


@sensitive_variables()
def adopt_tokens(
    kind: str, tokens: Iterable[tuple[Any, str, datetime | None]], *, dry_run: bool = False
) -> tuple[int, int]:
    """Give each token that has no row of ``kind`` one (``adopted``, unknown
    device); ``tokens`` yields (user pk, identity, the package's expiry).
    Returns how many were adopted and how many already had a row."""
    adopted = had_row = 0
    for batch in batched(iter(tokens), BATCH_SIZE):
        digests = {identity: token_digests(kind, identity) for _, identity, _ in batch}
        every = [digest for some in digests.values() for digest in some]
        known = set(token_rows(kind, every).values_list("token_digest", flat=True))
        new = [token for token in batch if not known.intersection(digests[token[1]])]
        had_row += len(batch) - len(new)
        adopted += len(new)
        if not dry_run and new:
            UserSession.objects.bulk_create(_rows(kind, new, digests))
    return adopted, had_row


def _rows(
    kind: str, tokens: list[tuple[Any, str, datetime | None]], digests: dict[str, list[str]]
) -> Iterator[UserSession]:
    now = timezone.now()
    for user_pk, identity, expires_at in tokens:
        yield UserSession(
            user_id=user_pk,
            kind=kind,
            token_digest=digests[identity][0],
            created_at=now,
            last_activity_at=now,
            expires_at=token_end(now, now, expires_at),
            adopted=True,
        )
