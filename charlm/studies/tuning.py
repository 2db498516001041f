"""Part 4.2: one hyperparameter at a time around a base setting, chosen on validation.

- :func:`run_tuning` trains what the experiment log lacks: the study's runs (one per value of
  the settings file) and the seed runs of the base and of the chosen setting;
- :func:`tuning_results` (memoized, so that 4.2 and Appendix C read one result) scores every
  finished run on the validation split and on the two test files with block-bootstrap
  intervals, and gathers the choice, the run-to-run variation (the seed runs, and 4.1's model
  as a near-replicate of the base) and each parameter's effect against it.

The numbers and verdicts the prose shows are in :mod:`charlm.studies.tuning_facts`.

The rule for a gap between two runs: it is an **order** when it is larger than the 95% point
of the difference of two runs of one setting (Student's t on the pooled standard deviation of
the runs of one setting, :class:`RunVariation`), else a **tie**.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import TrainConfig
from ..corpora import TEST_LARGE_FILE
from ..memo import memo
from ..runs import run_key
from .runner import load_histories, run_study
from .selection import SelectionAnalysis, analyse_selection, log_rows, run_bits, seed_configs
from .settings import load_settings
from .summary import (chosen_config, final_losses, format_value, param_effects, selection_metric,
                      t95, varied_label, varied_params)

ORDER, TIE, UNMEASURED = "a real difference", "a tie", "not measured"  # the verdicts on a gap
REPLICATE = "4.1's model"  # how the seed table names the near-replicate of the base


@dataclass(frozen=True)
class TuningPlan:
    """The runs of a 4.2 study: the base, one config per run, and the seeds per repeated setting."""

    base: TrainConfig
    configs: tuple[TrainConfig, ...]
    n_seeds: int


def run_tuning(base: TrainConfig, settings: str | Path, n_seeds: int, log: str | Path,
               workers: int = 0) -> TuningPlan:
    """Train, or find in the experiment log ``log``, the study's runs (one per value of the
    settings file ``settings`` around ``base``), then the seed runs of the base and of the
    setting chosen (:func:`~charlm.studies.selection.seed_configs`), on ``workers`` processes
    (0: one per core)."""
    configs = load_settings(str(settings), base)
    df = run_study(configs, log, study="custom_train", workers=workers or None, say=None)
    chosen = chosen_config(df, configs, selection_metric(df))
    run_study(seed_configs(base, chosen, n_seeds), log, study="custom_train seeds",
              workers=workers or None, say=None)
    return TuningPlan(base, tuple(configs), n_seeds)


# ---------------------------------------------------------------- run-to-run variation


@dataclass(frozen=True)
class RunVariation:
    """How far runs of one setting land apart in BPC on one text, pooled over groups of runs."""

    groups: tuple[tuple[str, tuple[float, ...]], ...]  # (setting, the BPC of each of its runs)
    sd: float  # pooled sample standard deviation of one run's BPC (NaN: no group of two)
    dof: int  # its degrees of freedom: runs minus groups

    @property
    def t(self) -> float:
        """The two-sided 95% point of Student's t with :attr:`dof` degrees of freedom."""
        return t95(self.dof)

    def limit(self, n_a: int = 1, n_b: int = 1) -> float:
        """The 95% point of the gap between the mean BPC of ``n_a`` runs of one setting and of
        ``n_b`` runs of another, were the two settings equal: a larger gap is a real difference."""
        return self.t * self.sd * math.sqrt(1 / n_a + 1 / n_b)


def run_variation(groups: Sequence[tuple[str, Sequence[float]]]) -> RunVariation:
    """The pooled standard deviation of the values of ``groups`` (each group: the runs of one
    setting; a group of one run adds nothing)."""
    kept = tuple((name, tuple(float(v) for v in vals)) for name, vals in groups)
    many = [np.asarray(v) for _, v in kept if len(v) > 1]
    dof = sum(len(v) - 1 for v in many)
    squares = sum(float(np.sum((v - v.mean()) ** 2)) for v in many)
    return RunVariation(kept, math.sqrt(squares / dof) if dof else math.nan, dof)


