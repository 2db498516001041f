"""The report: run the notebooks with papermill, assemble ONE self-contained HTML file.

    python -m charlm.report                      # what `make report` runs
    python -m charlm.report --quick              # tiny budgets (notebooks/params/quick.yaml)
    python -m charlm.report -p n_epochs 500 -f my_params.yaml

Steps, each a function usable on its own:

1. :func:`run_notebooks` executes ``notebooks/NN_*.ipynb`` in order with papermill into
   ``report/executed/`` (written to a temporary name, renamed when done). Parameters come
   from YAML files (``-f``) and ``-p NAME VALUE`` pairs; each notebook gets only the ones
   its ``parameters`` cell declares, with the declared type checked first, and a name no
   notebook declares is an error (a typo would otherwise be silently ignored). A cell that
   raises stops the build with the notebook, the cell number and its first line named.
2. :func:`assemble` merges the executed notebooks in order into ``report/report.html``:
   cells tagged ``parameters``, ``injected-parameters`` or ``live-only`` are dropped, code
   input is hidden, images are embedded as base64, LaTeX formulas become MathML, and the template has no require.js,
   MathJax or widget scripts, so the file opens with no network. A notebook holding an error
   output is refused (notebook and cell named); so is a page that would still point outside
   itself (any ``src=``/``href=`` other than ``data:`` or ``#``).

A lock (``report/.lock``, ``fcntl.flock``) makes a second concurrent build stop at once with
a clear message instead of both writing the same files. The kernels run with progress bars
off (``CHARLM_PROGRESS=0``), so executed notebooks hold results, not bar refreshes, and with one
torch thread (see :func:`kernel_environment`).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import jinja2
import nbformat
import papermill
import yaml
from nbconvert import HTMLExporter
from papermill.exceptions import PapermillExecutionError

from .. import paths
from ..atomic import atomic_write_text, check_destination, file_lock
from ..config import parse_as
from ..errors import CharlmError, os_error_message
from ..paths import environ as _environ
from .furniture import furnish, word_count
from .mathml import protect_math, restore_math

NOTEBOOKS_DIR = paths.ROOT / "notebooks"
QUICK_PARAMS = NOTEBOOKS_DIR / "params" / "quick.yaml"
REPORT_DIR = paths.ROOT / "report"
REMOVE_TAGS = frozenset({"parameters", "injected-parameters", "live-only"})
KERNEL_NAME = "charlm"
_ASSIGNMENT = re.compile(r"^(\w+)\s*(?::[^=]*)?=")
_WIDGET_MIME = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")


class ReportError(CharlmError):
    """The report could not be built (a notebook failed, bad parameters, lock held...)."""


class LockBusy(ReportError):
    """Another build holds the lock."""


class NotebookFailed(ReportError):
    """A notebook cell raised, or an executed notebook holds an error output."""


# ---------------------------------------------------------------- parameters


def notebook_files(folder: str | Path = NOTEBOOKS_DIR) -> list[Path]:
    """The report's notebooks, in order: ``NN_name.ipynb`` files of ``folder``."""
    files = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not files:
        raise ReportError(f"no notebooks (NN_name.ipynb) in {folder}")
    return files


def declared_parameters(path: str | Path) -> dict[str, str]:
    """Name -> declared type (``int``, ``float``, ``str``, ``bool``...) of a notebook's
    ``parameters`` cell; exactly one such cell is required."""

    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ReportError(f"{Path(path).name} must have exactly one cell tagged 'parameters', "
                          f"found {len(tagged)}")
    try:
        inspected = papermill.inspect_notebook(str(path))
    except ValueError as exc:  # e.g. no kernelspec in the notebook's metadata
        raise ReportError(f"{Path(path).name}: papermill cannot read its parameters ({exc})") from None
    found = {name: info["inferred_type_name"] for name, info in inspected.items()}
    assigned = [ln for ln in tagged[0].source.splitlines() if _ASSIGNMENT.match(ln)]
    if len(assigned) != len(found):
        missed = [ln for ln in assigned if _ASSIGNMENT.match(ln).group(1) not in found]
        raise ReportError(f"{Path(path).name}: papermill cannot read the parameter line(s) "
                          f"{missed} (one `name: type = value  # comment` per line, no '=' in "
                          f"the comment)")
    return found


