"""Assembling the report: the executed notebooks merged in order into ONE self-contained HTML
file.

:func:`assemble` merges the executed notebooks (:func:`merge_notebooks`): cells tagged
``parameters``, ``injected-parameters`` or ``live-only`` are dropped, code input is hidden,
images are embedded as base64, LaTeX formulas become MathML (:mod:`charlm.report.mathml`), and
the template (``templates/charlm_report.html.j2``: nbconvert's lab template with no require.js,
MathJax or widget scripts) fetches nothing, so the file opens with no network; the furniture
(:mod:`charlm.report.furniture`) is added last. A notebook holding an error output is refused
(notebook and cell named); so is a page that would still point outside itself (any
``src=``/``href=`` other than ``data:`` or ``#``: :func:`external_refs`).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Sequence

import jinja2
import nbformat
from nbconvert import HTMLExporter

from ..atomic import atomic_write_text
from .errors import NotebookFailed, ReportError, find_errors
from .furniture import furnish
from .mathml import protect_math, restore_math
from .myst import METADATA, render_expressions

REMOVE_TAGS = frozenset({"parameters", "injected-parameters", "live-only"})
TEMPLATE = "charlm_report.html.j2"  # in charlm/report/templates/ (package data)
_WIDGET_MIME = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")
_TAG = re.compile(r"<[A-Za-z][^>]*>")
_REF = re.compile(r"""\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.IGNORECASE)

GLANCE = "at-a-glance"  # the tag of a part's one-line answer, gathered at the top of the report
GLANCE_TITLE = "The answers at a glance"
_H2 = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)


def merge_notebooks(executed: Sequence[Path], header: str | None = None,
                    math: dict[str, str] | None = None):
    """One notebook of the report's cells: executed notebooks in order, the cells tagged
    ``parameters``/``injected-parameters``/``live-only`` and code cells without output left
    out, widget outputs dropped, the ``{eval}`` values put in the prose, and ``header``
    (markdown) after the first markdown cell. The markdown cells tagged ``at-a-glance`` (one
    line per part: its answer and key number) are gathered after it, each line linked to its
    part (the notebook's first level-2 heading). LaTeX formulas in markdown become placeholders,
    their MathML kept in ``math`` (see :func:`charlm.report.mathml.protect_math`)."""
    math = {} if math is None else math
    merged = None
    glance: list[str] = []
    for path in executed:
        nb = nbformat.read(str(path), as_version=4)
        errors = find_errors(nb)
        if errors:
            i, ename, evalue = errors[0]
            raise NotebookFailed(f"{Path(path).name}: cell {i} has an error output ({ename}: {evalue}); "
                              f"fix the notebook and run the report again")
        if merged is None:
            merged = nbformat.v4.new_notebook()
            merged.metadata = copy.deepcopy({k: v for k, v in nb.metadata.items()
                                             if k not in ("widgets", "papermill")})
        part = None
        for n, cell in enumerate(nb.cells):
            tags = set(cell.get("metadata", {}).get("tags", []))
            if tags & REMOVE_TAGS or "papermill-error-cell-tag" in tags:
                continue
            cell = copy.deepcopy(cell)
            if cell.cell_type == "markdown":
                where = f"{Path(path).name} cell {n + 1}"
                try:
                    source = render_expressions(cell.source, cell.metadata.get(METADATA), where)
                except ValueError as exc:
                    raise ReportError(str(exc)) from None
                part = part or _H2.search(source)
                if GLANCE in tags:
                    glance.append(_glance_line(part.group(1) if part else None, source))
                    continue
                cell.source = protect_math(myst_captions(source), math)  # MathML after rendering
            cell.metadata = {}
            cell.id = f"{Path(path).stem[:40]}-{n}"
            if cell.cell_type == "code":
                # a widget has no meaning without a kernel; its text/plain is "VBox(...)"
                cell.outputs = [o for o in cell.outputs
                                if not any(m in o.get("data", {}) for m in _WIDGET_MIME)]
                if not cell.outputs:
                    continue
            merged.cells.append(cell)
    if merged is None:
        raise ReportError("no executed notebooks to assemble")
    at = next((i + 1 for i, c in enumerate(merged.cells) if c.cell_type == "markdown"), 0)
    if glance:
        merged.cells.insert(at, nbformat.v4.new_markdown_cell(
            f"## {GLANCE_TITLE}\n\n" + "\n".join(glance), id="charlm-at-a-glance"))
    if header:
        merged.cells.insert(at, nbformat.v4.new_markdown_cell(header, id="charlm-build-note"))
    return merged


def _glance_line(heading: str | None, source: str) -> str:
    """A bullet: the part's heading as a link to it (nbconvert's id: the text, spaces as
    hyphens; in angle brackets, as it may hold parentheses), then the part's one-line answer."""
    text = " ".join(source.split())
    if heading is None:
        return f"- {text}"
    return f"- [{heading}](<#{heading.replace(' ', '-')}>): {text}"


# MyST's target syntax, ``(fig-name)=`` on the line above the caption's paragraph
_TARGET = re.compile(r"^\(((fig|tab)-[\w.-]+)\)=[ \t]*\n+(?=\S)", re.MULTILINE)


def myst_captions(source: str) -> str:
    """A caption written the MyST way, a target ``(fig-name)=`` (or ``(tab-name)=``) on the line
    above its paragraph, in the form :mod:`charlm.report.furniture` numbers:
    ``Figure {#fig-name}: ...``."""
    return _TARGET.sub(lambda m: ("Figure" if m.group(2) == "fig" else "Table")
                       + f" {{#{m.group(1)}}}: ", source)


def assemble(executed: Sequence[Path], output: str | Path, header: str | None = None,
             title: str = "charlm: a character-level LSTM on Dickens", strict: bool = True) -> Path:
    """Write the self-contained HTML report of ``executed`` notebooks to ``output`` (not
    ``strict``: references to figures of notebooks left out are allowed)."""
    math: dict[str, str] = {}
    merged = merge_notebooks(executed, header, math)
    merged.metadata["title"] = title
    exporter = HTMLExporter(
        extra_loaders=[jinja2.PackageLoader("charlm.report", "templates")],
        template_file=TEMPLATE,
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(merged, resources={"metadata": {"name": title}})
    body = furnish(restore_math(body, math), strict)
    bad = external_refs(body)
    if bad:
        raise ReportError("the report would point outside itself (only data: and # links are "
                          f"allowed): {', '.join(bad[:5])}")
    output = Path(output)
    atomic_write_text(output, body)
    return output


def external_refs(page: str) -> list[str]:
    """Every ``src=``/``href=`` value of an HTML page that is not ``data:`` or ``#...``."""
    values = (next(g for g in m.groups() if g is not None)
              for tag in _TAG.findall(page) for m in _REF.finditer(tag))  # markup only, not text
    return sorted({v for v in values if not (v.startswith("data:") or v.startswith("#"))})


__all__ = ["GLANCE", "GLANCE_TITLE", "REMOVE_TAGS", "TEMPLATE", "assemble", "external_refs", "merge_notebooks"]
