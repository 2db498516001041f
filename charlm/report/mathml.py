"""LaTeX formulas in markdown, turned into MathML for the static report.

The notebooks write formulas as LaTeX between ``$...$`` (inline) and ``$$...$$`` (display), which
JupyterLab renders. The report is one HTML file that must open with no network, so it cannot
load MathJax; instead :func:`markdown_to_mathml` replaces each formula by MathML (made by
``latex2mathml``), which Chromium and Firefox render natively and print to PDF. Code spans and
fenced code blocks are left alone, so a ``$`` in code is never taken for math.
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


def latex_to_mathml(latex: str, display: bool = False) -> str:
    """One formula as a ``<math>`` element (``display="block"`` for a displayed formula)."""
    return convert(latex.strip(), display="block" if display else "inline")


def markdown_to_mathml(markdown: str) -> str:
    """``markdown`` with every ``$...$`` and ``$$...$$`` formula replaced by MathML."""

    def replace(m: re.Match) -> str:
        if m.group("fence") or m.group("code"):
            return m.group(0)
        if m.group("display") is not None:
            # its own paragraph, so that markdown passes it through as a block of HTML
            return "\n\n" + latex_to_mathml(m.group("display"), display=True) + "\n\n"
        return latex_to_mathml(m.group("inline"))

    return _PIECES.sub(replace, markdown)


__all__ = ["latex_to_mathml", "markdown_to_mathml"]