def read_params_file(path: str | Path) -> dict[str, Any]:
    """A YAML mapping of parameter name -> value."""

    path = Path(path)
    if not path.is_file():
        raise ReportError(f"parameters file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ReportError(f"parameters file {path} is not valid YAML"
                          + (f" (line {mark.line + 1})" if mark else "")) from None
    if not isinstance(values, dict):
        raise ReportError(f"parameters file {path} must be a mapping of name: value")
    return values


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill reads it: YAML scalar (``500`` int, ``0.01`` float, else str)."""

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, str, bool)) or value is None else text


def _coerce(name: str, value: Any, declared: str, where: str) -> Any:
    """``value`` as the type the notebook declares, read by the parser the command line and the
    settings files use (:func:`charlm.config.parse_as`: ``-p lr 1e-3`` is a float)."""
    try:
        return parse_as(declared, value)
    except ValueError:
        raise ReportError(f"parameter {name} must be {declared} (as declared in {where}), "
                          f"got {value!r}") from None


def split_params(params: dict[str, Any], notebooks: Sequence[Path]) -> dict[Path, dict[str, Any]]:
    """The parameters each notebook declares, type-checked; unknown names are an error."""
    per_nb: dict[Path, dict[str, Any]] = {}
    used: set[str] = set()
    for nb in notebooks:
        declared = declared_parameters(nb)
        mine = {}
        for name, value in params.items():
            if name in declared:
                mine[name] = _coerce(name, value, declared[name], nb.name)
                used.add(name)
        per_nb[nb] = mine
    unknown = sorted(set(params) - used)
    if unknown:
        known = sorted({n for nb in notebooks for n in declared_parameters(nb)})
        raise ReportError(f"unknown parameter(s) {', '.join(unknown)}; the notebooks take: "
                          f"{', '.join(known)}")
    return per_nb


# ---------------------------------------------------------------- running


@contextlib.contextmanager
def report_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the duration, or raise :class:`LockBusy`.

    ``flock`` locks die with their process, so a killed build never leaves a stale lock.
    """
    path = Path(path)
    with contextlib.ExitStack() as held:
        try:
            fd = held.enter_context(file_lock(path, wait=False))
        except BlockingIOError:
            holder = path.read_text(errors="replace").strip() or "unknown"
            raise LockBusy(
                f"another report build is running in this folder (lock {path} held by process "
                f"{holder}); wait for it to finish, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield


@contextlib.contextmanager
def private_kernel(name: str = KERNEL_NAME) -> Iterator[str]:
    """A kernel spec ``name`` that runs THIS interpreter, found before any other of that name.

    The notebooks name the kernel ``charlm`` (``make lab`` registers it); for papermill a
    temporary spec pointing at ``sys.executable`` is put first on ``JUPYTER_PATH``, so a
    ``charlm`` kernel registered by another checkout can never run these notebooks.
    """
    old = os.environ.get("JUPYTER_PATH")
    with tempfile.TemporaryDirectory(prefix="charlm-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / name
        spec_dir.mkdir(parents=True)
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     "--IPKernelApp.log_level=CRITICAL"],  # quiet: no TCP warning, no
                     # "KeyboardInterrupt caught" (jupyter_client interrupts kernels at shutdown)
            "display_name": "Python (charlm)", "language": "python",
        }))
        with _environ({"JUPYTER_PATH": os.pathsep.join([tmp] + ([old] if old else []))}):
            yield name


def _cell_label(src: Path, source: str) -> str:
    """``cell 7 (`first line`)`` for the source notebook cell whose text is ``source``."""

    first = next((ln for ln in source.splitlines() if ln.strip()), "").strip()
    number = None
    try:
        nb = nbformat.read(str(src), as_version=4)
        number = next((i for i, c in enumerate(nb.cells, 1) if c.source == source), None)
    except Exception:  # the label is best effort; the error itself is what matters
        pass
    where = f"cell {number}" if number else "a cell"
    return f"{where} (`{first[:80]}`)"


def package_digest() -> str:
    """SHA-256 over the source of the ``charlm`` package and the committed data checksums: what
    every notebook's results depend on besides its own cells and parameters."""
    h = hashlib.sha256()
    root = paths.ROOT / "charlm"
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    if paths.SUMS_FILE.is_file():
        h.update(paths.SUMS_FILE.read_bytes())
    return h.hexdigest()


