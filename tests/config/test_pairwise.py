"""The pairwise cut (``tests/pairwise.py``) holds every pair of values, and only real cases."""

from __future__ import annotations

from itertools import combinations, product

import pytest

from tests.pairwise import pairwise


@pytest.mark.parametrize(
    "factors",
    [
        [range(8), "ab", "xyz", [False, True]],
        [range(5), range(5), range(5)],
        [range(3), "ab"],
        [range(2)] * 10,
        ["a", range(4), "b"],
    ],
)
def test_every_pair_is_held_by_fewer_cases_than_the_product(factors: list) -> None:
    cases = pairwise(*factors)
    assert all(len(case) == len(factors) for case in cases)
    assert all(
        value in factor for case in cases for value, factor in zip(case, factors, strict=True)
    )
    for i, j in combinations(range(len(factors)), 2):
        held = {(case[i], case[j]) for case in cases}
        assert held == set(product(factors[i], factors[j])), (i, j)
    assert len(cases) <= len(list(product(*factors)))
    assert len(set(cases)) == len(cases)
    assert pairwise(*factors) == cases


def test_the_cut_is_much_smaller_than_the_product() -> None:
    assert len(pairwise(range(8), "ab", "xyz", [False, True])) == 24  # 8 x 3, the least there is
    assert len(pairwise(*[range(2)] * 10)) <= 12  # of 1024


def test_degenerate_factors() -> None:
    assert pairwise() == [()]
    assert pairwise("abc") == [("a",), ("b",), ("c",)]
    assert pairwise("ab", []) == []
