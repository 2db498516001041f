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

    style = f"max-height: {max_height}; overflow-y: auto;" if max_height else ""
    return HTML(pre_html(text, style="white-space: pre-wrap; " + style))


def table(df, floatfmt: str = "{:.4f}", caption: str | None = None):
    """A DataFrame as a plain HTML table (no index; values escaped; NaN shown as a dash)."""
    from IPython.display import HTML

    formatters = {c: (lambda v, f=floatfmt: "–" if v != v else f.format(v))
                  for c in df.columns if df[c].dtype.kind == "f"}
    body = df.to_html(index=False, escape=True, na_rep="–", formatters=formatters,
                      border=0, classes="charlm-table")
    cap = f"<p><em>{html.escape(caption)}</em></p>" if caption else ""
    style = ("<style>.charlm-table td, .charlm-table th { padding: 2px 10px; text-align: right; }"
             " .charlm-table { border-collapse: collapse; margin: 0.5em 0; }"
             " .charlm-table tr:nth-child(even) { background: #f5f5f5; }</style>")
    return HTML(style + cap + body)


def checks_table(checks: Iterable[Any]):
    """The comparison of this run with the reference write-up (see :mod:`charlm.findings`)."""
    import pandas as pd

    rows = [{"reference write-up": c.claim, "this run": c.observed,
             "agrees": {True: "yes", False: "NO", None: "n/a"}[c.agrees]} for c in checks]
    return table(pd.DataFrame(rows, columns=["reference write-up", "this run", "agrees"]))


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
           "md", "pre", "repo_path", "table"]