def execution_key(src: Path, parameters: dict[str, Any], package: str | None = None) -> str:
    """What decides whether an executed notebook is still up to date: the source notebook's
    cells (type, source and tags, not outputs or ids), its parameters, the kernel's thread
    settings and :func:`package_digest`. The run cache makes a re-execution cheap; this makes a
    rebuild after a prose edit of one notebook re-execute only that one."""
    nb = nbformat.read(str(src), as_version=4)
    cells = [(c.cell_type, c.source, sorted(c.get("metadata", {}).get("tags", []))) for c in nb.cells]
    blob = json.dumps({"cells": cells, "parameters": parameters, "env": kernel_environment(),
                       "package": package or package_digest()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_executed(path: Path):
    """The executed notebook at ``path``, or None when it is missing or damaged (truncated,
    overwritten, not a notebook: nbformat raises many types; each means "execute it again")."""
    try:
        nb = nbformat.read(str(path), as_version=4)
        find_errors(nb)  # reads every cell's outputs: a damaged structure fails here
        return nb
    except Exception:
        return None


def executed_key(path: Path) -> str | None:
    """The :func:`execution_key` an executed notebook was made with (None: unknown, damaged or
    failed)."""
    nb = read_executed(path)
    if nb is None or find_errors(nb):
        return None
    key = nb.metadata.get("charlm", {})
    return key.get("execution_key") if isinstance(key, dict) else None


def remove_stale_temporaries(folder: Path, names: Sequence[str]) -> list[Path]:
    """Remove the temporary files that a killed build left in ``folder`` (papermill's
    ``.NAME.*.ipynb`` and :func:`~charlm.atomic.atomic_write`'s ``.NAME.*.tmp``, for each of
    ``names``). Call it holding the report's lock: then no other build is writing them."""
    gone = []
    for name in names:
        for pattern in (f".{name}.*.ipynb", f".{name}.*.tmp"):
            for stale in Path(folder).glob(pattern):
                with contextlib.suppress(OSError):
                    stale.unlink()
                    gone.append(stale)
    return gone


class CellProgress:
    """One line per code cell while a notebook executes: its number, first line and seconds.

    Written by the build process (nbclient's ``on_cell_execute``/``on_cell_executed`` hooks), so
    a long cell (training for minutes) is visible while it runs, and nothing of it goes into the
    executed notebook.
    """

    def __init__(self, say, n_code: int) -> None:
        self.say, self.n_code, self.done, self.started = say, n_code, 0, 0.0

    def start(self, cell, cell_index: int, **_) -> None:
        self.started = time.time()
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "").strip()
        self.say(f"    cell {self.done + 1}/{self.n_code} `{first[:60]}` ...", end="", flush=True)

    def finish(self, cell, cell_index: int, **_) -> None:
        self.done += 1
        self.say(f" {time.time() - self.started:.1f} s", flush=True)


def _print(text: str, end: str = "\n", flush: bool = False) -> None:
    print(text, end=end, flush=flush)


def run_notebook(src: Path, dst: Path, parameters: dict[str, Any], kernel: str = KERNEL_NAME,
                 key: str | None = None, progress=None) -> float:
    """Execute ``src`` with papermill into ``dst``; returns the seconds it took.

    Written to a temporary sibling and renamed, so ``dst`` is never half-written. ``progress``
    (a function like :func:`print`) gets one line per code cell (see :class:`CellProgress`).
    When a cell raises, the executed copy (with the traceback) is still kept at ``dst`` and a
    :class:`ReportError` names the notebook and the cell.
    """

    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".ipynb")
    os.close(fd)
    start = time.time()
    hooks = {}
    if progress is not None:
        n_code = sum(c.cell_type == "code" for c in nbformat.read(str(src), as_version=4).cells)
        # papermill adds a cell of injected parameters when it is given some
        cells = CellProgress(progress, n_code + (1 if parameters else 0))
        hooks = {"on_cell_execute": cells.start, "on_cell_executed": cells.finish}
    try:
        papermill.execute_notebook(
            str(src), tmp, parameters=parameters, kernel_name=kernel, progress_bar=False,
            cwd=str(src.parent), log_output=False, **hooks,
        )
    except PapermillExecutionError as exc:
        os.replace(tmp, dst)
        evalue = str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ""
        raise NotebookFailed(
            f"{src.name}: {_cell_label(src, exc.source)} raised {exc.ename}: {evalue} "
            f"(the executed copy with the traceback is {dst})"
        ) from None
    except Exception as exc:  # the kernel died, could not start, timed out...
        with contextlib.suppress(FileNotFoundError):
            os.replace(tmp, dst)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise NotebookFailed(f"{src.name}: the kernel failed ({type(exc).__name__}: {first})") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if key:  # recorded so that the next build can tell whether this copy is up to date
        nb = nbformat.read(tmp, as_version=4)
        nb.metadata["charlm"] = {"execution_key": key}
        nbformat.write(nb, tmp)
    os.replace(tmp, dst)
    return time.time() - start


