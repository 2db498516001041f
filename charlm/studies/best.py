"""The best model in a fixed budget (notebook 06 and Appendix E), computed once.

The runs are those of :func:`charlm.studies.models.report_models`: the preset ``best`` with its
training budget, the 4.2 base (the coursework's settings with the same validation split held
out) and the coursework's own run. Kept results (:mod:`charlm.memo`), read by both notebooks:

- :func:`score_runs`: the best run and the base scored on the test files: bits of every
  character, 95% block-bootstrap intervals and the paired differences;
- :func:`dynamic_tuning`: dynamic evaluation's step and decay chosen on the validation split;
- :func:`best_ladder`: every yardstick and the report's three models on the test files;
- :func:`best_samples`: one sample of each run from the same prime and seed.

The facts the text states are small dataclasses made from them: :class:`ScoreFacts`,
:class:`LadderFacts` and :class:`RunFacts` (this build's run, against the recorded search's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..baselines import ADAPTS, TRAINING
from ..checkpoint import Checkpoint
from ..corpora import TEST_FILE, TEST_LARGE_FILE, corpus, corpus_text
from ..dynamic import DynamicTuning
from ..evaluate import bits_interval, char_bits, paired_difference_interval
from ..facts import Int, Num, bits, count, num, share
from ..memo import memo
from ..sample import generate
from . import ladder
from .models import ReportModels
from .search import higher_or_lower, repeat_noise, within_or_beyond
from .summary import valid_bpc_at
from .temperature import pick_prime

BEST = "best"  # the two runs, as tables and figures name them
BASE = "coursework settings (4.2 base)"  # trained with the validation split held out, unlike 4.1
COURSEWORK = "coursework model (4.1)"  # the ladder's rungs
BEST_RUNG = "best model"
DYNAMIC = "best model, dynamic evaluation"
TESTS = (TEST_FILE, TEST_LARGE_FILE)
BLOCK = 200  # characters per bootstrap block
LEVEL = 0.95  # of the bootstrap intervals
BUDGET_TOLERANCE = 0.05  # a budget run may overrun by its last iteration: this share of it


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


@dataclass(frozen=True)
class ScoreFacts:
    """What the text says of the two runs on the test files."""

    test: Num  # the best run on dickens_test.txt
    large: Num  # ... on dickens_test_large.txt, with its interval
    large_low: Num
    large_high: Num
    base_test: Num
    base_large: Num
    gain: Num  # base minus best on the large file, two decimals
    diff_test: Num  # paired difference best minus base, with its interval
    diff_test_low: Num
    diff_test_high: Num
    diff_large: Num
    diff_large_low: Num
    diff_large_high: Num
    valid: Num  # the best run's validation BPC
    large_side: str  # the large file against validation: "higher", "lower" or "the same"
    level: Num
    block: Int


def score_facts(scores: Scores) -> ScoreFacts:
    """The facts of :class:`Scores` (the first file is ``dickens_test.txt``, the last the
    large one)."""
    small, large = scores.files[0], scores.files[-1]
    b_large = scores.intervals[BEST, large]
    d_small, d_large = scores.differences[small], scores.differences[large]

    def signed(x: float) -> Num:
        return num(x, "+.3f")

    return ScoreFacts(
        test=bits(scores.intervals[BEST, small][0]), large=bits(b_large[0]),
        large_low=bits(b_large[1]), large_high=bits(b_large[2]),
        base_test=bits(scores.intervals[BASE, small][0]),
        base_large=bits(scores.intervals[BASE, large][0]),
        gain=num(scores.intervals[BASE, large][0] - b_large[0], ".2f"),
        diff_test=signed(d_small[0]), diff_test_low=signed(d_small[1]),
        diff_test_high=signed(d_small[2]), diff_large=signed(d_large[0]),
        diff_large_low=signed(d_large[1]), diff_large_high=signed(d_large[2]),
        valid=bits(scores.valid_bpc[BEST]),
        large_side=higher_or_lower(b_large[0], scores.valid_bpc[BEST]),
        level=share(scores.level), block=count(scores.block))


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


def strongest_yardstick(frame: pd.DataFrame, test: str, knows: str = ADAPTS) -> pd.Series:
    """The yardstick (not one of the report's models) with the lowest BPC on ``test`` among
    those that know ``knows``: the fair comparison for a model that knows as much."""
    rows = frame[(frame.knows == knows) & (frame.kind != ladder.KIND_MODEL)]
    if rows.empty:
        raise KeyError(f"no yardstick that knows {knows!r} in the ladder")
    return rows.loc[rows[test].idxmin()]


def below_or_above(value: float, other: float) -> str:
    """``"below"``, ``"above"`` or ``"level with"``: ``value`` against ``other`` at the three
    decimals shown."""
    return {"lower": "below", "higher": "above", "the same": "level with"}[higher_or_lower(value, other)]


@dataclass(frozen=True)
class LadderFacts:
    """06's reading of the ladder on one test file: the strongest adapting yardstick against
    the best model, static and with dynamic evaluation."""

    yardstick: str
    yardstick_bpc: Num
    best: Num
    lead: Num  # |best - yardstick|
    best_side: str  # the best model against the yardstick: "below", "above", "level with"
    dynamic: Num
    dynamic_low: Num
    dynamic_high: Num
    dynamic_gain: Num  # |static - dynamic|
    dynamic_vs_static: str  # "below", "above", "level with"
    dynamic_lead: Num  # |dynamic - yardstick|
    dynamic_side: str
    step: Num  # the tuned step and decay
    decay: Num
    tried: Int  # settings tried on validation


def ladder_facts(lad: Ladder, test: str = TEST_LARGE_FILE) -> LadderFacts:
    """The facts of :class:`Ladder` on ``test``."""
    frame = lad.frame.set_index("name")
    y = strongest_yardstick(lad.frame, test)
    b, d = frame.loc[BEST_RUNG], frame.loc[DYNAMIC]
    return LadderFacts(
        yardstick=str(y["name"]), yardstick_bpc=bits(y[test]), best=bits(b[test]),
        lead=bits(abs(y[test] - b[test])), best_side=below_or_above(b[test], y[test]),
        dynamic=bits(d[test]), dynamic_low=bits(d[f"{test} low"]), dynamic_high=bits(d[f"{test} high"]),
        dynamic_gain=bits(abs(b[test] - d[test])), dynamic_vs_static=below_or_above(d[test], b[test]),
        dynamic_lead=bits(abs(y[test] - d[test])),
        dynamic_side=below_or_above(d[test], y[test]),
        step=num(lad.tuning.best.step, "g"), decay=num(lad.tuning.best.decay, "g"),
        tried=count(len(lad.tuning.grid)))


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


# ---------------------------------------------------------------- the run


def used_whole_budget(minutes: float, budget: float, tolerance: float = BUDGET_TOLERANCE) -> bool:
    """Whether a budget run trained for its whole budget: within ``tolerance`` of it (the last
    iteration may overrun)."""
    return abs(minutes - budget) <= tolerance * budget


def threads_phrase(n: int) -> str:
    """``"1 torch thread"``, ``"2 torch threads"``."""
    return f"{n} torch thread{'' if n == 1 else 's'}"


def favoured(best_threads: int, base_threads: int) -> str:
    """Which run a comparison at equal training minutes favours, from the torch threads each
    trained with: the one with more (a minute of its training had more processor time)."""
    if best_threads == base_threads:
        return "neither run"
    return "the best run" if best_threads > base_threads else "the base run"


def more_or_fewer(value: float, other: float) -> str:
    """``"more"``, ``"fewer"`` or ``"as many"``."""
    return "as many" if value == other else ("more" if value > other else "fewer")


@dataclass(frozen=True)
class RunFacts:
    """How the best run trained in this build, against the base run and against the recorded
    search's run of the chosen setting."""

    status: str
    iterations: Int
    minutes: Num
    budget: Num
    whole_budget: bool
    budget_verdict: str  # "trained for" or "did not train for" (its whole budget)
    tolerance: Num
    threads: str  # "1 torch thread"
    n_params: Int
    eval_every: Int
    streams: Int
    chunk: Int
    chars: Num  # millions of characters read
    base_chars: Num
    base_minutes: Num
    base_threads: str
    base_valid: Num  # the base's validation BPC at its end
    best_then: Num  # the best run's at the same training time (NaN: not evaluated by then)
    valid: Num  # the best run's at its end
    favours: str  # which run equal minutes favour
    search_iterations: Int  # the search's run of the chosen setting
    search_valid: Num
    search_threads: str
    iterations_side: str  # "more", "fewer", "as many"
    iterations_share: Num  # this build's iterations over the search's
    valid_gap: Num  # |this build - search| validation BPC
    valid_side: str  # this build's validation against the search's: "higher", "lower"
    noise: Num  # the spread of the setting the search trained twice
    gap_vs_noise: str  # "within" or "beyond"


def run_facts(models: ReportModels, results: pd.DataFrame) -> RunFacts:
    """The facts of the best run of ``models`` against the base and the recorded search
    ``results`` (:func:`charlm.presets.search_results`)."""
    m, d = models.best.meta, models.base.meta
    cfg, d_cfg = models.best.config, models.base.config
    minutes, budget = m["wall_time"] / 60, cfg.budget_minutes
    whole = used_whole_budget(minutes, budget)
    then = valid_bpc_at(m["valid_curve"], d["wall_time"] / 60)
    chosen = results[results["chosen"]].iloc[0]
    gap = m["valid_bpc"] - chosen["valid_bpc"]
    noise = repeat_noise(results).spread
    return RunFacts(
        status=str(m["status"]), iterations=count(m["iterations"]), minutes=num(minutes, ".1f"),
        budget=num(budget, "g"), whole_budget=whole,
        budget_verdict="trained for" if whole else "did not train for",
        tolerance=share(BUDGET_TOLERANCE), threads=threads_phrase(m["threads"]),
        n_params=count(m["n_params"]), eval_every=count(cfg.eval_every),
        streams=count(cfg.batch_size), chunk=count(cfg.chunk_len),
        chars=num(m["iterations"] * cfg.batch_size * cfg.chunk_len / 1e6, ".1f"),
        base_chars=num(d["iterations"] * d_cfg.batch_size * d_cfg.chunk_len / 1e6, ".1f"),
        base_minutes=num(d["wall_time"] / 60, ".1f"), base_threads=threads_phrase(d["threads"]),
        base_valid=bits(d["valid_bpc"]), best_then=bits(math.nan if then is None else then),
        valid=bits(m["valid_bpc"]), favours=favoured(m["threads"], d["threads"]),
        search_iterations=count(chosen["iterations"]), search_valid=bits(chosen["valid_bpc"]),
        search_threads=threads_phrase(int(chosen["threads"])),
        iterations_side=more_or_fewer(m["iterations"], chosen["iterations"]),
        iterations_share=share(m["iterations"] / chosen["iterations"]),
        valid_gap=bits(abs(gap)), valid_side=higher_or_lower(m["valid_bpc"], chosen["valid_bpc"]),
        noise=bits(noise), gap_vs_noise=within_or_beyond(gap, noise))


__all__ = ["BASE", "BEST", "BEST_RUNG", "BLOCK", "BUDGET_TOLERANCE", "COURSEWORK", "DYNAMIC",
           "LEVEL", "Ladder", "LadderFacts", "RunFacts", "ScoreFacts", "Samples", "Scores",
           "TESTS", "below_or_above", "best_ladder", "best_samples", "dynamic_tuning",
           "favoured", "ladder_facts", "more_or_fewer", "run_facts", "score_facts", "score_runs",
           "scores_of", "strongest_yardstick", "threads_phrase", "used_whole_budget"]
