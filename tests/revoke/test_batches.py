"""``batches``: an iterable in lists, a table a stretch of its primary key at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_sessionmgr.batches import batched, by_primary_key
from django_sessionmgr.models import UserSession
from tests.helpers import make_rows


def test_batched_yields_full_lists_then_the_rest_and_never_an_empty_one() -> None:
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched(range(6), 3)) == [[0, 1, 2], [3, 4, 5]]
    assert list(batched([], 3)) == []


def test_batched_reads_no_further_than_the_batch_it_yields() -> None:
    read: list[int] = []

    def items() -> Iterator[int]:
        for item in range(100):
            read.append(item)
            yield item

    first = next(batched(items(), 10))
    assert first == list(range(10)) and read == list(range(10))


@pytest.mark.django_db
def test_by_primary_key_reads_each_row_once_while_the_rows_read_are_deleted(user: Any) -> None:
    make_rows(user, 7)
    ordered = list(UserSession.objects.order_by("pk").values_list("pk", flat=True))
    seen: list[Any] = []
    with CaptureQueriesContext(connection) as queries:
        for batch in by_primary_key(UserSession.objects.all(), "user_id", size=3):
            assert all(user_id == user.pk for _, user_id in batch)
            seen += [pk for pk, _ in batch]
            UserSession.objects.filter(pk__in=[pk for pk, _ in batch]).delete()

    assert seen == ordered
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) == 4  # three batches (3, 3, 1), then the empty read that ends it
    assert all("LIMIT 3" in sql for sql in reads)


@pytest.mark.django_db
def test_by_primary_key_keeps_the_filter_of_the_rows_it_is_given(user: Any) -> None:
    rows = make_rows(user, 5)
    UserSession.objects.filter(pk__in=[rows[0].pk, rows[3].pk]).update(status="ended")
    active = UserSession.objects.filter(status="active")

    walked = [pk for batch in by_primary_key(active, size=2) for (pk,) in batch]

    assert walked == list(active.order_by("pk").values_list("pk", flat=True))
    assert len(walked) == 3
