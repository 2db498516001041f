"""Part 4.3: one run per learning rate, the settings otherwise the same; their loss curves,
the statistics of each curve, and the comparison of the curves that end lowest and highest.

:func:`run_lr_study` trains what the experiment log lacks; :func:`lr_study` (memoized: 4.3
and Appendix C read one result) gathers the curves and their statistics. The verdicts on the
claims of the coursework and the reference write-up are small functions here, each with its
rule; the numbers the prose shows are in :mod:`charlm.studies.tuning_facts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..config import TrainConfig
from ..memo import memo
from ..runs import cached_run
from .runner import run_study
from .selection import log_rows
from .settings import parse_list
from .summary import PairedGap, curve_stats, paired_gap

OSCILLATION = 1.5  # a curve oscillates when it is this many times as jumpy as the others' median
REFERENCE_EPOCHS = 3000  # the iterations per run of the reference write-up's curves


def lr_configs(base: TrainConfig, lrs: str) -> tuple[TrainConfig, ...]:
    """``base`` at each learning rate of the comma-separated list ``lrs``."""
    return tuple(base.replace(lr=v) for v in parse_list(lrs, "lrs"))


def run_lr_study(base: TrainConfig, lrs: str, log: str | Path, workers: int = 0
                 ) -> tuple[TrainConfig, ...]:
    """Train, or find in the experiment log ``log``, one run of ``base`` per learning rate of
    ``lrs`` on ``workers`` processes (0: one per core); returns their configs."""
    configs = lr_configs(base, lrs)
    run_study(list(configs), log, study="plot_loss", workers=workers or None, say=None)
    return configs


@dataclass(frozen=True)
class LrStudy:
    """The curves of a learning-rate study (see :func:`lr_study`)."""

    # one per run, for :func:`~charlm.report.plots.plot_loss_curves`: label, history,
    # plot_every, diverged_at, and lr, status, n_epochs, bpc (on the small test file)
    curves: tuple[dict[str, Any], ...]
    # one per run: :func:`~charlm.studies.summary.curve_stats` with lr, status, n_epochs, bpc
    stats: tuple[dict[str, Any], ...]
    smooth_window: int

    @property
    def ok(self) -> list[dict[str, Any]]:
        """The statistics of the runs that finished normally."""
        return [s for s in self.stats if s["status"] == "ok" and math.isfinite(s["final"])]

    def history(self, lr: float) -> list[float]:
        return next(c["history"] for c in self.curves if c["lr"] == lr)

    def end(self, highest: bool) -> "End | None":
        """The two finished curves that end lowest (or highest), compared point by point."""
        ranked = sorted(self.ok, key=lambda s: s["final"], reverse=highest)
        if len(ranked) < 2:
            return None
        first, second = ranked[:2]
        return End(first, second, paired_gap(self.history(first["lr"]), self.history(second["lr"])))


@dataclass(frozen=True)
class End:
    """The curve that ends lowest (or highest) and the next, with their paired gap."""

    first: Mapping[str, Any]
    second: Mapping[str, Any]
    paired: PairedGap  # first minus second, over the last tenth


@memo
def lr_study(configs: tuple[TrainConfig, ...], smooth_window: int) -> LrStudy:
    """The loss curve of each run of ``configs`` (from the run cache; trained if missing), its
    outcome and BPC on the small test file (its experiment-log row), and its statistics with a
    moving average of ``smooth_window`` points."""
    rows = log_rows(configs)
    curves, stats = [], []
    for cfg, row in zip(configs, rows.itertuples()):
        history = list(cached_run(cfg).history)
        diverged = None if row.diverged_at is None or row.diverged_at != row.diverged_at \
            else int(row.diverged_at)
        about = dict(lr=cfg.lr, status=row.status, n_epochs=cfg.n_epochs, bpc=float(row.bpc_test))
        curves.append(dict(about, label=f"lr={cfg.lr:g}", history=history,
                           plot_every=cfg.plot_every, diverged_at=diverged))
        stats.append(dict(curve_stats(history, cfg.plot_every, smooth_window), **about))
    return LrStudy(tuple(curves), tuple(stats), smooth_window)


# ---------------------------------------------------------------- the claims, as verdicts


def learns_slowly(ok: Sequence[Mapping[str, Any]]) -> bool | None:
    """The coursework's "a too-small learning rate learns slowly": the smallest rate has the
    highest smoothed loss a quarter of the way in. None with fewer than two finished runs."""
    if len(ok) < 2:
        return None
    return max(ok, key=lambda s: s["early"]) is min(ok, key=lambda s: s["lr"])


def jumpiness_ratio(ok: Sequence[Mapping[str, Any]]) -> float:
    """How jumpy the largest rate's curve is against the others: its point-to-point standard
    deviation over the second half over the median of the others' (NaN with under two runs)."""
    if len(ok) < 2:
        return math.nan
    large = max(ok, key=lambda s: s["lr"])
    others = [s["roughness"] for s in ok if s is not large]
    return float(large["roughness"] / np.median(others))


