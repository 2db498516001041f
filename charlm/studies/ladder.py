"""The ladder: every model of the report and every yardstick, ranked by BPC on the same files.

A rung is one model scored on each test file, with what it knows (:data:`KNOWS`): nothing, the
training text, only the end of the training text plus what it learns from the test text as it
reads it (zlib and bz2, whose reach is shorter than the training text), or all of the training
text plus that. The yardsticks (:mod:`charlm.baselines`) give the lower rungs, one setting of
each kind (:func:`yardstick_rungs`); :func:`model_rung` scores a trained
model with one exact pass (:func:`charlm.evaluate.char_bits`), :func:`dynamic_rung` the same
model under dynamic evaluation (:mod:`charlm.dynamic`). Where per-character bits exist, each
BPC comes with a 95% block-bootstrap interval (:func:`charlm.evaluate.bits_interval`);
compressors give only a code length, so no interval.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..baselines import (ADAPTS, END_ADAPTS, LADDER_COMPRESSORS, NOTHING, REACH, TRAINING, NgramChoice,
                         Yardstick, ngram_order, training_seen, yardsticks)
from ..config import TrainConfig
from ..corpora import TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE, corpus, corpus_text
from ..data import encode, split_corpus
from ..dynamic import DynamicSettings, DynamicTuning, dynamic_char_bits, grad_rms, tune_dynamic
from ..errors import DataError
from ..evaluate import bits_interval, char_bits
from ..facts import Int, Num, bits, count, num
from ..memo import memo
from ..runs import cached_run

KNOWS = (NOTHING, TRAINING, END_ADAPTS, ADAPTS)
KIND_BASELINE, KIND_COMPRESSOR, KIND_MODEL = "baseline", "compressor", "neural model"


@dataclass
class Rung:
    """One model on the ladder: its BPC (and interval, where it has per-character bits) on each
    test file, what it knows, and the seconds it took to score them all."""

    name: str
    knows: str
    kind: str
    bpc: dict[str, float]
    interval: dict[str, tuple[float, float]] = field(default_factory=dict)
    seconds: float = math.nan
    note: str = ""  # e.g. "order chosen on validation", "order not chosen"
    on_ladder: bool = True  # False: a yardstick setting kept for the appendix's table only


def bits_rung(name: str, knows: str, kind: str, bits: Mapping[str, np.ndarray],
              seconds: float) -> Rung:
    """A rung from the bits of each character on each test file (name -> bits), with its
    block-bootstrap intervals."""
    cis = {t: bits_interval(b) for t, b in bits.items()}
    return Rung(name, knows, kind, {t: ci[0] for t, ci in cis.items()},
                {t: (ci[1], ci[2]) for t, ci in cis.items()}, seconds)


@memo
def report_yardsticks(train: str = TRAIN_FILE, tests: tuple[str, ...] = (TEST_FILE, TEST_LARGE_FILE)
                      ) -> tuple[list[Yardstick], NgramChoice]:
    """Every yardstick of the report (:func:`charlm.baselines.yardsticks`, n-gram orders 2 to 8)
    knowing the corpus ``train``, on the corpora ``tests``: computed once for every section
    that shows them."""
    return yardsticks(corpus_text(train), {name: corpus_text(name) for name in tests},
                      ngram_orders=range(2, 9))


def yardstick_rungs(rows: Sequence[Yardstick], keep: Iterable[str] | None = None,
                    every_setting: bool = False) -> list[Rung]:
    """The yardstick rows as rungs: those of the ladder (``Yardstick.on_ladder``: the n-gram of
    the order chosen on validation, one setting of each compressor), or with
    ``every_setting`` all of them (the appendix's table); ``keep``: the names to keep."""
    keep = None if keep is None else set(keep)
    out = []
    for r in rows:
        if (keep is not None and r.name not in keep) or not (r.on_ladder or every_setting):
            continue
        kind = KIND_COMPRESSOR if r.bits is None else KIND_BASELINE
        if r.bits is None:
            rung = Rung(r.name, r.knows, kind, dict(r.bpc), {}, r.seconds)
        else:
            rung = bits_rung(r.name, r.knows, kind, r.bits, r.seconds)
        rung.note, rung.on_ladder = r.note, r.on_ladder
        out.append(rung)
    return out


def model_rung(name: str, model: torch.nn.Module, tests: Mapping[str, str | torch.Tensor]) -> Rung:
    """A trained model scored statically (weights fixed) on each test text."""
    start = time.perf_counter()
    bits = {t: char_bits(model, text) for t, text in tests.items()}
    return bits_rung(name, TRAINING, KIND_MODEL, bits, time.perf_counter() - start)


def dynamic_rung(name: str, model: torch.nn.Module, tests: Mapping[str, str | torch.Tensor],
                 train: str | torch.Tensor, settings: DynamicSettings) -> Rung:
    """The same model under dynamic evaluation with ``settings``, its gradient statistics from
    ``train`` (the text it was trained on), on each test text; the model is not changed."""
    start = time.perf_counter()
    rms = grad_rms(model, train, settings.segment, settings.stat_streams, settings.stat_chars)
    bits = {t: dynamic_char_bits(model, text, train, settings, rms=rms) for t, text in tests.items()}
    return bits_rung(name, ADAPTS, KIND_MODEL, bits, time.perf_counter() - start)


def training_part(train_text: str, valid_frac: float) -> torch.Tensor:
    """The encoded training text less its validation split: what a model with that split
    learnt from, and where dynamic evaluation's gradient statistics come from."""
    return split_corpus(encode(train_text, "training text"), valid_frac)[0]


def tune_around(model: torch.nn.Module, train_text: str, valid_frac: float,
                base: DynamicSettings | None = None, factor: float = 2.0) -> DynamicTuning:
    """Choose dynamic evaluation's step and decay on the validation split of ``train_text``
    (the split the model was tuned on; never a test file): the grid is ``base``'s step and
    decay times ``1 / factor``, 1 and ``factor`` (default base: :class:`DynamicSettings`, itself
    chosen on that split from a wider grid), the gradient statistics from the split's training
    part."""
    base = base or DynamicSettings()
    fit, valid = split_corpus(encode(train_text, "training text"), valid_frac)
    if valid is None:
        raise DataError("choosing the dynamic-evaluation settings needs a validation split "
                        "(valid_frac > 0)")
    scale = (1 / factor, 1.0, factor)
    return tune_dynamic(model, valid, fit, steps=[base.step * f for f in scale],
                        decays=[min(1.0, base.decay * f) for f in scale], segments=[base.segment],
                        base=base)


def ladder_frame(rungs: Sequence[Rung], order_by: str | None = None,
                 every_setting: bool = False) -> pd.DataFrame:
    """The rungs of the ladder (``Rung.on_ladder``; with ``every_setting`` all of them) as a
    table, worst first by BPC on ``order_by`` (default: the last test file):
    columns ``name``, ``knows``, ``kind``, ``seconds``, ``note`` and, per test file, ``<file>``,
    ``<file> low`` and ``<file> high`` (NaN where there is no interval)."""
    rungs = [r for r in rungs if r.on_ladder or every_setting]
    if not rungs:
        return pd.DataFrame()
    tests = list(rungs[0].bpc)
    order_by = order_by or tests[-1]
    rows = []
    for r in rungs:
        row = {"name": r.name, "knows": r.knows, "kind": r.kind, "seconds": r.seconds, "note": r.note}
        for t in tests:
            lo, hi = r.interval.get(t, (math.nan, math.nan))
            row |= {t: r.bpc[t], f"{t} low": lo, f"{t} high": hi}
        rows.append(row)
    return pd.DataFrame(rows).sort_values(order_by, ascending=False, kind="stable").reset_index(drop=True)


COURSEWORK, BEST, DYNAMIC = "coursework model (4.1)", "best model", "best model, dynamic evaluation"


@memo
def run_rung(cfg: TrainConfig, name: str = COURSEWORK,
             tests: tuple[str, ...] = (TEST_FILE, TEST_LARGE_FILE)) -> Rung:
    """The run of ``cfg`` (from the run cache, trained if missing) scored statically on the
    corpora ``tests``, as the rung ``name``: computed once for every section that shows it."""
    model = cached_run(cfg).model
    return model_rung(name, model, {t: corpus(t) for t in tests})


@memo
def report_rungs(cfg: TrainConfig, name: str = COURSEWORK,
                 tests: tuple[str, ...] = (TEST_FILE, TEST_LARGE_FILE)) -> list[Rung]:
    """Every yardstick of :func:`report_yardsticks` (every setting, those off the ladder
    marked) with its intervals, and the run of ``cfg`` as the rung ``name``."""
    rows, _ = report_yardsticks(TRAIN_FILE, tests)
    return yardstick_rungs(rows, every_setting=True) + [run_rung(cfg, name, tests)]


def full_ladder(coursework: torch.nn.Module, best: torch.nn.Module, train_text: str,
                valid_frac: float, tests: Mapping[str, str]) -> tuple[DynamicTuning, pd.DataFrame]:
    """The best-model section's ladder: every yardstick (n-gram orders 2 to 8) and the rungs
    :data:`COURSEWORK`, :data:`BEST` and :data:`DYNAMIC` (the best model with dynamic
    evaluation, its step and decay chosen by :func:`tune_around` on the validation split).
    Returns the tuning and the :func:`ladder_frame`."""
    tuning = tune_around(best, train_text, valid_frac)
    yard, _ = yardsticks(train_text, tests, ngram_orders=range(2, 9))
    mine = [model_rung(COURSEWORK, coursework, tests), model_rung(BEST, best, tests),
            dynamic_rung(DYNAMIC, best, tests, training_part(train_text, valid_frac), tuning.best)]
    return tuning, ladder_frame(yardstick_rungs(yard) + mine)


def rung(frame: pd.DataFrame, name: str) -> pd.Series:
    """The row of a :func:`ladder_frame` named ``name``."""
    hit = frame[frame.name == name]
    if hit.empty:
        raise KeyError(f"no rung named {name!r}; rungs: {', '.join(frame.name)}")
    return hit.iloc[0]


# ---------------------------------------------------------------- facts the text states


def yardstick_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`ladder_frame` that are yardsticks (not the report's models)."""
    return frame[frame.kind != KIND_MODEL]


@dataclass(frozen=True)
class Place:
    """Where one model stands among the yardsticks on one test file."""

    test: str
    bpc: Num
    yardsticks: Int
    beaten: Int  # yardsticks with more bits per character than the model
    beating: Int  # yardsticks with fewer
    weakest_beating: str  # the worst of those with fewer ("none" if there are none)
    weakest_beating_bpc: Num
    best: str  # the best yardstick
    best_bpc: Num


def place(frame: pd.DataFrame, name: str, test: str) -> Place:
    """Where the rung ``name`` of ``frame`` stands among its yardsticks on ``test``: how many
    score more bits per character than it (it beats them), how many fewer, the worst of
    those and the best yardstick."""
    own = rung(frame, name)[test]
    yard = yardstick_rows(frame).sort_values(test, ascending=False, kind="stable")
    beating = yard[yard[test] < own]
    weakest = beating.iloc[0] if len(beating) else None
    best = yard.iloc[-1] if len(yard) else None
    return Place(test, bits(own), count(len(yard)), count(int((yard[test] > own).sum())),
                 count(len(beating)), weakest["name"] if weakest is not None else "none",
                 bits(weakest[test] if weakest is not None else math.nan),
                 best["name"] if best is not None else "none",
                 bits(best[test] if best is not None else math.nan))


def strongest(frame: pd.DataFrame, knows: str, test: str, kind: str | None = None) -> pd.Series | None:
    """The yardstick of ``frame`` that knows ``knows`` (and is of ``kind``, if given) with the
    fewest bits per character on ``test``; None if there is none. The ladder holds one setting
    of each kind of yardstick, so this picks among kinds, never an order on a test file."""
    yard = yardstick_rows(frame)
    yard = yard[(yard.knows == knows) & ((yard.kind == kind) if kind else True)]
    return None if yard.empty else yard.loc[yard[test].idxmin()]


def lowest_order_beating(frame: pd.DataFrame, name: str, tests: Sequence[str]) -> str:
    """The lowest n-gram order of ``frame`` (every setting) that scores fewer bits than the
    rung ``name`` on every file of ``tests``, as text (``"4"``), or ``"none"``."""
    own = rung(frame, name)
    orders = sorted((ngram_order(n), r) for n, r in zip(frame.name, frame.to_dict("records"))
                    if ngram_order(n) is not None)
    hit = next((k for k, r in orders if all(r[t] < own[t] for t in tests)), None)
    return "none" if hit is None else str(hit)


@dataclass(frozen=True)
class LadderFacts:
    """What the ladder of 4.1 says, and what its yardsticks know (``{eval}`` values)."""

    small: Place  # on the first test file
    large: Place  # on the second
    n_yardsticks: Int
    lowest_order: str  # lowest_order_beating() over both files
    ngram_order: Int  # chosen on validation
    static_best: str  # the strongest yardstick that knows only the training text
    static_best_bpc: Num
    adaptive_best: str  # the strongest compressor that knows all the training text
    adaptive_best_bpc: Num
    adaptive_seconds: Num  # its time to code the training text and the test files
    train_chars: Int
    zlib_window: Int
    bz2_block: Int
    bz2_seen: Int  # at most this much of the training text shares the test file's block
    bz2_seen_share: Num
    lzma_dictionary: Int
    ppmd_memory: Int
    ppmd_order: Int
    end_only: str  # the yardsticks that know only the end of the training text: "zlib -9 and bz2 -9"


def listing(items: Sequence[str]) -> str:
    """``"none"``, ``"A"``, ``"A and B"``, ``"A, B and C"``."""
    items = list(items)
    if len(items) <= 1:
        return items[0] if items else "none"
    return ", ".join(items[:-1]) + " and " + items[-1]


def ladder_facts(rungs: Sequence[Rung], name: str, choice: NgramChoice, train_chars: int,
                 test: str = TEST_LARGE_FILE) -> LadderFacts:
    """:class:`LadderFacts` of the rung ``name`` among ``rungs`` (:func:`report_rungs`, two
    test files), the strongest yardsticks read on ``test``."""
    frame = ladder_frame(rungs)
    every = ladder_frame(rungs, every_setting=True)
    tests = list(rungs[0].bpc)
    static = strongest(frame, TRAINING, test)
    adaptive = strongest(frame, ADAPTS, test, KIND_COMPRESSOR)
    ppmd = next(n for n in LADDER_COMPRESSORS if n.startswith("PPMd"))
    return LadderFacts(
        small=place(frame, name, tests[0]), large=place(frame, name, tests[-1]),
        n_yardsticks=count(len(yardstick_rows(frame))),
        lowest_order=lowest_order_beating(every, name, tests), ngram_order=count(choice.order),
        static_best=static["name"] if static is not None else "none",
        static_best_bpc=bits(static[test] if static is not None else math.nan),
        adaptive_best=adaptive["name"] if adaptive is not None else "none",
        adaptive_best_bpc=bits(adaptive[test] if adaptive is not None else math.nan),
        adaptive_seconds=num(adaptive["seconds"] if adaptive is not None else math.nan, ".1f"),
        train_chars=count(train_chars), zlib_window=count(REACH["zlib -9"]),
        bz2_block=count(REACH["bz2 -9"]), bz2_seen=count(training_seen("bz2 -9", train_chars)),
        bz2_seen_share=num(training_seen("bz2 -9", train_chars) / train_chars, ".0%"),
        lzma_dictionary=count(REACH["lzma -9e"]), ppmd_memory=count(REACH[ppmd]),
        ppmd_order=count(int(ppmd.rsplit(" ", 1)[1])),
        end_only=listing(yardstick_rows(frame).name[yardstick_rows(frame).knows == END_ADAPTS]))


@dataclass(frozen=True)
class OrderFacts:
    """How the n-gram's order was chosen, and what the test file would have chosen."""

    order: Int
    max_order: Int
    valid_chars: Int
    valid_bpc: Num  # of the chosen order, four decimals
    last_gain: Num  # validation bits saved by the chosen order over the one below it
    test: str
    test_best_order: Int  # the order with the lowest BPC on ``test`` (not a choice: a check)
    test_best_bpc: Num
    chosen_test_bpc: Num


def order_facts(choice: NgramChoice, rungs: Sequence[Rung], test: str = TEST_LARGE_FILE) -> OrderFacts:
    """:class:`OrderFacts` of ``choice`` and the n-gram rungs of ``rungs`` (every setting)."""
    scores = {ngram_order(r.name): r.bpc[test] for r in rungs if ngram_order(r.name) is not None}
    best = min(scores, key=scores.get)
    valid = choice.valid_bpc
    lower = valid.get(choice.order - 1, math.nan)
    return OrderFacts(count(choice.order), count(max(valid)), count(choice.valid_chars),
                      num(valid[choice.order], ".4f"), num(lower - valid[choice.order], ".4f"),
                      test, count(best), bits(scores[best]),
                      bits(scores.get(choice.order, math.nan)))


__all__ = ["BEST", "COURSEWORK", "bits_rung", "DYNAMIC", "full_ladder", "report_yardsticks", "KIND_BASELINE", "KIND_COMPRESSOR", "KIND_MODEL", "KNOWS", "Rung", "dynamic_rung",
           "ladder_frame", "model_rung", "rung", "training_part", "tune_around", "yardstick_rungs",
           "LadderFacts", "Place", "ladder_facts", "lowest_order_beating", "place", "report_rungs",
           "run_rung", "strongest", "yardstick_rows", "OrderFacts", "order_facts", "listing"]
