"""The revoke's layers import only downwards, at load time or in a function:
``stores`` < ``signouts`` < ``revocation`` < ``models``. ``revocation``
works on the query it is given; ``signouts`` is told which row ended."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import django_sessionmgr

PACKAGE = Path(django_sessionmgr.__file__).parent
#: Each module, and the package modules it may import (typing-only imports aside).
ALLOWED = {
    "batches": set(),
    "signouts": {"batches", "stores"},
    "revocation": {"exceptions", "signals", "signouts", "stores"},
    "models": {"conf", "revocation"},
}


def runtime_imports(module: str) -> set[str]:
    """The package modules ``module`` imports anywhere (functions included),
    leaving out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for statement in block.body
        for node in ast.walk(statement)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "django_sessionmgr."
        ):
            found.add((node.module or "").split(".")[1])
    return found


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(module: str) -> None:
    assert runtime_imports(module) <= ALLOWED[module]


def test_no_module_of_the_revoke_imports_one_above_it() -> None:
    """The graph of these modules has no cycle: each one's imports are
    named before it in ``ALLOWED`` (or lie outside the revoke)."""
    order = list(ALLOWED)
    for place, module in enumerate(order):
        assert not runtime_imports(module) & set(order[place:]), module
