"""The package's layers: each imports only from the layers before it, and nothing imports in a
circle (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "recsys_helpers"

#: Layer of each top-level part of the package; a module may import from its own layer or an
#: earlier one.
LAYERS = {
    "config": 0,
    "errors": 0,
    "atomic": 0,
    "serialise": 0,
    "data": 1,
    "models": 2,
    "evaluation": 3,
    "analysis": 4,
    "plots": 5,
    "report": 6,
    "app": 7,
    "cli": 8,
    "__main__": 9,
    "__init__": 9,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, modules) -> set[str]:
    """Every ``recsys_helpers`` module a file imports, at any depth of its code.

    ``from package import name`` counts as importing ``package.name`` when that is a module,
    else as importing ``package``.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("recsys_helpers"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("recsys_helpers"):
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    found.add(child if child in modules else node.module)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in _imports(path, modules) if m in modules and m != name}
        for name, path in modules.items()
    }


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else LAYERS["__init__"]


def test_every_part_of_the_package_has_a_layer(graph):
    assert {m.split(".")[1] for m in graph if "." in m} <= set(LAYERS)


def test_layers_import_only_from_earlier_layers(graph):
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert not upward, "imports from a later layer:\n" + "\n".join(upward)


def test_no_import_circle(graph):
    # Package __init__ files re-export their children; a child importing a sibling through
    # the package is not a circle in Python's sense, so edges into a package's own
    # __init__ from inside it are left out.
    def edges(module):
        return {t for t in graph[module] if not module.startswith(t + ".")}

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module):
        state[module] = 1
        stack.append(module)
        for target in edges(module):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
