"""The package's layers: core <- studies <- report <- command line, and no cycles.

Read from the source with :mod:`ast` (nothing is imported), so a wrong import fails here even
when no test happens to execute it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from charlm.codegraph import graph, imports_of, module_name

PACKAGE = Path(__file__).resolve().parent.parent / "charlm"
# Lowest first; a module may import from its own layer and the layers before it.
LAYERS = ("core", "studies", "report", "cli")
CLI = {"charlm.cli", "charlm.commands", "charlm.__main__"}
# Imports that may stay inside a function: heavy optional dependencies, with a comment saying so.
LAZY_ALLOWED = {"distributed", "ipywidgets"}


def layer(module: str) -> str:
    if module in CLI:
        return "cli"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("studies", "report"):
        return parts[1]
    return "core"


def imports(path: Path, root: Path = PACKAGE.parent) -> list[tuple[str, bool]]:
    """(imported module, inside a function?) of a file, read by :func:`charlm.codegraph.imports_of`."""
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    return [(target, inside) for target, _, inside in imports_of(ast.parse(path.read_text()), package)]


def charlm_graph() -> dict[str, frozenset[str]]:
    return graph()


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_no_module_imports_a_higher_layer(path):
    me = module_name(path)
    mine = LAYERS.index(layer(me))
    for dep in charlm_graph()[me]:
        if dep == "charlm":  # the package's public API is the core
            continue
        assert LAYERS.index(layer(dep)) <= mine, f"{me} ({layer(me)}) imports {dep} ({layer(dep)})"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_imports_are_at_the_top_of_modules(path):
    lazy = [t for t, inside in imports(path) if inside and t.split(".")[0] not in LAZY_ALLOWED]
    assert not lazy, f"{module_name(path)} imports {lazy} inside a function"


def test_the_import_graph_has_no_cycle():
    graph = charlm_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path + [node, dep]))
            if dep not in state:
                visit(dep, path + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_checks_see_a_violation(tmp_path):
    bad = tmp_path / "charlm" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("from .report.plots import x\n\ndef f():\n    import pandas\n")
    found = imports(bad, root=tmp_path)
    assert ("pandas", True) in found and ("charlm.report.plots", False) in found
    assert layer("charlm.report.plots") == "report" and layer("charlm.train") == "core"
    assert layer("charlm.studies.cells") == "studies" and layer("charlm.cli") == "cli"
