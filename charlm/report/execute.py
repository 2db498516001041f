"""Running the report's notebooks: the lock, the kernel, what decides that an executed copy is
up to date, and papermill runs with one line of progress per cell.

:func:`run_notebooks` executes ``notebooks/NN_*.ipynb`` in order with papermill into
``report/executed/`` (each written to a temporary name, renamed when done), each with the
parameters it declares (:func:`charlm.report.params.split_params`). A notebook whose executed
copy was made with the same :func:`execution_key` is not executed again. A cell that raises
stops the build with the notebook, the cell number and its first line named.

A lock (``report/.lock``, ``fcntl.flock``, :func:`report_lock`) makes a second concurrent build
stop at once with a clear message instead of both writing the same files. The kernels run with
progress bars off (``CHARLM_PROGRESS=0``), so executed notebooks hold results, not bar
refreshes, and with one torch thread (see :func:`kernel_environment`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from .. import paths
from ..atomic import check_destination, file_lock
from ..paths import environ as _environ
from .errors import LockBusy, NotebookFailed, ReportError, find_errors
from .myst import ENGINE, ExpressionError
from .params import split_params

KERNEL_NAME = "charlm"


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
            cwd=str(src.parent), log_output=False, engine_name=ENGINE, **hooks,
        )
    except PapermillExecutionError as exc:
        os.replace(tmp, dst)
        evalue = str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ""
        raise NotebookFailed(
            f"{src.name}: {_cell_label(src, exc.source)} raised {exc.ename}: {evalue} "
            f"(the executed copy with the traceback is {dst})"
        ) from None
    except ExpressionError as exc:  # a value of the prose: the cell is markdown
        with contextlib.suppress(FileNotFoundError):
            os.replace(tmp, dst)
        raise NotebookFailed(f"{src.name}: {exc} (the executed copy is {dst})") from None
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


def check_destinations(output: Path, executed_dir: Path, notebooks: Sequence[Path]) -> None:
    """Every file the build writes can be written, checked before any notebook runs by creating
    a file where each will go (see :func:`~charlm.atomic.check_destination`): the report (not a
    folder; its folder, which holds the lock, writable) and the executed notebooks."""
    check_destination(output, "the report")
    for nb in notebooks:
        check_destination(Path(executed_dir) / nb.name, "the executed notebook")


__all__ = ["KERNEL_NAME", "CellProgress", "NotebookRun", "check_destinations", "executed_key",
           "execution_key", "kernel_environment", "package_digest", "private_kernel",
           "read_executed", "remove_stale_temporaries", "report_lock", "run_notebook",
           "run_notebooks", "select_notebooks"]