def gap_verdict(gap: float, limit: float) -> str:
    """:data:`ORDER` when ``gap`` is larger than ``limit``, :data:`TIE` when not, and
    :data:`UNMEASURED` when either is unknown (NaN)."""
    if math.isnan(gap) or math.isnan(limit):
        return UNMEASURED
    return ORDER if gap > limit else TIE


# ---------------------------------------------------------------- each parameter's effect


def trend(values: Sequence[Any], bpcs: Sequence[float]) -> str:
    """How BPC moves with a parameter's value: ``"falls as it grows"``, ``"rises as it
    grows"``, or ``"lowest at V"``."""
    diffs = np.diff(np.asarray(bpcs, dtype=float))
    if len(diffs) and np.all(diffs < 0):
        return "falls as it grows"
    if len(diffs) and np.all(diffs > 0):
        return "rises as it grows"
    return f"lowest at {format_value(values[int(np.argmin(bpcs))])}"


@dataclass(frozen=True)
class Effect:
    """One varied parameter: its values, the best, and the gap that makes it the best."""

    param: str
    values: tuple[Any, ...]  # the values of its finished runs, sorted
    base_value: Any
    best_value: Any  # by the study's metric
    trend: str  # :func:`trend`
    against: Any  # the value the gap is measured to: the base's, or the next best if the base is best
    gap: float  # BPC (the study's metric) of ``against`` minus that of the best
    gap_large: float  # the same two runs on the large test file
    verdict: str  # :func:`gap_verdict` of ``gap_large`` against the run-to-run limit

    @property
    def base_is_best(self) -> bool:
        return self.best_value == self.base_value


def effects(runs: pd.DataFrame, base: TrainConfig, varied: Sequence[str], metric: str,
            large: Mapping[str, float], limit: float) -> tuple[Effect, ...]:
    """Each varied parameter's :class:`Effect`; parameters with fewer than two finished runs,
    or without a finished base run, are left out. ``large`` maps a run's label
    (:func:`~charlm.studies.summary.varied_label`) to its BPC on the large test file, and
    ``limit`` is the largest gap between two single runs that run-to-run variation explains."""
    base_map = base.to_dict()
    per = param_effects(runs, base_map, varied, metric)
    out = []
    for p in varied:
        rows = per[p]
        bpc = {v: b for v, b, _ in rows}
        if len(rows) < 2 or getattr(base, p) not in bpc:
            continue
        ranked = sorted(rows, key=lambda e: e[1])
        best, base_v = ranked[0][0], getattr(base, p)
        against = ranked[1][0] if best == base_v else base_v

        def on_large(v: Any) -> float:
            return large.get(varied_label(base_map | {p: v}, base_map, varied), math.nan)

        gap_large = on_large(against) - on_large(best)
        out.append(Effect(p, tuple(bpc), base_v, best, trend(list(bpc), list(bpc.values())),
                          against, float(bpc[against] - bpc[best]), float(gap_large),
                          gap_verdict(gap_large, limit)))
    return tuple(out)


# ---------------------------------------------------------------- the results


@dataclass(frozen=True)
class TuningResults:
    """Everything 4.2 and Appendix C say of a study (see :func:`tuning_results`)."""

    plan: TuningPlan
    varied: tuple[str, ...]
    metric: str  # the BPC column the study chooses on (bpc_valid, or bpc_test without a split)
    runs: pd.DataFrame  # the study's log rows, one per config
    final: tuple[float, ...]  # each run's final loss as the report defines it
    chosen: TrainConfig | None  # the run with the lowest ``metric`` (None: no run finished)
    selection: SelectionAnalysis  # every finished run on the three texts
    # one row per finished run of a setting trained with several seeds, and 4.1's model beside
    # the base: setting, run, seeds (of its setting), BPC (valid), BPC (large test)
    seeds: pd.DataFrame
    variation: RunVariation  # of the runs of ``seeds`` on the large test file
    effects: tuple[Effect, ...]

    @property
    def base(self) -> TrainConfig:
        return self.plan.base

    @property
    def configs(self) -> tuple[TrainConfig, ...]:
        return self.plan.configs

    def label(self, cfg: TrainConfig) -> str:
        """A config's name in the tables: ``"base"``, ``"hidden_size = 256"``."""
        return varied_label(cfg.to_dict(), self.base.to_dict(), self.varied)


