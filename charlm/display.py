"""Small display helpers for the notebooks: escaped text, tables, the environment.

Everything that shows generated or file text goes through :func:`html.escape` (via
:func:`charlm.slider.pre_html`). IPython is imported only when a helper is called, so the
package imports without it.
"""

from __future__ import annotations

import html
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import paths
from .slider import pre_html


def repo_path(path: str | os.PathLike) -> Path:
    """A notebook parameter's path: absolute as given, relative to the repository root
    otherwise (so the notebooks find the same files from JupyterLab, papermill or a test)."""
    path = Path(path)
    return path if path.is_absolute() else paths.ROOT / path


def md(text: str):
    """``IPython.display.Markdown`` of ``text`` (for sentences rendered from results)."""
    from IPython.display import Markdown

    return Markdown(text)


def pre(text: str, max_height: str | None = None):
    """``text`` as escaped preformatted HTML; ``max_height`` (e.g. ``"24em"``) scrolls it."""
    from IPython.display import HTML

    style = _PRE_STYLE + (f" max-height: {max_height}; overflow-y: auto;" if max_height else "")
    return HTML(pre_html(text, style=style))


def sample(prime: str, continuation: str):
    """A generated sample: the priming text in bold blue, then the continuation, escaped."""
    from IPython.display import HTML

    return HTML(f'<pre class="charlm-text" style="{_PRE_STYLE}"><b style="color:#1a5fb4">'
                f"{html.escape(prime)}</b>{html.escape(continuation)}</pre>")


_PRE_STYLE = ("white-space: pre-wrap; word-break: break-word; background: #f7f7f7; "
              "border-left: 3px solid #ccc; padding: 0.4em 0.6em;")


def table_html(df, formats: dict[str, str] | None = None, floatfmt: str = "{:.4f}",
               caption: str | None = None) -> str:
    """A DataFrame as a plain HTML table: no index, every cell escaped, numbers right-aligned
    and text left-aligned, NaN/None shown as a dash. ``formats`` maps a column to a format
    string (e.g. ``{"BPC": "{:.3f}", "share": "{:.0%}"}``); other float columns use ``floatfmt``."""
    import pandas as pd

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
    from IPython.display import HTML

    style = ("<style>.charlm-table td, .charlm-table th { padding: 2px 10px; vertical-align: top; }"
             " .charlm-table tbody tr:nth-child(even) { background: #f5f5f5; }"
             " .charlm-table thead th { border-bottom: 1px solid #999; }</style>")
    return HTML(style + table_html(df, formats, floatfmt, caption))


def checks_table(checks: Iterable[Any]):
    """The comparison of this run with the reference write-up (see :mod:`charlm.findings`)."""
    import pandas as pd

    rows = [{"claim (and the rule used to check it)": c.claim, "this run": c.observed,
             "agrees": {True: "yes", False: "NO", None: "n/a"}[c.agrees]} for c in checks]
    return table(pd.DataFrame(rows, columns=list(rows[0]) if rows else ["claim", "this run", "agrees"]))


def bullets(lines: Sequence[str]) -> str:
    """Markdown bullet list."""
    return "\n".join(f"- {line}" for line in lines)


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else :func:`platform.processor`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """Short commit of the repository, with ``+changes`` when the tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.ROOT,
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown (not a git checkout)"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=paths.ROOT, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + (" +changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict[str, str]:
    """What this report ran on: versions, CPU, cores and torch threads."""
    import numpy
    import pandas
    import torch

    from . import __version__

    return {
        "charlm": f"{__version__} (commit {git_commit()})",
        "Python": platform.python_version(),
        "torch": str(torch.__version__),
        "numpy / pandas": f"{numpy.__version__} / {pandas.__version__}",
        "OS": platform.platform(),
        "CPU": cpu_model(),
        "logical CPUs": str(os.cpu_count()),
        "torch threads in this kernel": str(torch.get_num_threads()),
        "CUDA available": str(torch.cuda.is_available()),
        "interpreter": sys.executable,
    }


def data_files() -> list[dict[str, Any]]:
    """The corpus files: size, characters after normalisation, verified SHA-256."""
    from .fetch import CORPUS_FILES, sha256, verify
    from .runs import corpus_text

    out = []
    for name in CORPUS_FILES:
        path = verify(name)  # raises DataError naming the file if its checksum fails
        out.append({"file": name, "bytes": path.stat().st_size,
                    "characters": len(corpus_text(name)), "sha256": sha256(path)})
    return out


__all__ = ["bullets", "checks_table", "cpu_model", "data_files", "environment", "git_commit",
           "md", "pre", "repo_path", "sample", "table", "table_html"]