@dataclass
class NotebookRun:
    """What happened to one notebook of a build."""

    source: Path
    executed: Path
    seconds: float = 0.0
    error: str | None = None
    reused: bool = False  # up to date (or not selected by ``only``): not executed again


def kernel_environment() -> dict[str, str]:
    """What the notebooks' kernels run with: no progress bars, and ONE torch/OpenMP thread
    unless the caller chose a number (``OMP_NUM_THREADS``).

    One thread because torch's OpenMP threads spin while they wait: with other busy processes
    on the same cores, a kernel with one thread per core can run many times slower than with
    one thread, the threads waiting on each other instead of computing. The studies train with one thread per
    process anyway, so the 4.1 run is trained exactly as a study would train it.
    """
    env = {"CHARLM_PROGRESS": "0"}
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=os.environ.get("MKL_NUM_THREADS", threads))
    return env


def select_notebooks(notebooks: Sequence[Path], only: Sequence[str]) -> set[Path]:
    """The notebooks named by ``only`` (``"04"`` or ``"04_temperature"``, file names too)."""
    chosen = set()
    for name in only:
        hits = [nb for nb in notebooks if nb.name == name or nb.stem == name or nb.name[:2] == name]
        if not hits:
            raise ReportError(f"--only {name}: no such notebook (have "
                              f"{', '.join(nb.name[:2] for nb in notebooks)})")
        chosen.update(hits)
    return chosen


def run_notebooks(
    notebooks: Sequence[Path], executed_dir: Path, params: dict[str, Any],
    stop_on_error: bool = True, say=print, only: Sequence[str] = (), force: bool = False,
) -> list[NotebookRun]:
    """Execute the notebooks in order (see :func:`run_notebook`), in the environment of
    :func:`kernel_environment`.

    A notebook is executed when its executed copy is missing, failed, or was made with another
    :func:`execution_key` (its cells, its parameters or the package changed), or with
    ``force``. With ``only``, exactly those notebooks are executed and the others' executed
    copies are used as they are (they must exist).
    """
    per_nb = split_params(params, notebooks)
    chosen = select_notebooks(notebooks, only) if only else None
    package = package_digest()
    runs = []
    remove_stale_temporaries(Path(executed_dir), [nb.name for nb in notebooks])
    with _environ(kernel_environment()), private_kernel() as kernel:
        for i, nb in enumerate(notebooks, 1):
            run = NotebookRun(nb, Path(executed_dir) / nb.name)
            key = execution_key(nb, per_nb[nb], package)
            if chosen is not None and nb not in chosen:
                if not run.executed.is_file():
                    raise ReportError(f"--only: {run.executed} does not exist yet; build the "
                                      f"whole report once first")
                run.reused = read_executed(run.executed) is not None
                if not run.reused and say:  # damaged: executed again, as if it were chosen
                    say(f"[{i}/{len(notebooks)}] {nb.name}: the executed copy is damaged; "
                        f"executing it again")
            elif chosen is None and not force and executed_key(run.executed) == key:
                run.reused = True
            if run.reused:
                runs.append(run)
                if say:
                    say(f"[{i}/{len(notebooks)}] {nb.name}: up to date"
                        if chosen is None else f"[{i}/{len(notebooks)}] {nb.name}: kept as it is")
                continue
            if say:
                say(f"[{i}/{len(notebooks)}] {nb.name} ...")
            try:
                run.seconds = run_notebook(nb, run.executed, per_nb[nb], kernel, key,
                                           progress=_print if say is print else None)
            except ReportError as exc:
                run.error = str(exc)
                runs.append(run)
                if stop_on_error:
                    raise
                if say:
                    say(f"    FAILED: {exc}")
                continue
            runs.append(run)
            if say:
                say(f"    done in {run.seconds:.0f} s")
    return runs


# ---------------------------------------------------------------- assembling


