"""LSTM, GRU and plain RNN compared at equal parameter count and at equal training time.

:func:`hidden_for_params` finds the hidden size that gives a GRU or a plain RNN about the
parameter count of a given LSTM; :func:`cell_comparison_configs` makes one config per cell with
that size and otherwise identical settings, in particular the same ``n_epochs`` (each iteration
is one batch of random chunks, so every cell sees the same characters). At equal parameter count
the cells also do about the same arithmetic per character (a layer does about one multiply-add
per weight per character; the embedding and decoder are the same for all three), so equal
``n_epochs`` would be about equal time *if the kernels were equally good*. On the CPU they need
not be: PyTorch can run an LSTM layer as one fused oneDNN kernel, while for the GRU and the RNN
it computes the input projection of all time steps in one matrix product and only the
recurrence (the hidden-to-hidden part) step by step. :func:`iteration_times` measures the
difference and :func:`~charlm.studies.operators.operator_calls` counts the operators behind it.
So there are two fair comparisons: equal data (:func:`cell_comparison_configs`, which compares the architectures) and
equal time (:func:`equal_time_configs`, which compares what each cell achieves on this software
and hardware in the LSTM's time).

:func:`iteration_times` measures the time per iteration once per config and machine and keeps
it under ``runs/timings/``, so the equal-time runs keep their iteration counts, and so their
cache keys, from one report build to the next. :func:`compare_cells` trains (or finds in the
cache) both comparisons in one study and gathers what the report shows of them
(:class:`CellComparison`); :meth:`CellComparison.ranking` orders the cells with paired bootstrap
gaps. The same setting on Python source is :mod:`charlm.studies.python_corpus`.

Measured values (times, operator counts, BPC) are never written here: the report computes and
states them.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .. import paths
from ..atomic import atomic_write_text
from ..config import CELLS, TrainConfig
from ..corpora import TEST_FILE, TEST_LARGE_FILE, corpus
from ..errors import ConfigError
from ..evaluate import char_bits, paired_difference_interval
from ..machine import cpu_model
from ..model import CharRNN
from ..runs import cached_run, run_key, torch_threads
from ..train import train
from .operators import FUSED_KERNEL, operator_calls
from .runner import load_histories, run_study
from .summary import curve_stats

# ---------------------------------------------------------------------------------------------
# LSTM vs GRU vs RNN at equal parameter count


def n_params(cell: str, hidden_size: int, n_layers: int) -> int:
    """Trainable parameters of ``CharRNN(hidden_size, n_layers, cell)``."""
    return CharRNN(hidden_size, n_layers, cell).n_params()


def hidden_for_params(cell: str, target_params: int, n_layers: int) -> int:
    """The hidden size whose ``cell`` model has the parameter count closest to ``target_params``.

    Binary search on :meth:`CharRNN.n_params` (which grows strictly with the hidden size) for the
    smallest size reaching the target, then whichever of it and the size below is closer (the
    smaller on a tie).
    """
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if target_params < 1 or n_layers < 1:
        raise ConfigError("target_params and n_layers must be positive")
    lo, hi = 1, 2
    while n_params(cell, hi, n_layers) < target_params:
        lo, hi = hi, hi * 2
    while lo < hi:  # invariant: n_params(hi) >= target (or hi is the upper start)
        mid = (lo + hi) // 2
        if n_params(cell, mid, n_layers) >= target_params:
            hi = mid
        else:
            lo = mid + 1
    if hi > 1 and (target_params - n_params(cell, hi - 1, n_layers)
                   <= n_params(cell, hi, n_layers) - target_params):
        return hi - 1
    return hi


def cell_comparison_configs(base: TrainConfig | None = None,
                            cells: Sequence[str] = CELLS) -> list[TrainConfig]:
    """One config per cell at the parameter count of ``base`` (default: the coursework's LSTM).

    The hidden size of each cell comes from :func:`hidden_for_params`; everything else (layers,
    ``n_epochs``, learning rate, chunk length, batch, seed...) is ``base``'s, so the runs differ
    only in the cell and its width. Returns the configs in the order of ``cells``.
    """
    base = base or TrainConfig()
    target = n_params(base.cell, base.hidden_size, base.n_layers)
    return [base.replace(cell=cell, hidden_size=hidden_for_params(cell, target, base.n_layers))
            for cell in cells]


def time_per_iteration(cfg: TrainConfig, n: int = 20, threads: int = 1) -> float:
    """Seconds per training iteration of ``cfg`` on this machine.

    Trains ``n`` iterations (on the training corpus of ``cfg``) with ``threads`` torch threads,
    as a study runs each run with one, and returns the loop's wall time over ``n``.
    """
    with torch_threads(threads):
        probe = cfg.replace(n_epochs=n, print_every=10**9, plot_every=min(cfg.plot_every, n))
        result = train(probe, data=corpus(cfg.corpus), verbose=False, progress=False)
    return result.wall_time / max(1, result.iterations)


def equal_time_configs(base: TrainConfig | None = None, cells: Sequence[str] = CELLS,
                       seconds_per_iteration: dict[str, float] | None = None,
                       n: int = 20) -> list[TrainConfig]:
    """:func:`cell_comparison_configs` with ``n_epochs`` scaled to equal training time.

    The first cell keeps ``base.n_epochs``; every other cell gets the iterations that take the
    same time by ``seconds_per_iteration`` (per cell; measured with :func:`time_per_iteration`
    when not given), rounded to two significant digits and to a multiple of ``plot_every``.
    Measured times depend on the machine, so print the resulting ``n_epochs`` and pin them
    (e.g. as notebook parameters) when the runs must be found in the cache again.
    """
    cfgs = cell_comparison_configs(base, cells)
    if seconds_per_iteration is None:
        seconds_per_iteration = {c.cell: time_per_iteration(c, n) for c in cfgs}
    budget = cfgs[0].n_epochs * seconds_per_iteration[cfgs[0].cell]
    out = [cfgs[0]]
    for cfg in cfgs[1:]:
        iters = float(f"{budget / seconds_per_iteration[cfg.cell]:.2g}")
        iters = max(cfg.plot_every, round(iters / cfg.plot_every) * cfg.plot_every)
        out.append(cfg.replace(n_epochs=iters))
    return out


TIMINGS_DIR = "timings"  # under runs/: measured seconds per iteration, one JSON file per config


def timing_path(cfg: TrainConfig, n: int = 20, threads: int = 1) -> Path:
    """Where :func:`iteration_times` keeps the measurement of ``cfg`` (under ``runs/timings``)."""
    return paths.runs_dir() / TIMINGS_DIR / f"{run_key(cfg)}_n{n}_t{threads}.json"


def _machine() -> dict[str, str]:
    """What a timing depends on besides the config: torch, the CPU and its core count."""
    return {"torch_version": str(torch.__version__), "cpu": cpu_model(),
            "cpu_count": str(os.cpu_count())}


def iteration_times(configs: Sequence[TrainConfig], n: int = 20, threads: int = 1,
                    refresh: bool = False) -> dict[str, float]:
    """Seconds per training iteration of each config (keyed by its cell), measured once.

    Each config is timed with :func:`time_per_iteration` the first time and the result kept in
    ``runs/timings/<run key>_n<n>_t<threads>.json`` with the torch version and the CPU it was
    measured on; later calls on the same software and CPU read it back (``refresh=True``
    measures again). Timings vary from one measurement to the next, and the iteration counts
    of :func:`equal_time_configs` come from them: without this, rebuilding the report after a
    prose edit could give a cell a slightly different iteration count, a new run key, and a
    retrained run. The cells of ``configs`` must differ.
    """
    cells = [c.cell for c in configs]
    if len(set(cells)) != len(cells):
        raise ConfigError(f"iteration_times needs one config per cell, got cells {cells}")
    machine = _machine()
    out = {}
    for cfg in configs:
        path = timing_path(cfg, n, threads)
        record = None
        if path.is_file() and not refresh:
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                record = None  # a damaged file is measured again
            if not isinstance(record, dict) or any(record.get(k) != v for k, v in machine.items()):
                record = None
        if record is None or not isinstance(record.get("seconds_per_iteration"), (int, float)):
            record = {"seconds_per_iteration": time_per_iteration(cfg, n, threads),
                      "n": n, "threads": threads, "cell": cfg.cell,
                      "hidden_size": cfg.hidden_size, **machine}
            atomic_write_text(path, json.dumps(record, indent=1) + "\n")
        out[cfg.cell] = float(record["seconds_per_iteration"])
    return out


# ---------------------------------------------------------------------------------------------
# The comparison as the report shows it


@dataclass(frozen=True, eq=False)
class Ranking:
    """Some runs of a comparison, ranked by BPC on the large test file.

    ``rows``: their rows of :attr:`CellComparison.summary`, indexed by cell (``"lstm"``...) in
    the order of the configs; ``configs``: the config of each cell; ``gaps``: for every cell but
    the best, its BPC on the large test file minus the best's, with the 95% paired block
    bootstrap interval (:func:`charlm.evaluate.paired_difference_interval`): ``(gap, low, high)``.
    """

    rows: pd.DataFrame
    configs: Mapping[str, TrainConfig]
    gaps: Mapping[str, tuple[float, float, float]]

    @property
    def order(self) -> list[str]:
        """Cells, best first by BPC on the large test file (a tie keeps the config order)."""
        return sorted(self.rows.index, key=lambda cell: self.rows.loc[cell, "BPC (test_large)"])

    @property
    def small_order(self) -> list[str]:
        """Cells, best first by BPC on the small test file."""
        return sorted(self.rows.index, key=lambda cell: self.rows.loc[cell, "BPC (test)"])

    @property
    def best(self) -> str:
        """The cell with the lowest BPC on the large test file."""
        return self.order[0]


@dataclass(frozen=True, eq=False)
class CellComparison:
    """What :func:`compare_cells` trained and measured.

    ``summary`` has one row per distinct run, indexed by run key, with the columns of
    :data:`SUMMARY_COLUMNS`; ``seconds`` is the timed seconds per iteration of each cell and
    ``operators`` its operator calls per forward and backward pass (both keyed by cell, from the
    equal-data configs); ``large_bits`` the per-character bits on the large test file of every
    run of the two comparisons (keyed by run key; not of ``extra``). ``n_large`` characters of
    the large test file, of ``n_large_total``, were scored; the small one has ``n_test``.
    """

    base: TrainConfig
    equal_data: tuple[TrainConfig, ...]
    equal_time: tuple[TrainConfig, ...]
    extra: tuple[TrainConfig, ...]
    summary: pd.DataFrame
    seconds: Mapping[str, float]
    operators: Mapping[str, Mapping[str, int]]
    timing_iterations: int
    histories: Mapping[str, list[float]]
    models: Mapping[str, CharRNN]
    large_bits: Mapping[str, np.ndarray]
    large_text: torch.Tensor | None
    n_test: int
    n_large: int
    n_large_total: int

    def row(self, cfg: TrainConfig) -> dict[str, Any]:
        """The summary row of ``cfg``."""
        return self.summary.loc[run_key(cfg)].to_dict()

    def table(self, configs: Sequence[TrainConfig]) -> pd.DataFrame:
        """The summary rows of ``configs``, in their order."""
        return self.summary.loc[[run_key(c) for c in configs]].reset_index(drop=True)

    def history(self, cfg: TrainConfig) -> list[float]:
        """The loss history of ``cfg`` (empty when it is not cached)."""
        return list(self.histories.get(run_key(cfg), []))

    def model(self, cfg: TrainConfig) -> CharRNN:
        """The trained model of ``cfg``."""
        return self.models[run_key(cfg)]

    def ranking(self, configs: Sequence[TrainConfig]) -> Ranking:
        """``configs`` (one per cell) ranked by BPC on the large test file, gaps to the best."""
        rows = self.table(configs).set_index(pd.Index([c.cell for c in configs]))
        ranking = Ranking(rows, {c.cell: c for c in configs}, {})
        by_cell = {c.cell: self.large_bits[run_key(c)] for c in configs}
        best = ranking.best
        gaps = {cell: paired_difference_interval(by_cell[cell], by_cell[best])
                for cell in ranking.order[1:]}
        return Ranking(rows, ranking.configs, gaps)

    @property
    def fused(self) -> dict[str, int]:
        """Calls of the fused recurrent kernel per cell (0 where PyTorch steps through time)."""
        return {cell: calls.get(FUSED_KERNEL, 0) for cell, calls in self.operators.items()}


SUMMARY_COLUMNS = ("cell", "hidden size", "parameters", "iterations", "characters read",
                   "minutes", "seconds", "ms per iteration", "final loss", "BPC (test)",
                   "BPC (test_large)", "status")


def _summary_row(cfg: TrainConfig, row: Mapping[str, Any], history: Sequence[float],
                 large: np.ndarray | None) -> dict[str, Any]:
    """One run as the report's tables show it (``ms per iteration``: in the study)."""
    return {
        "cell": cfg.cell.upper(), "hidden size": cfg.hidden_size, "parameters": row["n_params"],
        "iterations": row["iterations"], "characters read": row["iterations"] * cfg.chunk_len,
        "minutes": row["wall_time_s"] / 60, "seconds": row["wall_time_s"],
        "ms per iteration": 1000 * row["wall_time_s"] / max(1, row["iterations"]),
        "final loss": curve_stats(history, cfg.plot_every)["final"],
        "BPC (test)": row["bpc_test"],
        "BPC (test_large)": float(large.mean()) if large is not None else math.nan,
        "status": row["status"]}


def compare_cells(base: TrainConfig, log: str | Path, timing_iterations: int = 20,
                  workers: int | None = None, test_large_chars: int = 0,
                  extra: Sequence[TrainConfig] = (), study: str = "bonus") -> CellComparison:
    """Train (or find in the cache) the cells at equal data and at equal time, and measure them.

    The equal-data configs come from :func:`cell_comparison_configs`; each is timed with
    :func:`iteration_times` (``timing_iterations`` iterations, one thread, kept in
    ``runs/timings/``), which sets the equal-time configs (:func:`equal_time_configs`). Every
    distinct run of both, and of ``extra`` (runs of the same study on other corpora), is trained
    by :func:`~charlm.studies.runner.run_study` into the experiment log ``log`` with ``workers``
    processes, then loaded from the cache. The runs of the two comparisons are scored character
    by character on the large test file (its first ``test_large_chars`` characters; 0: all of
    it). Last, the operators of one forward and backward pass of each cell are counted.
    """
    equal_data = cell_comparison_configs(base)
    seconds = iteration_times(equal_data, n=timing_iterations)
    equal_time = equal_time_configs(base, seconds_per_iteration=seconds)
    compared = list(dict.fromkeys(equal_data + equal_time))
    configs = list(dict.fromkeys(compared + list(extra)))  # each distinct run once
    df = run_study(configs, log, study=study, workers=workers, say=None)
    rows = {run_key(c): row for c, row in zip(configs, df.to_dict("records"))}
    histories = load_histories(configs)
    models = {run_key(c): cached_run(c).model for c in configs}
    full_large = corpus(TEST_LARGE_FILE)
    large_text = full_large[:test_large_chars or None]
    large_bits = {run_key(c): char_bits(models[run_key(c)], large_text) for c in compared}
    summary = pd.DataFrame(
        [_summary_row(c, rows[run_key(c)], histories.get(run_key(c), []), large_bits.get(run_key(c)))
         for c in configs], index=pd.Index([run_key(c) for c in configs], name="key"),
        columns=list(SUMMARY_COLUMNS))
    operators = {c.cell: operator_calls(c) for c in equal_data}
    return CellComparison(
        base=base, equal_data=tuple(equal_data), equal_time=tuple(equal_time), extra=tuple(extra),
        summary=summary, seconds=seconds, operators=operators,
        timing_iterations=timing_iterations, histories=histories, models=models,
        large_bits=large_bits, large_text=large_text, n_test=len(corpus(TEST_FILE)),
        n_large=len(large_text), n_large_total=len(full_large))


__all__ = ["CellComparison", "Ranking", "SUMMARY_COLUMNS", "cell_comparison_configs",
           "compare_cells", "equal_time_configs", "hidden_for_params", "iteration_times",
           "n_params", "time_per_iteration", "timing_path"]
