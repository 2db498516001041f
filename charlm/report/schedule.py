"""Which notebooks a build executes, in what order, and side by side on the machine's cores.

:func:`run_notebooks` executes the notebooks that are out of date (:mod:`charlm.report.execute`
decides) with up to ``jobs`` of them at once (default: one per core, :func:`charlm.cores.count`),
each kernel on a core of its own (a token of :mod:`charlm.cores`, so a study's pool inside it
takes only cores that are free). A notebook may name notebooks that must finish before it
starts, in its metadata: ``{"charlm": {"after": ["06"]}}`` (the notebooks that read the best
model that 06 trains). Among the notebooks ready to start, the one with the longest chain of
expected work behind it starts first, so the budget run starts at once and the rest fill the
other cores.

Progress: a line when a notebook starts and when it ends, one per finished cell, and every
minute a line of what is running; each ends with the time left, estimated from how long each
notebook took when it was last executed here (the executed copy records it) or, failing that,
in the last recorded build (``results/timings.json``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import nbformat

from .. import cores
from ..paths import environ as _environ
from .errors import ReportError, first_line
from .execute import (NotebookRun, execution_key, executed_key, executed_seconds,
                      kernel_environment, private_kernel, read_executed,
                      remove_stale_temporaries, run_notebook, select_notebooks, stop_kernels)
from .params import split_params
from ..timings import load as load_timings

UNKNOWN = 60.0  # seconds assumed for a notebook never timed
STATUS_EVERY = 60.0  # seconds between two lines of what is running


def after(path: Path) -> list[str]:
    """The notebooks (``"06"`` or ``"06_best_model"``) that ``path`` says must finish first."""
    meta = nbformat.read(str(path), as_version=4).metadata.get("charlm", {})
    return list(meta.get("after", [])) if isinstance(meta, dict) else []


def expected_seconds(notebooks: Sequence[Path], executed_dir: Path) -> dict[Path, float | None]:
    """How long each notebook is expected to take: its executed copy's own record, else the
    last recorded build's, else None."""
    recorded = {}
    with contextlib.suppress(OSError, ValueError):  # no recorded build, or a damaged file
        for entry in load_timings().get("report", {}).values():
            recorded.update(entry.get("notebooks", {}) if isinstance(entry, dict) else {})
    seen = {nb: executed_seconds(executed_dir / nb.name) for nb in notebooks}
    return {nb: s if s is not None else recorded.get(nb.stem) for nb, s in seen.items()}


def critical_paths(todo: Sequence[Path], needs: dict[Path, set[Path]],
                   expect: dict[Path, float]) -> dict[Path, float]:
    """Each notebook's expected seconds plus the longest chain of notebooks waiting for it."""
    memo: dict[Path, float] = {}

    def length(nb: Path) -> float:
        if nb not in memo:
            waiting = [m for m in todo if nb in needs[m]]
            memo[nb] = expect[nb] + max((length(m) for m in waiting), default=0.0)
        return memo[nb]
    return {nb: length(nb) for nb in todo}


def makespan(running: Sequence[float], pending: Sequence[float], jobs: int) -> float:
    """Seconds until all is done if ``pending`` (longest first) go to whichever of ``jobs``
    slots frees first, the slots busy for ``running`` more seconds each."""
    slots = sorted(list(running) + [0.0] * max(0, jobs - len(running)))[:max(jobs, len(running))]
    for seconds in sorted(pending, reverse=True):
        slots.sort()
        slots[0] += seconds
    return max(slots, default=0.0)


