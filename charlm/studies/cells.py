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
recurrence (the hidden-to-hidden part) step by step; :func:`~charlm.studies.operators.operator_calls`
counts the operators behind the difference. So there are two fair comparisons: equal data
(:func:`cell_comparison_configs`, which compares the architectures) and equal time
(:func:`equal_time_configs`, which compares what each cell achieves on this software and
hardware in the same training time).

The equal-time runs are timed as they run: each gets the same ``budget_minutes``, which the
training loop counts on its own clock (training steps only) and stops at, so their times are
equal by construction and their iterations are what each cell reached.
:func:`compare_cells` trains (or finds in the cache) both comparisons in one study, then
:func:`measure_cells` (kept on disk, :mod:`charlm.memo`) gathers what the report shows of them
(:class:`CellComparison`), each comparison ranked with paired bootstrap gaps (:class:`Ranking`).
The same setting on Python source is :mod:`charlm.studies.python_corpus`.

Measured values (times, operator counts, BPC) are never written here: the report computes and
states them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import CELLS, TrainConfig
from ..corpora import TEST_FILE, TEST_LARGE_FILE, corpus
from ..errors import ConfigError
from ..evaluate import char_bits, paired_difference_interval
from ..model import CharRNN
from ..memo import memo
from ..runs import cached_run, run_key
from .operators import FUSED_KERNEL, operator_calls
from .runner import evaluate_row, run_study
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


def equal_time_configs(base: TrainConfig | None, minutes: float,
                       cells: Sequence[str] = CELLS) -> list[TrainConfig]:
    """:func:`cell_comparison_configs` trained for ``minutes`` of training time each
    (``budget_minutes``) instead of ``n_epochs`` iterations."""
    if not minutes > 0:
        raise ConfigError(f"the equal-time budget must be a positive number of minutes, got {minutes}")
    return [c.replace(budget_minutes=float(minutes)) for c in cell_comparison_configs(base, cells)]


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
    """What :func:`measure_cells` measured of the runs :func:`compare_cells` trained.

    ``summary`` has one row per distinct run, indexed by run key, with the columns of
    :data:`SUMMARY_COLUMNS` (``seconds``: the run's training time; ``ms per iteration``: that
    over its iterations); ``equal_data_ranking`` and ``equal_time_ranking`` rank the cells of
    each comparison on the large test file; ``operators`` holds each cell's operator calls per
    forward and backward pass (keyed by cell, from the equal-data configs). ``n_large``
    characters of the large test file, of ``n_large_total``, were scored; the small one has
    ``n_test``. The models are not kept here: :meth:`model` loads one from the run cache.
    """

    base: TrainConfig
    equal_data: tuple[TrainConfig, ...]
    equal_time: tuple[TrainConfig, ...]
    extra: tuple[TrainConfig, ...]
    summary: pd.DataFrame
    operators: Mapping[str, Mapping[str, int]]
    histories: Mapping[str, list[float]]
    equal_data_ranking: Ranking
    equal_time_ranking: Ranking
    n_test: int
    n_large: int
    n_large_total: int

    @property
    def minutes(self) -> float:
        """The training time each equal-time run was given, in minutes."""
        return self.equal_time[0].budget_minutes

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
        """The trained model of ``cfg``, from the run cache."""
        return cached_run(cfg).model

    @property
    def fused(self) -> dict[str, int]:
        """Calls of the fused recurrent kernel per cell (0 where PyTorch steps through time)."""
        return {cell: calls.get(FUSED_KERNEL, 0) for cell, calls in self.operators.items()}


SUMMARY_COLUMNS = ("cell", "hidden size", "parameters", "iterations", "characters read",
                   "minutes", "seconds", "ms per iteration", "final loss", "BPC (test)",
                   "BPC (test_large)", "status")


def _summary_row(cfg: TrainConfig, row: Mapping[str, Any], history: Sequence[float],
                 large: np.ndarray | None) -> dict[str, Any]:
    """One run as the report's tables show it (``seconds``: its training time)."""
    return {
        "cell": cfg.cell.upper(), "hidden size": cfg.hidden_size, "parameters": row["n_params"],
        "iterations": row["iterations"],
        "characters read": row["iterations"] * cfg.chunk_len * cfg.batch_size,
        "minutes": row["wall_time_s"] / 60, "seconds": row["wall_time_s"],
        "ms per iteration": 1000 * row["wall_time_s"] / max(1, row["iterations"]),
        "final loss": curve_stats(history, cfg.plot_every)["final"],
        "BPC (test)": row["bpc_test"],
        "BPC (test_large)": float(large.mean()) if large is not None else math.nan,
        "status": row["status"]}


