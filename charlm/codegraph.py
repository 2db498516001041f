"""Which charlm modules a piece of code uses, read from the source with :mod:`ast`.

The import graph serves three purposes: the layer test (``tests/test_layers.py``), the keys of
cached results (:mod:`charlm.memo`: a result is recomputed when the code that computed it
changes, and only then) and the execution keys of the report's notebooks (a notebook is
re-executed when the modules it uses change, and only those).

Nothing is imported: the graph is what the source says. Importing ``charlm.a.b`` runs the
``__init__`` of ``charlm`` and of ``charlm.a`` first, so those count as used too.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path
from typing import Iterable

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent


def module_name(path: Path, root: Path = ROOT) -> str:
    """``charlm.studies.cells`` for ``charlm/studies/cells.py`` (a package by its ``__init__``)."""
    parts = Path(path).relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package under ``root``, by name."""
    return {module_name(p, root): p for p in sorted((root / "charlm").rglob("*.py"))}


def imports_of(tree: ast.AST, package: str) -> list[tuple[str, tuple[str, ...], bool]]:
    """The imports of a parsed module or cell: ``(target, names, inside a function?)`` each.

    ``target`` is the absolute module named (relative imports resolved against ``package``,
    the package the code sits in) and ``names`` what ``from target import ...`` took, which
    may be submodules."""
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f) if n is not f}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, (), id(node) in inner) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, tuple(a.name for a in node.names), id(node) in inner))
    return out


def charlm_modules(tree: ast.AST, package: str, known: Iterable[str]) -> set[str]:
    """The charlm modules that the code of ``tree`` imports directly: ``from charlm.report
    import plots`` names the module ``charlm.report.plots``, ``from .config import X`` names
    ``charlm.config``, and ``from charlm import TrainConfig`` the package ``charlm`` itself."""
    known = set(known)
    found = set()
    for target, names, _ in imports_of(tree, package):
        if not target.startswith("charlm"):
            continue
        subs = {f"{target}.{n}" for n in names} & known
        found |= subs
        if target in known and (not names or len(subs) < len(names)):  # a name of the module
            found.add(target)
    return found


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@cache
def graph(root: Path = ROOT) -> dict[str, frozenset[str]]:
    """Each charlm module -> the charlm modules it imports directly (itself left out)."""
    files = module_files(root)
    out = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = charlm_modules(ast.parse(path.read_text()), package, files)
        out[name] = frozenset(deps - {name})
    return out


def closure(modules: Iterable[str], root: Path = ROOT) -> frozenset[str]:
    """``modules`` and every charlm module they import, directly or not, with the packages
    above each (importing ``charlm.a.b`` runs ``charlm/__init__.py`` and ``charlm/a/__init__.py``)."""
    g = graph(root)
    seen: set[str] = set()
    todo = [p for m in modules for p in _with_parents(m) if p in g]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += [p for d in g[m] for p in _with_parents(d) if p not in seen and p in g]
    return frozenset(seen)


def digest(modules: Iterable[str], root: Path = ROOT) -> str:
    """SHA-256 of the source of ``modules`` (names and bytes, in name order)."""
    files = module_files(root)
    h = hashlib.sha256()
    for m in sorted(set(modules)):
        h.update(m.encode() + b"\0" + files[m].read_bytes() + b"\0")
    return h.hexdigest()


def code_digest(source: str, package: str = "", root: Path = ROOT) -> str:
    """SHA-256 of every charlm module that ``source`` (a module's or a notebook's code) uses,
    directly or not: what a result computed by that code depends on, besides its inputs."""
    used = charlm_modules(ast.parse(source), package, module_files(root))
    return digest(closure(used, root), root)


def module_digest(module: str, root: Path = ROOT) -> str:
    """:func:`digest` of ``module`` and everything it imports (its parents' ``__init__`` too)."""
    return digest(closure([module], root), root)


__all__ = ["PACKAGE", "ROOT", "charlm_modules", "closure", "code_digest", "digest", "graph",
           "imports_of", "module_digest", "module_files", "module_name"]
