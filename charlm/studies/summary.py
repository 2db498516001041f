"""Summaries of runs and studies: loss-curve statistics, the paired comparison of two curves,
the study table, the best run, and the effect of each varied parameter (4.2 and 4.3 use them
through :mod:`charlm.studies.tuning` and :mod:`charlm.studies.learning_rates`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

import pandas as pd

from ..errors import DataError
from ..runs import run_key


# ---------------------------------------------------------------- loss curves


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average (window clipped at the start), for readable noisy curves."""
    arr = np.asarray(values, dtype=float)
    if window <= 1 or len(arr) == 0:
        return arr
    csum = np.cumsum(np.insert(arr, 0, 0.0))
    idx = np.arange(1, len(arr) + 1)
    lo = np.maximum(0, idx - window)
    return (csum[idx] - csum[lo]) / (idx - lo)


def curve_stats(history: Sequence[float], plot_every: int, smooth_window: int = 10) -> dict[str, float]:
    """Summary of one loss curve (``history``: mean loss of every ``plot_every`` iterations).

    ``start`` is the first point; ``final`` the mean of the last tenth of the points (a single
    point is the loss of only ``plot_every`` random chunks, so it is noisy); ``min_smoothed``
    the lowest point of the moving average; ``rise`` the largest climb of the moving average
    above its lowest point so far, after the first quarter (a curve that keeps falling scores
    about 0, one that swings back up scores the height of the swing); ``roughness`` the standard
    deviation of point-to-point changes over the second half (larger = more jumpy); ``early``
    the moving average a quarter of the way in; ``rise_at`` the iteration where that climb
    peaks.
    """
    h = np.asarray(history, dtype=float)
    nan = math.nan
    if len(h) == 0:
        return dict(start=nan, final=nan, min_smoothed=nan, rise=nan, roughness=nan,
                    early=nan, points=0, tail_iterations=0, rise_at=nan)
    tail = max(1, len(h) // 10)
    s = smooth(h, smooth_window)
    half = h[len(h) // 2:]
    climb = (s - np.minimum.accumulate(s))[len(s) // 4:]
    return dict(
        start=float(h[0]),
        final=float(h[-tail:].mean()),
        min_smoothed=float(s.min()),
        rise=float(climb.max()) if len(climb) else nan,
        roughness=float(np.std(np.diff(half))) if len(half) > 2 else nan,
        early=float(s[min(len(s) - 1, len(s) // 4)]),
        points=len(h),
        tail_iterations=tail * plot_every,
        rise_at=(len(s) // 4 + int(np.argmax(climb)) + 1) * plot_every if len(climb) else nan,
    )


# Student's t: the two-sided 95% point for 1 to 30 degrees of freedom (beyond: the normal's)
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
       2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
       2.052, 2.048, 2.045, 2.042)


def t95(dof: int) -> float:
    """The two-sided 95% point of Student's t with ``dof`` degrees of freedom (NaN below 1)."""
    if dof < 1:
        return math.nan
    return T95[dof - 1] if dof <= len(T95) else 1.960


@dataclass(frozen=True)
class PairedGap:
    """Two loss curves of runs that read the same chunks, compared over their last tenth (see
    :func:`paired_gap`); losses in nats."""

    gap: float  # mean of (curve a - curve b) over the tail: a's final loss minus b's
    se: float  # its standard error, from the means of ``batches`` consecutive batches
    batches: int
    points: int  # points of the tail

    @property
    def dof(self) -> int:
        return self.batches - 1

    @property
    def t(self) -> float:
        """The 95% point the gap is measured against, in standard errors."""
        return t95(self.dof)

    @property
    def ratio(self) -> float:
        """The gap in standard errors (its size, whichever curve is higher); NaN without a
        standard error."""
        if math.isnan(self.se):
            return math.nan
        return abs(self.gap) / self.se if self.se > 0 else math.inf

    @property
    def tie(self) -> bool:
        """Whether the gap is within the 95% point: two curves the noise cannot tell apart (so
        too when there is no standard error to tell them apart with)."""
        return not self.ratio > self.t


def paired_gap(a: Sequence[float], b: Sequence[float], batches: int = 5) -> PairedGap:
    """Curve ``a`` minus curve ``b`` over the last tenth of their points (the points of the
    report's final loss, :func:`curve_stats`), with a standard error by batch means.

    Two runs with the same seed read the same chunks in the same order, so each point of their
    difference cancels the chunks' own difficulty, which both curves share. Neighbouring points
    still move together (the models change slowly), so the standard error is not that of
    independent points: the tail is cut into ``batches`` consecutive batches and the error
    is the standard deviation of the batch means over the square root of their number.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) != len(b):
        raise DataError(f"paired curves must have the same length, got {len(a)} and {len(b)}")
    tail = max(1, len(a) // 10)
    diff = (a - b)[len(a) - tail:]
    size = len(diff) // batches
    if size < 1 or batches < 2:
        return PairedGap(float(diff.mean()) if len(diff) else math.nan, math.nan, batches, len(diff))
    means = diff[len(diff) - size * batches:].reshape(batches, size).mean(axis=1)
    return PairedGap(float(diff.mean()), float(means.std(ddof=1) / math.sqrt(batches)), batches,
                     len(diff))


def final_losses(configs: Sequence[Any], histories: Mapping[str, Sequence[float]],
                 key: Any = None) -> list[float]:
    """The report's final loss of each run (:func:`curve_stats`: the mean of the last tenth of
    its loss history), from ``histories`` by ``key(config)`` (default: the run key); NaN for a
    run without a history."""
    key = key or run_key
    return [curve_stats(histories.get(key(c), []), c.plot_every)["final"] for c in configs]


def zoom_ylim(stats: Iterable[Mapping[str, float]], margin: float = 0.1) -> tuple[float, float] | None:
    """A y-range that shows the second half of the curves (from the lowest smoothed point to a
    little above the highest 'early' value), for a zoomed view when curves overlap."""
    lows = [s["min_smoothed"] for s in stats if math.isfinite(s["min_smoothed"])]
    highs = [s["early"] for s in stats if math.isfinite(s["early"])]
    if not lows or not highs:
        return None
    lo, hi = min(lows) - margin, max(highs) + margin
    return (lo, hi) if hi > lo else None


def valid_bpc_at(curve: Sequence[Sequence[float]], minutes: float) -> float | None:
    """The validation BPC of the last evaluation at or before ``minutes`` of training, from a
    ``valid_curve`` of ``(iteration, training seconds, BPC)``; None when there was none yet."""
    before = [v for _, s, v in curve if s / 60 <= minutes]
    return before[-1] if before else None


# ---------------------------------------------------------------- studies


def varied_label(row: Mapping[str, Any], base: Mapping[str, Any], params: Sequence[str]) -> str:
    """Which of ``params`` differ from ``base`` in ``row``: ``'lr = 0.01'`` or ``'base'``."""
    diffs = [f"{p} = {format_value(row[p])}" for p in params if not _same(row[p], base[p])]
    return ", ".join(diffs) if diffs else "base"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return a == b


def study_table(df, base: Mapping[str, Any], params: Sequence[str],
                final: Sequence[float] | None = None):
    """The report's table of a study: setting, hyperparameters, outcome, losses, BPC and minutes.

    ``final``: the report's final loss of each run (:func:`final_losses`); without it the table
    has no final-loss column (the log's ``final_loss`` is only the last point of the history).
    The validation BPC column is there when some run of the study had a validation split.
    """
    out = pd.DataFrame({
        "varied": [varied_label(r, base, params) for _, r in df.iterrows()],
        "cell": df["cell"], "hidden_size": df["hidden_size"], "n_layers": df["n_layers"],
        "lr": [f"{v:g}" for v in df["lr"]], "iterations": df["iterations"],
        "parameters": df["n_params"], "status": df["status"],
        "min loss": df["min_loss"], "final loss": list(final) if final is not None else math.nan,
        "BPC (valid)": df["bpc_valid"], "BPC (test)": df["bpc_test"],
        "minutes": df["wall_time_s"] / 60,
    })
    drop = ([] if df["bpc_valid"].notna().any() else ["BPC (valid)"]) + ([] if final is not None
                                                                          else ["final loss"])
    return out.drop(columns=drop)


def selection_metric(df) -> str:
    """The column a study chooses on: ``bpc_valid`` when every finished run has one (the runs
    held out a validation split), else ``bpc_test`` (the coursework's method)."""
    ok = df[df["status"] == "ok"]
    return "bpc_valid" if len(ok) and ok["bpc_valid"].notna().all() else "bpc_test"


def best_row(df, metric: str = "bpc_test"):
    """The finished run with the lowest ``metric`` (a BPC column; None if there is none)."""
    ok = df[(df["status"] == "ok") & df[metric].notna()]
    return None if ok.empty else ok.loc[ok[metric].idxmin()]


def chosen_config(df, configs: Sequence[Any], metric: str = "bpc_test"):
    """The config of :func:`best_row` (``df``: one row per config, in order); None if no run
    finished."""
    best = best_row(df.reset_index(drop=True), metric)
    return None if best is None else configs[int(best.name)]


def varied_params(configs: Sequence[Any], base: Any) -> list[str]:
    """The fields of ``base`` (a TrainConfig) that some of ``configs`` change, in field order."""
    names = list(base.to_dict())
    return [n for n in names if any(getattr(c, n) != getattr(base, n) for c in configs)]


def param_effects(df, base: Mapping[str, Any], params: Sequence[str], metric: str = "bpc_test"
                  ) -> dict[str, list[tuple[Any, float, float]]]:
    """For each parameter: (value, BPC, training minutes) of the finished runs where only it
    differs from ``base`` (the base run included), sorted by value. BPC is column ``metric``."""
    out = {}
    for name in params:
        rows = []
        for _, r in df.iterrows():
            if all(_same(r[p], base[p]) for p in params if p != name) and r["status"] == "ok":
                rows.append((r[name], float(r[metric]), float(r["wall_time_s"]) / 60))
        out[name] = sorted(rows, key=lambda p: float(p[0]))
    return out


def format_value(v: Any) -> str:
    """A hyperparameter's value as the report writes it: ``0.005``, ``128``, ``'lstm'``."""
    return f"{v:g}" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else str(v)




__all__ = ["best_row", "chosen_config", "curve_stats", "final_losses", "format_value", "param_effects", "selection_metric", "smooth",
           "study_table", "T95", "PairedGap", "paired_gap", "t95", "valid_bpc_at", "varied_label", "varied_params", "zoom_ylim"]
