"""Running one report notebook: the lock, the kernel, what decides that an executed copy is up
to date, and the papermill run (which notebooks run, and when: :mod:`charlm.report.schedule`).

:func:`run_notebook` executes a notebook with papermill into ``report/executed/`` (written to a
temporary name, renamed when done) with the parameters it declares; a cell that raises stops
the build with the notebook, the cell number and its first line named. An executed copy made
with the same :func:`execution_key` is not executed again. A lock (``report/.lock``,
``fcntl.flock``, :func:`report_lock`) makes a second concurrent build stop at once with a clear
message instead of both writing the same files. The kernels run with progress bars off
(``CHARLM_PROGRESS=0``), so executed notebooks hold results, not bar refreshes, and with one
torch thread (see :func:`kernel_environment`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.exceptions import PapermillExecutionError

from .. import paths
from ..atomic import check_destination, file_lock
from ..codegraph import code_digest
from ..paths import environ as _environ
from .errors import LockBusy, NotebookFailed, ReportError, find_errors, first_line
from .myst import ENGINE, ExpressionError

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
    number = None
    with contextlib.suppress(Exception):  # the label is best effort; the error is what matters
        nb = nbformat.read(str(src), as_version=4)
        number = next((i for i, c in enumerate(nb.cells, 1) if c.source == source), None)
    where = f"cell {number}" if number else "a cell"
    return f"{where} (`{first_line(source)[:80]}`)"


INPUTS = ("notebooks/params/*", "results/*.csv", "results/*.yaml")  # files notebooks read


def inputs_digest() -> str:
    """SHA-256 of what notebooks read besides code: the data checksums, the parameters files
    and the recorded results (``results/timings.json``, which every full build rewrites, left
    out)."""
    h = hashlib.sha256()
    files = [paths.SUMS_FILE] + sorted(f for pattern in INPUTS for f in paths.ROOT.glob(pattern))
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(paths.ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def notebook_code(nb) -> str:
    """The code of a notebook's code cells, one after the other (what its imports are read from)."""
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def execution_key(src: Path, parameters: dict[str, Any], code: str | None = None) -> str:
    """What decides whether an executed notebook is still up to date: the source notebook's
    cells (type, source and tags, not outputs or ids), its parameters, the kernel's thread
    settings, :func:`inputs_digest` and ``code``: by default the digest of the charlm modules
    the notebook imports and of everything they import (:func:`charlm.codegraph.code_digest`),
    so an edit of a module re-executes only the notebooks that use it."""
    nb = nbformat.read(str(src), as_version=4)
    cells = [(c.cell_type, c.source, sorted(c.get("metadata", {}).get("tags", []))) for c in nb.cells]
    if code is None:
        code = code_digest(notebook_code(nb))
    blob = json.dumps({"cells": cells, "parameters": parameters, "env": kernel_environment(),
                       "code": code, "inputs": inputs_digest()}, sort_keys=True, default=str)
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


def run_notebook(src: Path, dst: Path, parameters: dict[str, Any], kernel: str = KERNEL_NAME,
                 key: str | None = None, kernels: dict | None = None,
                 hooks: tuple | None = None) -> float:
    """Execute ``src`` with papermill into ``dst``; returns the seconds it took.

    Written to a temporary sibling and renamed, so ``dst`` is never half-written. ``hooks``:
    nbclient's cell hooks (start, finish), called around each code cell (the build's progress).
    When a cell raises, the executed copy (with the traceback) is still kept at ``dst`` and a
    :class:`ReportError` names the notebook and the cell. The kernel's manager is kept in
    ``kernels[src]`` while it runs, so that another thread can stop it (:func:`stop_kernels`).
    The executed copy's metadata keeps ``key`` and the seconds it took (the estimate of the
    next build).
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".ipynb")
    os.close(fd)
    start = time.time()
    hooks = {"on_cell_execute": hooks[0], "on_cell_executed": hooks[1]} if hooks else {}
    # nbclient's own kind of manager (async): a blocking one would block its event loop while
    # it waits for output, so that a kernel stopped from another thread would never be noticed
    km = AsyncKernelManager(kernel_name=kernel)
    if kernels is not None:
        kernels[src] = km
    try:
        papermill.execute_notebook(
            str(src), tmp, parameters=parameters, kernel_name=kernel, progress_bar=False,
            log_output=False, engine_name=ENGINE, km=km, **hooks,
            # the kernel starts in the notebook's folder (nbclient's resources path), not
            # papermill's cwd=, which changes this process's working directory: two notebooks
            # side by side raced on it and left the build (and the tests) in the wrong folder
            resources={"metadata": {"path": str(src.parent)}},
        )
    except Exception as exc:
        with contextlib.suppress(FileNotFoundError):  # the executed copy is kept, as far as it got
            os.replace(tmp, dst)
        if isinstance(exc, PapermillExecutionError):
            why = (f"{_cell_label(src, exc.source)} raised {exc.ename}: {first_line(exc.evalue)} "
                   f"(the executed copy with the traceback is {dst})")
        elif isinstance(exc, ExpressionError):  # a value of the prose: the cell is markdown
            why = f"{exc} (the executed copy is {dst})"
        else:  # the kernel died, could not start, timed out, was stopped...
            why = f"the kernel failed ({type(exc).__name__}: {first_line(exc)})"
        raise NotebookFailed(f"{src.name}: {why}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        if kernels is not None:
            kernels.pop(src, None)
        with contextlib.suppress(Exception):  # papermill leaves a kernel it was given running
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
    seconds = time.time() - start
    nb = nbformat.read(tmp, as_version=4)
    nb.metadata["charlm"] = {"execution_key": key, "seconds": round(seconds, 1)}
    nbformat.write(nb, tmp)
    os.replace(tmp, dst)
    return seconds


def stop_kernels(kernels: dict) -> None:
    """Stop the kernels of the notebooks still executing (killed: this runs in another thread
    than theirs); nbclient sees each one die within a second, and its notebook fails."""
    for km in list(kernels.values()):
        with contextlib.suppress(Exception):
            process = km.provisioner.process  # started in a session of its own: kill the group,
            try:                              # the study pools it started with it
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                process.kill()


def executed_seconds(path: Path) -> float | None:
    """How long the executed copy at ``path`` took to execute, as it recorded (None: unknown)."""
    nb = read_executed(path)
    meta = nb.metadata.get("charlm", {}) if nb is not None else {}
    seconds = meta.get("seconds") if isinstance(meta, dict) else None
    return float(seconds) if isinstance(seconds, (int, float)) else None


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
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    return {"CHARLM_PROGRESS": "0", "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS", threads)}


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


def check_destinations(output: Path, executed_dir: Path, notebooks: Sequence[Path]) -> None:
    """Every file the build writes can be written, checked before any notebook runs by creating
    a file where each will go (see :func:`~charlm.atomic.check_destination`): the report (not a
    folder; its folder, which holds the lock, writable) and the executed notebooks."""
    check_destination(output, "the report")
    for nb in notebooks:
        check_destination(Path(executed_dir) / nb.name, "the executed notebook")


__all__ = ["INPUTS", "KERNEL_NAME", "NotebookRun", "check_destinations",
           "executed_key", "executed_seconds", "execution_key", "inputs_digest",
           "kernel_environment", "notebook_code", "private_kernel", "read_executed",
           "remove_stale_temporaries", "report_lock", "run_notebook", "select_notebooks",
           "stop_kernels"]
