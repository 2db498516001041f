"""How the notebooks show things: escaped text and samples, and tables.

Everything that shows generated or file text goes through :func:`html.escape` (:func:`pre`,
:func:`sample`), so a sample holding ``<script>`` is shown as text.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import HTML

from .. import paths


def repo_path(path: str | os.PathLike) -> Path:
    """A notebook parameter's path: absolute as given, relative to the repository root
    otherwise (so the notebooks find the same files from JupyterLab, papermill or a test)."""
    path = Path(path)
    return path if path.is_absolute() else paths.ROOT / path


def pre(text: str, max_height: str | None = None):
    """``text`` as an escaped, wrapping ``<pre>`` block; ``max_height`` (e.g. ``"24em"``)
    scrolls it."""
    style = _PRE_STYLE + (f" max-height: {max_height}; overflow-y: auto;" if max_height else "")
    return HTML(f'<pre class="charlm-text" style="{html.escape(style)}">{html.escape(text)}</pre>')


def sample(prime: str, continuation: str):
    """A generated sample: the priming text in bold blue, then the continuation, escaped."""
    return HTML(f'<pre class="charlm-text" style="{_PRE_STYLE}"><b style="color:#1a5fb4">'
                f"{html.escape(prime)}</b>{html.escape(continuation)}</pre>")


_PRE_STYLE = ("white-space: pre-wrap; word-break: break-word; background: #f7f7f7; "
              "border-left: 3px solid #ccc; padding: 0.4em 0.6em;")


def table_html(df, formats: dict[str, str] | None = None, floatfmt: str = "{:.4f}",
               caption: str | None = None) -> str:
    """A DataFrame as a plain HTML table: no index, every cell escaped, numbers right-aligned
    and text left-aligned, NaN/None shown as a dash. ``formats`` maps a column to a format
    string (e.g. ``{"BPC": "{:.3f}", "share": "{:.0%}"}``); other float columns use ``floatfmt``."""
    formats = formats or {}
    cols = list(df.columns)
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in cols}

    def cell(col: str, value: Any) -> str:
        if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
            text = "–"
        elif col in formats:
            text = formats[col].format(value)
        elif isinstance(value, float):
            text = floatfmt.format(value)
        else:
            text = str(value)
        align = "right" if numeric[col] else "left"
        return f'<td style="text-align:{align}">{html.escape(text)}</td>'

    head = "".join(f'<th style="text-align:{"right" if numeric[c] else "left"}">'
                   f"{html.escape(str(c))}</th>" for c in cols)
    rows = "".join("<tr>" + "".join(cell(c, v) for c, v in zip(cols, rec)) + "</tr>"
                   for rec in df.itertuples(index=False, name=None))
    cap = (f'<p class="charlm-caption" style="font-style:italic;margin:0.6em 0 0.2em 0">'
           f"{html.escape(caption)}</p>") if caption else ""
    return (f'{cap}<table class="charlm-table" style="border-collapse:collapse;margin:0.3em 0 0.8em 0">'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def table(df, formats: dict[str, str] | None = None, floatfmt: str = "{:.4f}",
          caption: str | None = None):
    """:func:`table_html` as an ``IPython.display.HTML`` object."""
    style = ("<style>.charlm-table td, .charlm-table th { padding: 2px 10px; vertical-align: top; }"
             " .charlm-table tbody tr:nth-child(even) { background: #f5f5f5; }"
             " .charlm-table thead th { border-bottom: 1px solid #999; }</style>")
    return HTML(style + table_html(df, formats, floatfmt, caption))


__all__ = ["pre", "repo_path", "sample", "table", "table_html"]
