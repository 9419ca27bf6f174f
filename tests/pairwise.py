"""A pairwise cut of a parametrized product: every pair of values, not every combination.

A test parametrized on several independent factors (the engine, the login
view, what happens after the login, whether a cookie came in) grows as their
product: 8 x 2 x 3 x 2 = 96 cases. Faults in such code almost always need
one value, or two values together, to show: a bug of ``alogin`` on the file
engine needs that pair, whatever the other factors are. ``pairwise`` keeps
only enough cases for every value of each factor to meet every value of every
other factor at least once (24 of the 96 above, the engines times the largest
other factor), so a pair-wise fault is still found, in a fraction of the time.

The cut is a plain greedy one: start each new case from a pair no case holds
yet, then give each other factor the value that covers most pairs still
missing (ties go to the first value, so the cut is the same on every run). It
is not the smallest cut there is, and need not be: it is short, deterministic
and checked (``tests/test_pairwise.py``). No dependency is worth it for this
(allpairspy and friends give the same kind of cut).

``pairwise_parametrize`` is ``pytest.mark.parametrize`` over that cut; a
factor named ``engine`` goes to the ``engine`` fixture (``indirect``), as
``helpers.on_every_engine`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import pytest


def pairwise(*factors: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Cases (one value per factor, in order) that hold every pair of values of two factors."""
    sizes = [len(factor) for factor in factors]
    if any(size == 0 for size in sizes):
        return []
    if len(factors) < 2:
        return [(value,) for value in factors[0]] if factors else [()]
    missing = {
        (i, a, j, b)
        for i, j in combinations(range(len(factors)), 2)
        for a in range(sizes[i])
        for b in range(sizes[j])
    }
    cases: list[list[int]] = []
    while missing:
        i, a, j, b = min(missing)
        case: dict[int, int] = {i: a, j: b}
        for k, size in enumerate(sizes):
            if k not in case:
                case[k] = max(range(size), key=lambda v, k=k: (_gain(missing, case, k, v), -v))
        chosen = [case[k] for k in range(len(sizes))]
        missing -= {(m, chosen[m], n, chosen[n]) for m, n in combinations(range(len(sizes)), 2)}
        cases.append(chosen)
    return [tuple(factor[v] for factor, v in zip(factors, case, strict=True)) for case in cases]


def pairwise_parametrize(argnames: Sequence[str], *factors: Sequence[Any]) -> Any:
    """``pytest.mark.parametrize(argnames, pairwise(*factors))``, ``engine`` indirect."""
    return pytest.mark.parametrize(
        tuple(argnames),
        pairwise(*factors),
        indirect=[name for name in argnames if name == "engine"],
    )


def _gain(missing: set[tuple[int, int, int, int]], case: dict[int, int], k: int, v: int) -> int:
    """How many missing pairs value ``v`` of factor ``k`` would add to the case so far."""
    return sum(
        (min(m, k), vm if m < k else v, max(m, k), v if m < k else vm) in missing
        for m, vm in case.items()
    )