@dataclass
class Progress:
    """The build's progress lines (see the module's docstring). ``live``: each running
    notebook's start time and the cell it is on."""

    say: Callable[[str], None] | None
    total: int
    expect: dict[Path, float]
    jobs: int
    timed: bool = True  # whether any notebook's time was recorded: else no estimate is given
    start: float = field(default_factory=time.time)
    done: int = 0
    live: dict[Path, list] = field(default_factory=dict)
    last_status: float = field(default_factory=time.time)

    def line(self, text: str) -> None:
        if self.say:
            elapsed = time.time() - self.start
            self.say(f"[{int(elapsed // 60):2d}:{int(elapsed % 60):02d}] {text}")
            if self.say is print:  # a pipe (make, a log file) would hold the lines back
                sys.stdout.flush()

    def left(self, pending: Sequence[Path]) -> str:
        if not self.timed:
            return "no earlier build recorded to estimate the time left"
        now = time.time()
        running = [max(0.0, self.expect[nb] - (now - started)) for nb, (started, _) in self.live.items()]
        seconds = makespan(running, [self.expect[nb] for nb in pending], self.jobs)
        return f"about {seconds / 60:.0f} min left" if seconds >= 90 else f"about {seconds:.0f} s left"

    def hooks(self, nb: Path, n_code: int) -> tuple[Callable, Callable]:
        """nbclient's cell hooks: keep the cell ``nb`` is on; a line when it is done."""
        count = {"done": 0, "at": 0.0}

        def start(cell, **_) -> None:
            count["at"] = time.time()
            self.live[nb][1] = f"cell {count['done'] + 1}/{n_code} `{first_line(cell.source)[:50]}`"

        def finish(cell, **_) -> None:
            count["done"] += 1
            self.line(f"    {nb.stem[:2]} {self.live[nb][1]} {time.time() - count['at']:.1f} s")
        return start, finish

    def status(self, pending: Sequence[Path]) -> None:
        if self.live and time.time() - self.last_status >= STATUS_EVERY:
            self.last_status = now = time.time()
            running = ", ".join(f"{nb.stem} ({cell or 'starting'}, {(now - started) / 60:.1f} min)"
                                for nb, (started, cell) in list(self.live.items()))
            self.line(f"running {running}; {self.done}/{self.total} done; {self.left(pending)}")


def _code_cells(path: Path, parameters: dict[str, Any]) -> int:
    n = sum(c.cell_type == "code" for c in nbformat.read(str(path), as_version=4).cells)
    return n + (1 if parameters else 0)  # papermill adds a cell of injected parameters


def run_notebooks(
    notebooks: Sequence[Path], executed_dir: Path, params: dict[str, Any],
    stop_on_error: bool = True, say=print, only: Sequence[str] = (), force: bool = False,
    jobs: int | None = None,
) -> list[NotebookRun]:
    """Execute the notebooks that need it, up to ``jobs`` at once, in the environment of
    :func:`~charlm.report.execute.kernel_environment`; returns one :class:`NotebookRun` per
    notebook, in order.

    A notebook is executed when its executed copy is missing, failed, or was made with another
    :func:`~charlm.report.execute.execution_key` (its cells, its parameters, the data or the
    code it uses changed), or with ``force``. With ``only``, exactly those notebooks are
    executed and the others' executed copies are used as they are (they must exist). A failure
    stops the build (the notebooks still running are stopped) with ``stop_on_error``; without
    it the notebooks that do not wait for the failed one go on.
    """
    executed_dir = Path(executed_dir)
    per_nb = split_params(params, notebooks)
    chosen = select_notebooks(notebooks, only) if only else None
    runs = {nb: NotebookRun(nb, executed_dir / nb.name) for nb in notebooks}
    remove_stale_temporaries(executed_dir, [nb.name for nb in notebooks])
    keys: dict[Path, str] = {}
    todo: list[Path] = []
    with _environ(kernel_environment()):  # the key holds the environment the kernels get
        for i, nb in enumerate(notebooks, 1):
            run = runs[nb]
            keys[nb] = execution_key(nb, per_nb[nb])
            if chosen is not None and nb not in chosen:
                if not run.executed.is_file():
                    raise ReportError(f"--only: {run.executed} does not exist yet; build the "
                                      f"whole report once first")
                run.reused = read_executed(run.executed) is not None
                if not run.reused and say:  # damaged: executed again, as if it were chosen
                    say(f"[{i}/{len(notebooks)}] {nb.name}: the executed copy is damaged; "
                        f"executing it again")
            elif chosen is None and not force and executed_key(run.executed) == keys[nb]:
                run.reused = True
            if not run.reused:
                todo.append(nb)
            elif say:
                say(f"[{i}/{len(notebooks)}] {nb.name}: "
                    + ("up to date" if chosen is None else "kept as it is"))
    if todo:
        _execute(todo, runs, keys, per_nb, notebooks, executed_dir, stop_on_error, say,
                 jobs or cores.count())
    return [runs[nb] for nb in notebooks]


