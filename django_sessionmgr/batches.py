"""Working through many items in bounded memory: an iterable in lists of a
given size, and a table in primary-key order a stretch at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from django.db.models import QuerySet

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), read as they are
    needed (``itertools.batched`` from Python 3.12, as lists)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def by_primary_key(rows: QuerySet[Any], *fields: str, size: int) -> Iterator[list[tuple[Any, ...]]]:
    """``(pk, *fields)`` of ``rows``, ``size`` rows at a time in primary-key
    order. Each round reads at most ``size`` rows and resumes after the last
    one, so the table is read once, and rows a round changes or deletes do
    not shift the next."""
    last = None
    while True:
        chunk = rows.order_by("pk")
        if last is not None:
            chunk = chunk.filter(pk__gt=last)
        batch = list(chunk.values_list("pk", *fields)[:size])
        if not batch:
            return
        yield batch
        last = batch[-1][0]