def replicate_config(base: TrainConfig) -> TrainConfig:
    """4.1's model: the base's settings trained on the whole training file, without the
    validation split (for the coursework's base, the run of
    :func:`~charlm.studies.models.coursework_config`)."""
    return base.replace(valid_frac=0.0, eval_every=0)


def repeated_runs(base: TrainConfig, chosen: TrainConfig | None, n_seeds: int
                  ) -> list[tuple[TrainConfig, list[TrainConfig]]]:
    """The settings trained with several seeds and their runs: the study's own run and those of
    :func:`~charlm.studies.selection.seed_configs` (chosen setting first, as there)."""
    if n_seeds < 2:
        return []
    settings = [base] if chosen is None or chosen == base else [chosen, base]
    return [(c, [c.replace(seed=base.seed + k) for k in range(n_seeds)]) for c in settings]


def _seed_table(base: TrainConfig, repeated: Sequence[tuple[TrainConfig, list[TrainConfig]]],
                varied: Sequence[str], known: Mapping[str, float]) -> pd.DataFrame:
    """Every finished run of ``repeated`` (and the base's own run, if it is not among them), and
    4.1's model after the base's, with its BPC on the validation split and on the large test
    file (``known``: that BPC of the runs already scored, by run key)."""
    if not any(c == base for c, _ in repeated):  # the near-replicate pairs with the base's run
        repeated = [*repeated, (base, [base])]
    runs = [(c, f"seed {r.seed}", r) for c, members in repeated for r in members]
    replicate = replicate_config(base)
    if replicate != base:
        runs.append((base, REPLICATE, replicate))
    rows = log_rows([r for _, _, r in runs])
    keep = [i for i in range(len(runs)) if rows["status"].iloc[i] == "ok"]
    todo = [runs[i][2] for i in keep if run_key(runs[i][2]) not in known]
    scored = dict(zip(map(run_key, todo), (float(b.mean()) for b in
                                            run_bits(todo, [TEST_LARGE_FILE])[TEST_LARGE_FILE])))
    large = [known.get(run_key(runs[i][2]), scored.get(run_key(runs[i][2]))) for i in keep]
    return pd.DataFrame({
        "setting": [varied_label(runs[i][0].to_dict(), base.to_dict(), varied) for i in keep],
        "run": [runs[i][1] for i in keep],
        "BPC (valid)": [rows["bpc_valid"].iloc[i] for i in keep],
        "BPC (large test)": large,
    }, columns=["setting", "run", "BPC (valid)", "BPC (large test)"])


@memo
def tuning_results(plan: TuningPlan) -> TuningResults:
    """Score and analyse the runs of ``plan`` (trained by :func:`run_tuning`; trained here if
    missing): the choice among them on each text
    (:func:`~charlm.studies.selection.analyse_selection`: block-bootstrap intervals, the
    optimism of choosing on the test file), every run of the settings trained with several
    seeds, with 4.1's model beside the base, on the large test file, the run-to-run variation
    pooled over them, and each parameter's effect against it."""
    base, configs = plan.base, list(plan.configs)
    varied = varied_params(configs, base)
    runs = log_rows(configs)
    metric = selection_metric(runs)
    chosen = chosen_config(runs, configs, metric)
    selection = analyse_selection(runs, configs, base, seed=base.seed)
    finished = [c for c, status in zip(configs, runs["status"]) if status == "ok"]
    known = dict(zip(map(run_key, finished), selection.scores["bpc_large"]))
    seeds = _seed_table(base, repeated_runs(base, chosen, plan.n_seeds), varied, known)
    variation = run_variation([(name, tuple(g["BPC (large test)"]))
                               for name, g in seeds.groupby("setting", sort=False)])
    large = dict(zip(selection.scores["setting"], selection.scores["bpc_large"]))
    return TuningResults(
        plan=plan, varied=tuple(varied), metric=metric, runs=runs,
        final=tuple(final_losses(configs, load_histories(configs))), chosen=chosen,
        selection=selection, seeds=seeds, variation=variation,
        effects=effects(runs, base, varied, metric, large, variation.limit()))


__all__ = ["ORDER", "REPLICATE", "TIE", "UNMEASURED", "Effect", "RunVariation", "TuningPlan",
           "TuningResults", "effects", "gap_verdict", "repeated_runs", "replicate_config",
           "run_tuning", "run_variation", "trend", "tuning_results"]
