"""The report's prose lives in the notebooks' markdown (issue 28): string literals in
``charlm/report/`` that read as sentences (three words or more; docstrings left out) hold at
most 1,000 words, and the package ``charlm/report/`` at most 3,000 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "charlm" / "report"


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


MARKUP = re.compile(r"<[a-z/]|[\w-]+:\s*[^;]+;")  # an HTML tag, a CSS declaration


def literal_words(source: str) -> int:
    """Words in the sentence-like string literals of ``source`` (f-strings: their text parts
    joined): three words or more, not markup (HTML, CSS); docstrings left out."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    words = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = " ".join(v.value for v in node.values
                            if isinstance(v, ast.Constant) and isinstance(v.value, str))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in skip and id(node) not in inner:
            text = node.value
        else:
            continue
        n = len(text.split())
        words += n if n >= 3 and not MARKUP.search(text) else 0
    return words


def test_the_counter_counts_sentences_not_names_or_docstrings():
    source = '"""A docstring of many words here."""\nx = "one two"\ny = f"three {x} four five"\n' \
             'z = "a sentence of six words"\nw = "<p class=caption>a b c</p>"\nv = "td { padding: 2px 10px; }"'
    assert literal_words(source) == 3 + 5


def test_prose_in_the_report_package_is_at_most_1000_words():
    files = sorted(REPORT.rglob("*.py"))
    total = sum(literal_words(f.read_text()) for f in files)
    assert total <= 1000, f"{total} words of sentence-like literals in charlm/report"


def test_the_report_package_is_at_most_3000_lines():
    listed = [f for f in REPORT.rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    lines = sum(len(f.read_text().splitlines()) for f in listed)
    assert lines <= 3000, f"charlm/report holds {lines} lines"