_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{#- The lab template without anything fetched from the network. -#}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
main { max-width: 62rem; margin: 0 auto; }
nav.charlm-toc { border-left: 3px solid #1a5fb4; padding: 0.2em 1em; margin: 1em 0; }
nav.charlm-toc ol { margin: 0.3em 0; }
nav.charlm-toc ol ol { list-style: none; padding-left: 1.2em; font-size: 0.92em; }
.jp-RenderedHTMLCommon table { margin-left: 0; }
.jp-RenderedHTMLCommon p.caption { font-size: 0.92em; color: #333; margin: 0.3em 0 1.2em; }
@media print {
  pre { max-height: none !important; overflow: visible !important; }
  nav.charlm-toc { break-after: page; }
  h2 { break-before: page; }
  img { break-inside: avoid; }
}
</style>
{%- endblock extra_css -%}
"""

_TAG = re.compile(r"<[A-Za-z][^>]*>")
_REF = re.compile(r"""\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.IGNORECASE)


def find_errors(nb) -> list[tuple[int, str, str]]:
    """(cell number, ename, evalue) of every error output in a notebook."""
    out = []
    for i, cell in enumerate(nb.cells, 1):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append((i, o.get("ename", "?"), str(o.get("evalue", "")).splitlines()[0:1]))
    return [(i, e, v[0] if v else "") for i, e, v in out]


def merge_notebooks(executed: Sequence[Path], header: str | None = None,
                    math: dict[str, str] | None = None):
    """One notebook of the report's cells: executed notebooks in order, the cells tagged
    ``parameters``/``injected-parameters``/``live-only`` and code cells without output left
    out, widget outputs dropped, and ``header`` (markdown) after the first markdown cell.
    LaTeX formulas in markdown become placeholders, their MathML kept in ``math`` (see
    :func:`charlm.report.mathml.protect_math`)."""
    math = {} if math is None else math

    merged = None
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
        for n, cell in enumerate(nb.cells):
            tags = set(cell.get("metadata", {}).get("tags", []))
            if tags & REMOVE_TAGS or "papermill-error-cell-tag" in tags:
                continue
            cell = copy.deepcopy(cell)
            cell.metadata = {}
            cell.id = f"{Path(path).stem[:40]}-{n}"
            if cell.cell_type == "markdown":
                cell.source = protect_math(cell.source, math)  # MathML after rendering
            if cell.cell_type == "code":
                cell.outputs = [o for o in (_strip_widgets(o) for o in cell.outputs) if o]
                if not cell.outputs:
                    continue
            merged.cells.append(cell)
    if merged is None:
        raise ReportError("no executed notebooks to assemble")
    if header:
        at = next((i + 1 for i, c in enumerate(merged.cells) if c.cell_type == "markdown"), 0)
        merged.cells.insert(at, nbformat.v4.new_markdown_cell(header, id="charlm-build-note"))
    return merged


def _strip_widgets(output):
    data = output.get("data")
    if not data or not any(m in data for m in _WIDGET_MIME):
        return output
    return None  # a widget has no meaning without a kernel; its text/plain is "VBox(...)"


def assemble(executed: Sequence[Path], output: str | Path, header: str | None = None,
             title: str = "charlm: a character-level LSTM on Dickens") -> Path:
    """Write the self-contained HTML report of ``executed`` notebooks to ``output``."""

    math: dict[str, str] = {}
    merged = merge_notebooks(executed, header, math)
    merged.metadata["title"] = title
    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"charlm_report.html.j2": _TEMPLATE})],
        template_file="charlm_report.html.j2",
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(merged, resources={"metadata": {"name": title}})
    body = restore_math(body, math)
    body = furnish(body)
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


# ---------------------------------------------------------------- the whole build


def build_note(params: dict[str, Any], quick: bool) -> str:
    """The markdown note placed under the report's title: how it was built."""
    if params:
        listed = ", ".join(f"`{k} = {v!r}`" for k, v in sorted(params.items()))
        changed = f"Parameters changed from the notebooks' defaults: {listed}."
    else:
        changed = "All parameters at the notebooks' defaults (the coursework's settings)."
    text = f"*Built by `make report` (`python -m charlm.report`). {changed}*"
    if quick:
        text += ("\n\n**QUICK build: tiny budgets to check that every step works. The numbers "
                 "are not results; run `make report` for the real ones.**")
    return text