def _ranking(configs: Sequence[TrainConfig], summary: pd.DataFrame,
             bits: Mapping[str, np.ndarray]) -> Ranking:
    """``configs`` (one per cell) ranked by BPC on the large test file, gaps to the best."""
    rows = summary.loc[[run_key(c) for c in configs]].set_index(pd.Index([c.cell for c in configs]))
    ranked = Ranking(rows, {c.cell: c for c in configs}, {})
    by_cell = {c.cell: bits[run_key(c)] for c in configs}
    gaps = {cell: paired_difference_interval(by_cell[cell], by_cell[ranked.best])
            for cell in ranked.order[1:]}
    return Ranking(rows, ranked.configs, gaps)


def compare_cells(base: TrainConfig, log: str | Path, minutes: float, workers: int | None = None,
                  test_large_chars: int = 0, extra: Sequence[TrainConfig] = (),
                  study: str = "bonus") -> CellComparison:
    """Train (or find in the cache) the cells at equal data and at equal time, and measure them.

    The equal-data configs come from :func:`cell_comparison_configs`, the equal-time ones from
    :func:`equal_time_configs` (``minutes`` of training time each). Every distinct run of both,
    and of ``extra`` (runs of the same study on other corpora), is trained by
    :func:`~charlm.studies.runner.run_study` into the experiment log ``log`` with ``workers``
    processes; then :func:`measure_cells` measures them (the first ``test_large_chars``
    characters of the large test file; 0: all of it).
    """
    equal_data = cell_comparison_configs(base)
    equal_time = equal_time_configs(base, minutes)
    configs = list(dict.fromkeys(equal_data + equal_time + list(extra)))  # each distinct run once
    run_study(configs, log, study=study, workers=workers, say=None)
    return measure_cells(tuple(equal_data), tuple(equal_time), tuple(extra), int(test_large_chars))


@memo
def measure_cells(equal_data: tuple[TrainConfig, ...], equal_time: tuple[TrainConfig, ...],
                  extra: tuple[TrainConfig, ...] = (), test_large_chars: int = 0) -> CellComparison:
    """What the report shows of the trained runs of a cell comparison, computed once: each
    run's summary row (from its checkpoint; BPC on the small test file, and for the two
    comparisons on the large one, character by character: its first ``test_large_chars``
    characters, 0: all), both rankings with paired bootstrap gaps, and the operators of one
    forward and backward pass of each cell (:func:`~charlm.studies.operators.operator_calls`).
    The runs must be in the run cache (any missing is trained here, one at a time)."""
    compared = list(dict.fromkeys(equal_data + equal_time))
    configs = list(dict.fromkeys(compared + list(extra)))
    ckpts = {run_key(c): cached_run(c) for c in configs}
    full_large = corpus(TEST_LARGE_FILE)
    large_text = full_large[:test_large_chars or None]
    bits = {run_key(c): char_bits(ckpts[run_key(c)].model, large_text) for c in compared}
    summary = pd.DataFrame(
        [_summary_row(c, evaluate_row(ckpts[run_key(c)]), ckpts[run_key(c)].history,
                      bits.get(run_key(c))) for c in configs],
        index=pd.Index([run_key(c) for c in configs], name="key"), columns=list(SUMMARY_COLUMNS))
    return CellComparison(
        base=equal_data[0], equal_data=tuple(equal_data), equal_time=tuple(equal_time),
        extra=tuple(extra), summary=summary,
        operators={c.cell: operator_calls(c) for c in equal_data},
        histories={run_key(c): list(ckpts[run_key(c)].history) for c in configs},
        equal_data_ranking=_ranking(equal_data, summary, bits),
        equal_time_ranking=_ranking(equal_time, summary, bits),
        n_test=len(corpus(TEST_FILE)), n_large=len(large_text), n_large_total=len(full_large))


__all__ = ["CellComparison", "Ranking", "SUMMARY_COLUMNS", "cell_comparison_configs",
           "compare_cells", "equal_time_configs", "hidden_for_params", "measure_cells",
           "n_params"]
