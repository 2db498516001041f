"""The facts that notebook 06 and Appendix E state, as small dataclasses whose numbers show
themselves formatted (:mod:`charlm.facts`), and the verdicts behind their words, each a small
tested function.

Made from the kept results of :mod:`charlm.studies.best` and :mod:`charlm.studies.sanity`
(kept apart from them, so that a change here computes nothing again):

- :class:`ScoreFacts`: the two runs on the test files;
- :class:`LadderFacts`: the best model against the strongest yardstick that adapts, static and
  with dynamic evaluation;
- :class:`RunFacts`: how the best run trained in this build, against the base run and against
  the recorded search's run of the chosen setting;
- :class:`RailsFacts`: the derail count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ..baselines import ADAPTS
from ..corpora import TEST_LARGE_FILE
from ..facts import Int, Num, bits, count, num, share
from . import ladder
from .best import BASE, BEST, BEST_RUNG, DYNAMIC, Ladder, Scores
from .models import ReportModels
from .sanity import (BEST as RAILS_BEST, CAPITAL_RUN, CAPITAL_WINDOW, JUNK_RUN, LEVEL,
                     ONE_CHAR_PRIME, PRIME_KINDS, PRIME_LEN, SANITY_LEN, SANITY_TEMPS, Rails,
                     capital_runs_agree)
from .search import higher_or_lower, repeat_noise, within_or_beyond
from .summary import valid_bpc_at

BUDGET_TOLERANCE = 0.05  # a budget run may overrun by its last iteration: this share of it


# ---------------------------------------------------------------- the test files


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


# ---------------------------------------------------------------- the ladder


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


def then_phrase(value: float | None) -> str:
    """What the best run's validation BPC was when the base run ended: ``"was at 2.300 at
    that time"``, or ``"had not been evaluated yet by then"`` (``value`` None)."""
    return "had not been evaluated yet by then" if value is None else f"was at {value:.3f} at that time"


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
    then: str  # "was at 2.300 at that time" or "had not been evaluated yet by then"
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
        then=then_phrase(then),
        valid=bits(m["valid_bpc"]), favours=favoured(m["threads"], d["threads"]),
        search_iterations=count(chosen["iterations"]), search_valid=bits(chosen["valid_bpc"]),
        search_threads=threads_phrase(int(chosen["threads"])),
        iterations_side=more_or_fewer(m["iterations"], chosen["iterations"]),
        iterations_share=share(m["iterations"] / chosen["iterations"]),
        valid_gap=bits(abs(gap)), valid_side=higher_or_lower(m["valid_bpc"], chosen["valid_bpc"]),
        noise=bits(noise), gap_vs_noise=within_or_beyond(gap, noise))


# ---------------------------------------------------------------- the derail count


@dataclass(frozen=True)
class RailsFacts:
    """What the text says of :class:`Rails`."""

    samples: Int  # all samples drawn
    per_model: Int
    per_row: Int  # per model, kind of prime and temperature
    temperatures: str  # "0.8 and 1"
    length: Int  # characters per sample
    prime: str  # the one-character prime
    prime_len: Int  # characters of test text in the other primes
    junk_run: Int
    capital_run: Int
    window: Int
    derailed: Int  # samples that derailed, all models
    derailed_best: Int
    capital_runs: Int  # capital runs after the one-character prime, all models
    one_char_samples: Int
    capital_share: Num
    train_rate: Num  # of all the training text's windows
    prime_rate: Num  # of its windows that start at the prime
    capitals_agree: bool
    capitals_verdict: str  # "no more often than" or "more often than"
    level: Num
    unknown: Num  # the highest share of made-up words among the rows that derailed least
    unknown_model: str
    unknown_temperature: Num
    unknown_prime: str  # "one character" or "test text"
    unknown_derailed: Int  # samples of that row that derailed
    unknown_samples: Int


def rails_facts(r: Rails, temps: Iterable[float] = SANITY_TEMPS, length: int = SANITY_LEN,
                level: float = LEVEL) -> RailsFacts:
    """The facts of :class:`Rails`."""
    s = r.summary
    one = s[s.prime_kind == PRIME_KINDS[0]]
    agree = capital_runs_agree(s, r.prime_rate, level)
    # the most made-up words among the rows that derailed least: what the count does not see
    quiet = s[s.derailed == s.derailed.min()]
    worst = quiet.loc[quiet.unknown_share.idxmax()]
    n_one = int(one.samples.sum())
    return RailsFacts(
        samples=count(s.samples.sum()), per_model=count(s.groupby("model").samples.sum().iloc[0]),
        per_row=count(s.samples.iloc[0]),
        temperatures=" and ".join(f"{t:g}" for t in temps), length=count(length),
        prime=ONE_CHAR_PRIME, prime_len=count(PRIME_LEN), junk_run=count(JUNK_RUN),
        capital_run=count(CAPITAL_RUN), window=count(CAPITAL_WINDOW),
        derailed=count(s.derailed.sum()), derailed_best=count(s[s.model == RAILS_BEST].derailed.sum()),
        capital_runs=count(one.capital_runs.sum()), one_char_samples=count(n_one),
        capital_share=share(one.capital_runs.sum() / n_one if n_one else math.nan, 1),
        train_rate=share(r.train_rate, 1), prime_rate=share(r.prime_rate, 1),
        capitals_agree=agree,
        capitals_verdict="no more often than" if agree else "more often than",
        level=share(level), unknown=share(worst.unknown_share),
        unknown_model=str(worst.model), unknown_temperature=num(worst.temperature, "g"),
        unknown_prime=str(worst.prime_kind), unknown_derailed=count(worst.derailed),
        unknown_samples=count(worst.samples))


__all__ = ["BUDGET_TOLERANCE", "LadderFacts", "RailsFacts", "RunFacts", "ScoreFacts",
           "below_or_above", "favoured", "ladder_facts", "more_or_fewer", "rails_facts",
           "run_facts", "score_facts", "strongest_yardstick", "then_phrase", "threads_phrase",
           "used_whole_budget"]
