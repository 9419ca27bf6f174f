"""What one process remembers of the token sessions it served: bounded LRU
tables, so that a token's request between activity writes costs no query."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

#: Tokens (or token families) one process remembers, at most.
KNOWN_TOKENS = 10_000

V = TypeVar("V")


@dataclass(slots=True)
class Known:
    """What this process knows of a token's row (times as Unix seconds)."""

    row_id: str
    created: datetime
    written: float
    expires: float


class KnownTokens(Generic[V]):
    """A bounded LRU table, digest -> what this process knows, safe across threads."""

    def __init__(self, size: int = KNOWN_TOKENS) -> None:
        self.size, self.lock = size, threading.Lock()
        self.entries: OrderedDict[str, V] = OrderedDict()

    def get(self, digest: str) -> V | None:
        with self.lock:
            known = self.entries.get(digest)
            if known is not None:
                self.entries.move_to_end(digest)
            return known

    def put(self, digest: str, known: V) -> None:
        with self.lock:
            self.entries[digest] = known
            self.entries.move_to_end(digest)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def forget(self, digest: str | None = None) -> None:
        with self.lock:
            if digest is None:
                self.entries.clear()
            else:
                self.entries.pop(digest, None)
