"""One QUICK build of the report, shared by test_notebooks.py and test_report.py.

It is the pipeline of `make report QUICK=1` (``charlm.report.build(quick=True)``), run once
per pytest process on first use, with its runs, figures, experiment log, executed notebooks
and report in a temporary folder. ``stop_on_error=False`` so that every notebook is tried
and each notebook's test can report its own failing cell.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from charlm.report import build as report
from charlm.paths import environ


@dataclass
class QuickBuild:
    build: report.Build | None
    folder: Path
    error: BaseException | None = None  # raised by the build itself (e.g. assembly)

    @property
    def html_path(self) -> Path:
        return self.folder / "report" / "report.html"


_BUILD: list[QuickBuild] = []


def quick_build() -> QuickBuild:
    """The shared build (made on first call, then reused, including a failure)."""
    if _BUILD:
        return _BUILD[0]
    folder = Path(tempfile.mkdtemp(prefix="charlm-quick-report-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    env = {"CHARLM_RUNS_DIR": str(folder / "runs"), "CHARLM_FIGURES_DIR": str(folder / "figures"),
           "CHARLM_PROGRESS": "0"}
    result = QuickBuild(None, folder)
    try:
        with environ(env):
            result.build = report.build(
                quick=True, overrides={"log": str(folder / "experiment_logs.csv")},
                output=folder / "report" / "report.html", stop_on_error=False, say=None)
    except Exception as exc:  # kept, so every test that needs the build reports the cause
        result.error = exc
    _BUILD.append(result)
    return result


def tiny_notebooks(folder: Path, params: str = "n: int = 1  # a parameter") -> list[Path]:
    """Two notebooks of three cells (``00_a``: "# first", ``01_b``: "# second"), each with the
    ``parameters`` cell ``params`` and a cell ``n + 1``: a report that builds in seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in (("00_a.ipynb", "first"), ("01_b.ipynb", "second")):
        cell = new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        nb = new_notebook(cells=[new_markdown_cell(f"# {text}"), cell, new_code_cell("n + 1")])
        nb.metadata["kernelspec"] = {"name": "charlm", "display_name": "Python (charlm)",
                                     "language": "python"}
        nbformat.write(nb, str(folder / name))
        out.append(folder / name)
    return out