def check_destinations(output: Path, executed_dir: Path, notebooks: Sequence[Path]) -> None:
    """Every file the build writes can be written, checked before any notebook runs by creating
    a file where each will go (see :func:`~charlm.atomic.check_destination`): the report (not a
    folder; its folder, which holds the lock, writable) and the executed notebooks."""
    check_destination(output, "the report")
    for nb in notebooks:
        check_destination(Path(executed_dir) / nb.name, "the executed notebook")


@dataclass
class Build:
    """The outcome of :func:`build`."""

    runs: list[NotebookRun] = field(default_factory=list)
    html: Path | None = None
    seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error]


def build(
    params_files: Sequence[str | Path] = (), overrides: dict[str, Any] | None = None,
    quick: bool = False, notebooks_dir: str | Path = NOTEBOOKS_DIR,
    executed_dir: str | Path | None = None, output: str | Path | None = None,
    stop_on_error: bool = True, say=print, only: Sequence[str] = (), force: bool = False,
) -> Build:
    """Run every notebook and assemble the report, holding the lock beside ``output``."""
    start = time.time()
    output = Path(output) if output else REPORT_DIR / "report.html"
    executed_dir = Path(executed_dir) if executed_dir else output.parent / "executed"
    files = ([QUICK_PARAMS] if quick else []) + [Path(f) for f in params_files]
    params: dict[str, Any] = {}
    for f in files:
        params.update(read_params_file(f))
    params.update(overrides or {})
    notebooks = notebook_files(notebooks_dir)
    check_destinations(output, executed_dir, notebooks)
    result = Build()
    with report_lock(output.parent / ".lock"):
        remove_stale_temporaries(output.parent, [output.name])
        result.runs = run_notebooks(notebooks, executed_dir, params, stop_on_error, say, only, force)
        if not result.errors:
            result.html = assemble([r.executed for r in result.runs], output,
                                   header=build_note(params, quick))
    result.seconds = time.time() - start
    if say and result.html:
        size = result.html.stat().st_size / 1e6
        words = word_count(result.html.read_text()).sentence()
        say(f"report: {result.html} ({size:.1f} MB, {words}) built in "
            f"{result.seconds / 60:.1f} min")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m charlm.report", description=__doc__.split("\n\n")[0],
                                allow_abbrev=False)
    p.add_argument("-f", "--parameters_file", action="append", default=[], metavar="FILE",
                   help="YAML file of parameters (repeatable; later files win)")
    p.add_argument("-p", "--parameter", action="append", nargs=2, default=[],
                   metavar=("NAME", "VALUE"), help="one parameter, as papermill -p (wins over -f)")
    p.add_argument("--quick", action="store_true",
                   help=f"tiny budgets: read {QUICK_PARAMS.relative_to(paths.ROOT)} first")
    p.add_argument("--notebooks", default=str(NOTEBOOKS_DIR), help="folder of NN_*.ipynb")
    p.add_argument("--executed", default=None, help="folder for executed notebooks "
                   "(default: executed/ beside the output)")
    p.add_argument("--output", default=str(REPORT_DIR / "report.html"), help="the HTML report")
    p.add_argument("--only", action="append", default=[], metavar="NN",
                   help="execute only this notebook (repeatable: 04, 04_temperature); the others' "
                        "executed copies are reused as they are")
    p.add_argument("--force", action="store_true",
                   help="execute every notebook, even those whose executed copy is up to date")
    args = p.parse_args(argv)
    overrides = {name: parse_value(value) for name, value in args.parameter}
    # SIGTERM behaves like Ctrl-C: the notebook being executed leaves no temporary file
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        build(args.parameters_file, overrides, args.quick, args.notebooks, args.executed,
              args.output, only=args.only, force=args.force)
    except NotebookFailed as exc:
        print(f"charlm report: error: {exc}", file=sys.stderr)
        return 1
    except CharlmError as exc:  # bad parameters, lock held, missing files
        print(f"charlm report: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the last net: a file that cannot be read or written, in one line
        print(f"charlm report: error: {os_error_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("charlm report: interrupted", file=sys.stderr)
        return 130
    return 0


__all__ = ["Build", "LockBusy", "check_destinations", "read_executed", "remove_stale_temporaries", "NotebookFailed", "NotebookRun", "ReportError", "assemble", "build",
           "build_note", "declared_parameters", "execution_key", "executed_key", "external_refs", "find_errors", "kernel_environment", "main", "merge_notebooks",
           "notebook_files", "package_digest", "report_lock", "select_notebooks", "run_notebook", "run_notebooks", "split_params"]