def _execute(todo: list[Path], runs: dict[Path, NotebookRun], keys: dict[Path, str],
             per_nb: dict[Path, dict[str, Any]], notebooks: Sequence[Path], executed_dir: Path,
             stop_on_error: bool, say, jobs: int) -> None:
    by_name = {nb.stem: nb for nb in notebooks} | {nb.stem[:2]: nb for nb in notebooks}
    needs = {nb: {by_name[a] for a in after(nb) if a in by_name} & set(todo) for nb in todo}
    seen = expected_seconds(todo, executed_dir)
    known = [s for s in seen.values() if s is not None]
    fallback = sorted(known)[len(known) // 2] if known else UNKNOWN
    expect = {nb: s if s is not None else fallback for nb, s in seen.items()}
    priority = critical_paths(todo, needs, expect)
    progress = Progress(say, len(todo), expect, jobs, timed=bool(known))
    total = makespan([], list(expect.values()), jobs)
    progress.line(f"{len(todo)} notebook(s) to execute, {min(jobs, len(todo))} at a time; " +
                  (f"about {total / 60:.0f} min by the last time each took" if known
                   else "no earlier build recorded to estimate the time"))
    pending, failed = list(todo), set()
    kernels: dict[Path, Any] = {}

    def execute(nb: Path) -> float:
        with cores.core():  # this notebook's core (the kernel knows it holds one)
            progress.live[nb] = [time.time(), ""]
            return run_notebook(nb, runs[nb].executed, per_nb[nb], kernel, keys[nb],
                                kernels=kernels, hooks=progress.hooks(nb, _code_cells(nb, per_nb[nb])))

    env = kernel_environment() | {cores.HELD: "1"}
    with _environ(env), private_kernel() as kernel, cf.ThreadPoolExecutor(jobs) as pool:
        running: dict[cf.Future, Path] = {}
        try:
            while pending or running:
                ready = sorted((nb for nb in pending if not needs[nb] & (set(pending) | set(running.values()))
                                and not needs[nb] & failed), key=lambda nb: -priority[nb])
                for nb in ready[:max(0, jobs - len(running))]:
                    pending.remove(nb)
                    progress.line(f"{nb.stem} ..." + (f" (about {expect[nb] / 60:.1f} min)"
                                                      if seen[nb] is not None else ""))
                    running[pool.submit(execute, nb)] = nb
                blocked = [nb for nb in pending if needs[nb] & failed]
                for nb in blocked:  # what waits for a failed notebook cannot run
                    pending.remove(nb)
                    runs[nb].error = f"{nb.name}: not executed (it needs a notebook that failed)"
                if not running:
                    break
                done, _ = cf.wait(running, timeout=5.0, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    nb = running.pop(fut)
                    progress.live.pop(nb, None)
                    progress.done += 1
                    try:
                        runs[nb].seconds = fut.result()
                    except ReportError as exc:
                        runs[nb].error = str(exc)
                        failed.add(nb)
                        progress.line(f"{nb.stem} FAILED: {exc}")
                        if stop_on_error:
                            raise
                        continue
                    progress.line(f"{nb.stem} done in {runs[nb].seconds:.0f} s; "
                                  f"{progress.done}/{progress.total} done; {progress.left(pending)}")
                progress.status(pending)
        except BaseException:
            stop_kernels(kernels)  # the notebooks still running fail at once; keep no half work
            for fut in running:
                fut.cancel()
            raise


__all__ = ["after", "critical_paths", "expected_seconds", "makespan", "run_notebooks"]
