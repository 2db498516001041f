"""LaTeX formulas in markdown, turned into MathML for the static report.

The notebooks write formulas as LaTeX between ``$...$`` (inline) and ``$$...$$`` (display), which
JupyterLab renders. The report is one HTML file that must open with no network, so it cannot
load MathJax; instead each formula becomes MathML (made by ``latex2mathml``), which Chromium
and Firefox render natively and print to PDF. Code spans and fenced code blocks are left alone,
so a ``$`` in code is never taken for math.

The MathML cannot go into the markdown itself: the markdown renderer would take its elements
apart. So :func:`protect_math` first replaces each formula by a plain placeholder word (which
markdown leaves alone) and keeps its MathML in a table, and after rendering
:func:`restore_math` puts the MathML in place of the placeholders in the HTML.
"""

from __future__ import annotations

import re

from latex2mathml.converter import convert

# Code first (so that math inside it is not touched), then display math, then inline math.
# Inline math must not start or end with a space and must not be followed by a digit, so that
# prices such as "$5 and $6" stay text.
_PIECES = re.compile(
    r"(?P<fence>^```.*?^```[ \t]*$)"
    r"|(?P<code>`[^`\n]+`)"
    r"|\$\$(?P<display>.+?)\$\$"
    r"|(?<![\\$])\$(?P<inline>[^\s$](?:[^$\n]*?[^\s\\$])?)\$(?!\d)",
    re.DOTALL | re.MULTILINE,
)


PLACEHOLDER = "charlmmath{:06d}x"  # a plain word: markdown renders it unchanged


def protect_math(markdown: str, store: dict[str, str]) -> str:
    """``markdown`` with every formula replaced by a placeholder word; ``store`` gets
    placeholder -> MathML, for :func:`restore_math` after the markdown is rendered."""
    def emit(mathml: str) -> str:
        key = PLACEHOLDER.format(len(store))
        store[key] = mathml
        return key

    def replace(m: re.Match) -> str:
        if m.group("fence") or m.group("code"):
            return m.group(0)
        if m.group("display") is not None:
            # its own paragraph, so that the formula is a block of its own
            return "\n\n" + emit(convert(m.group("display").strip(), display="block")) + "\n\n"
        return emit(convert(m.group("inline").strip(), display="inline"))
    return _PIECES.sub(replace, markdown)


def restore_math(html: str, store: dict[str, str]) -> str:
    """Rendered ``html`` with each placeholder of :func:`protect_math` replaced by its MathML (a
    paragraph holding only a displayed formula becomes the formula)."""
    for key, mathml in store.items():
        html = html.replace(f"<p>{key}</p>", mathml).replace(key, mathml)
    return html


__all__ = ["PLACEHOLDER", "protect_math", "restore_math"]
