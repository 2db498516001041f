"""The best model in a fixed budget (notebook 06 and Appendix E), computed once.

The runs are those of :func:`charlm.studies.models.report_models`: the preset ``best`` with its
training budget, the 4.2 base (the coursework's settings with the same validation split held
out) and the coursework's own run. Kept results (:mod:`charlm.memo`), read by both notebooks:

- :func:`score_runs`: the best run and the base scored on the test files: bits of every
  character, 95% block-bootstrap intervals and the paired differences;
- :func:`dynamic_tuning`: dynamic evaluation's step and decay chosen on the validation split;
- :func:`best_ladder`: every yardstick and the report's three models on the test files;
- :func:`best_samples`: one sample of each run from the same prime and seed.

The facts the text states are made from them in :mod:`charlm.studies.best_facts`, kept apart
so that a change there (or in :mod:`charlm.facts`) computes none of these again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..baselines import TRAINING
from ..checkpoint import Checkpoint
from ..corpora import TEST_FILE, TEST_LARGE_FILE, corpus, corpus_text
from ..dynamic import DynamicTuning
from ..evaluate import bits_interval, char_bits, paired_difference_interval
from ..memo import memo
from ..sample import generate
from . import ladder
from .temperature import pick_prime

BEST = "best"  # the two runs, as tables and figures name them
BASE = "coursework settings (4.2 base)"  # trained with the validation split held out, unlike 4.1
COURSEWORK = "coursework model (4.1)"  # the ladder's rungs
BEST_RUNG = "best model"
DYNAMIC = "best model, dynamic evaluation"
TESTS = (TEST_FILE, TEST_LARGE_FILE)
BLOCK = 200  # characters per bootstrap block
LEVEL = 0.95  # of the bootstrap intervals


# ---------------------------------------------------------------- the test files


@dataclass(frozen=True)
class Scores:
    """Both runs scored on the test files: per-character bits, BPC and intervals, and the
    paired difference best minus base on each file."""

    files: tuple[str, ...]
    bits: dict[tuple[str, str], np.ndarray]  # (run, file) -> bits of each character
    intervals: dict[tuple[str, str], tuple[float, float, float]]  # (run, file) -> (BPC, low, high)
    differences: dict[str, tuple[float, float, float]]  # file -> (best - base, low, high)
    valid_bpc: dict[str, float]  # run -> validation BPC at the end of training
    minutes: dict[str, float]  # run -> training minutes
    block: int = BLOCK
    level: float = LEVEL

    def table(self) -> pd.DataFrame:
        """One row per run: minutes, validation BPC, and BPC with its interval per file."""
        rows = []
        for run in (BEST, BASE):
            row: dict = {"run": run, "minutes": self.minutes[run], "BPC (valid)": self.valid_bpc[run]}
            for name in self.files:
                value, lo, hi = self.intervals[run, name]
                row[name] = value
                row[f"{self.level:.0%} interval ({name})"] = f"{lo:.3f} - {hi:.3f}"
            rows.append(row)
        return pd.DataFrame(rows)


def scores_of(best: Checkpoint, base: Checkpoint, texts: Mapping[str, str | torch.Tensor]) -> Scores:
    """:class:`Scores` of the two runs on ``texts`` (name -> text)."""
    char, intervals = {}, {}
    for run, ck in ((BEST, best), (BASE, base)):
        for name, text in texts.items():
            char[run, name] = char_bits(ck.model, text)
            intervals[run, name] = bits_interval(char[run, name], block=BLOCK, level=LEVEL)
    diffs = {name: paired_difference_interval(char[BEST, name], char[BASE, name], block=BLOCK,
                                              level=LEVEL) for name in texts}
    return Scores(tuple(texts), char, intervals, diffs,
                  {BEST: best.meta["valid_bpc"], BASE: base.meta["valid_bpc"]},
                  {BEST: best.meta["wall_time"] / 60, BASE: base.meta["wall_time"] / 60})


@memo
def score_runs(best: Checkpoint, base: Checkpoint) -> Scores:
    """The best run and the base scored once on the test files (:data:`TESTS`)."""
    return scores_of(best, base, {name: corpus(name) for name in TESTS})


# ---------------------------------------------------------------- dynamic evaluation and the ladder


@memo
def dynamic_tuning(best: Checkpoint) -> DynamicTuning:
    """Dynamic evaluation's step and decay for the best run, chosen on its validation split
    (:func:`charlm.studies.ladder.tune_around`; no test file is read)."""
    return ladder.tune_around(best.model, corpus_text(best.config.corpus), best.config.valid_frac)


@dataclass(frozen=True)
class Ladder:
    """The best-model section's ladder: the tuning of dynamic evaluation and the rungs
    (:func:`charlm.studies.ladder.ladder_frame`)."""

    tuning: DynamicTuning
    frame: pd.DataFrame
    tests: tuple[str, ...]


def _static_rung(name: str, scores: Scores, run: str) -> ladder.Rung:
    """A run of :class:`Scores` as a rung, its intervals as scored (no second scoring)."""
    return ladder.Rung(name, TRAINING, ladder.KIND_MODEL,
                       {f: scores.intervals[run, f][0] for f in scores.files},
                       {f: scores.intervals[run, f][1:] for f in scores.files})


@memo
def best_ladder(coursework: Checkpoint, best: Checkpoint, base: Checkpoint) -> Ladder:
    """Every yardstick (:func:`charlm.studies.ladder.report_yardsticks`) and the rungs
    :data:`COURSEWORK`, :data:`BEST_RUNG` (the scores of :func:`score_runs`) and
    :data:`DYNAMIC` (the best model adapting with the settings of :func:`dynamic_tuning`) on the
    test files."""
    scores, tuning = score_runs(best, base), dynamic_tuning(best)
    tests = {name: corpus_text(name) for name in TESTS}
    yard, _ = ladder.report_yardsticks()
    fit = ladder.training_part(corpus_text(best.config.corpus), best.config.valid_frac)
    mine = [ladder.model_rung(COURSEWORK, coursework.model, tests),
            _static_rung(BEST_RUNG, scores, BEST),
            ladder.dynamic_rung(DYNAMIC, best.model, tests, fit, tuning.best)]
    return Ladder(tuning, ladder.ladder_frame(ladder.yardstick_rungs(yard) + mine), TESTS)


# ---------------------------------------------------------------- samples


@dataclass(frozen=True)
class Samples:
    """One sample of each run from the same prime and seed."""

    prime: str
    best: str
    base: str


@memo
def best_samples(best: Checkpoint, base: Checkpoint, predict_len: int, temperature: float,
                 seed: int) -> Samples:
    """``predict_len`` characters of each run at ``temperature`` from the same prime (the start
    of a random chunk of ``dickens_test.txt``, drawn with ``seed``) and seed."""
    prime = pick_prime(corpus_text(TEST_FILE), seed=seed)

    def draw(ck: Checkpoint) -> str:
        return generate(ck.model, prime, predict_len, temperature, seed=seed)[len(prime):]

    return Samples(prime, draw(best), draw(base))


__all__ = ["BASE", "BEST", "BEST_RUNG", "BLOCK", "COURSEWORK", "DYNAMIC", "LEVEL", "Ladder",
           "Samples", "Scores", "TESTS", "best_ladder", "best_samples", "dynamic_tuning",
           "score_runs", "scores_of"]
