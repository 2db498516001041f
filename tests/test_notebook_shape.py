"""The notebooks read as the report they produce: prose in markdown, short calls in code.

Rules (after Rule et al. 2019 and the Python Data Science Handbook, see shared/STYLE.md),
checked on every notebook without running it:

- at least as many lines of markdown as lines of code (the ``parameters`` cell excluded);
- no code cell longer than ``MAX_CELL_LINES`` lines;
- no top-level ``if``/``for``/``while``/``with``/``try``/``def``/``class``: logic lives in
  ``charlm``, where it is tested;
- no f-strings, and string literals in code amount to at most ``MAX_STRING_SHARE`` of the
  markdown's characters: sentences are markdown, or come from ``charlm.report.sections``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CELL_LINES = 15
MAX_STRING_SHARE = 0.05
CONTROL_FLOW = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
                ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Match)


@dataclass
class Shape:
    markdown_lines: int
    markdown_chars: int
    code_lines: int
    code_cells: list[tuple[int, list[str]]]  # (cell number, non-blank lines)
    string_chars: int
    fstrings: list[int]  # cell numbers holding an f-string
    control_flow: list[tuple[int, str]]  # (cell number, statement type)


def _lines(source: str) -> list[str]:
    return [ln for ln in source.splitlines() if ln.strip()]


def _string_chars(tree: ast.AST) -> int:
    return sum(len(n.value) for n in ast.walk(tree)
               if isinstance(n, ast.Constant) and isinstance(n.value, str))


def shape(path: Path) -> Shape:
    """Count what the rules need, skipping the ``parameters`` cell (papermill's interface)."""
    cells = json.loads(path.read_text())["cells"]
    s = Shape(0, 0, 0, [], 0, [], [])
    for number, cell in enumerate(cells, 1):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            s.markdown_lines += len(_lines(source))
            s.markdown_chars += len(source)
            continue
        if cell["cell_type"] != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        tree = ast.parse(source)
        s.code_lines += len(_lines(source))
        s.code_cells.append((number, _lines(source)))
        s.string_chars += _string_chars(tree)
        if any(isinstance(n, ast.JoinedStr) for n in ast.walk(tree)):
            s.fstrings.append(number)
        s.control_flow += [(number, type(n).__name__) for n in tree.body if isinstance(n, CONTROL_FLOW)]
    return s


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_literate(path):
    s = shape(path)
    assert s.markdown_lines >= s.code_lines, \
        f"{path.name}: {s.code_lines} lines of code against {s.markdown_lines} of markdown"
    long = [(n, len(lines)) for n, lines in s.code_cells if len(lines) > MAX_CELL_LINES]
    assert not long, f"{path.name}: code cells longer than {MAX_CELL_LINES} lines: {long}"
    assert not s.control_flow, f"{path.name}: top-level control flow in code cells: {s.control_flow}"
    assert not s.fstrings, f"{path.name}: f-strings in code cells {s.fstrings}"
    assert s.string_chars <= MAX_STRING_SHARE * s.markdown_chars, \
        (f"{path.name}: {s.string_chars} characters of string literals in code, over "
         f"{MAX_STRING_SHARE:.0%} of the {s.markdown_chars} characters of markdown")


def test_the_rules_catch_a_notebook_that_writes_prose_in_code(tmp_path):
    bad = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n"]},
        {"cell_type": "code", "metadata": {}, "source": [
            "for t in temps:\n", "    md(f'At T = {t} the text is {adjective}, as the reader sees.')\n"]},
    ]}
    path = tmp_path / "99_bad.ipynb"
    path.write_text(json.dumps(bad))
    s = shape(path)
    assert s.code_lines > s.markdown_lines
    assert s.control_flow == [(2, "For")] and s.fstrings == [2]
    assert s.string_chars > MAX_STRING_SHARE * s.markdown_chars
    with pytest.raises(AssertionError):
        test_notebook_is_literate(path)