def oscillates(ok: Sequence[Mapping[str, Any]], factor: float = OSCILLATION) -> bool | None:
    """The coursework's "a too-large learning rate makes the loss oscillate": the largest rate's
    curve is more than ``factor`` times as jumpy as the median of the others
    (:func:`jumpiness_ratio`). Every curve jumps from point to point, since each point
    averages a few random chunks, so a curve is compared with the others, which read the same
    chunks. A single climb of the smoothed curve is not oscillation. None with under two runs."""
    ratio = jumpiness_ratio(ok)
    return None if math.isnan(ratio) else bool(ratio > factor)


def comparable(stats: Sequence[Mapping[str, Any]], epochs: int = REFERENCE_EPOCHS) -> bool:
    """Whether every run trained as many iterations as the reference write-up's."""
    return bool(stats) and all(int(s["n_epochs"]) == epochs for s in stats)


def best_two(study: LrStudy, rates: tuple[float, float] = (0.005, 0.01)) -> bool | None:
    """The reference's "lr 0.005 and 0.01 did best": the two lowest final losses are those of
    ``rates``. None when the runs are not comparable or a rate is not in the grid."""
    ok = study.ok
    if not comparable(study.stats) or not {float(s["lr"]) for s in study.stats} >= set(rates):
        return None
    return {float(s["lr"]) for s in sorted(ok, key=lambda s: s["final"])[:2]} == set(rates)


def ended_highest(study: LrStudy, rate: float = 0.0001) -> bool | None:
    """The reference's "lr 0.0001 ended highest": ``rate`` has the highest final loss (a run
    that did not finish counts as highest), and the next is not tied with it by the paired
    rule (:class:`~charlm.studies.summary.PairedGap`). None when the runs are not comparable,
    the rate is not in the grid, or the two highest are tied."""
    if not comparable(study.stats) or rate not in {float(s["lr"]) for s in study.stats}:
        return None
    failed = [s for s in study.stats if s not in study.ok]
    if failed:
        return any(float(s["lr"]) == rate for s in failed) and len(failed) == 1
    end = study.end(highest=True)
    if end is None or end.paired.tie:
        return None
    return float(end.first["lr"]) == rate


def final_near(study: LrStudy, rate: float, target: float, within: float = 0.25) -> bool | None:
    """The reference's "lr ``rate`` ended at about ``target`` nats": the final loss is within
    ``within`` of it. None when the runs are not comparable or the rate is not in the grid."""
    run = next((s for s in study.stats if float(s["lr"]) == rate), None)
    if not comparable(study.stats) or run is None:
        return None
    return run["status"] == "ok" and abs(run["final"] - target) <= within


__all__ = ["OSCILLATION", "REFERENCE_EPOCHS", "End", "LrStudy", "best_two", "comparable",
           "ended_highest", "final_near", "jumpiness_ratio", "learns_slowly", "lr_configs",
           "lr_study", "oscillates", "run_lr_study"]
