"""The ladder: every model of the report and every yardstick, ranked by BPC on the same files.

A rung is one model scored on each test file, with what it knows (:data:`KNOWS`): nothing, the
training text, or the training text plus what it learns from the test text as it reads it. The
yardsticks (:mod:`charlm.baselines`) give the lower rungs; :func:`model_rung` scores a trained
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

from ..baselines import ADAPTS, NOTHING, TRAINING, NgramChoice, Yardstick, yardsticks
from ..corpora import TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE, corpus_text
from ..data import encode, split_corpus
from ..dynamic import DynamicSettings, DynamicTuning, dynamic_char_bits, grad_rms, tune_dynamic
from ..errors import DataError
from ..evaluate import bits_interval, char_bits
from ..memo import memo

KNOWS = (NOTHING, TRAINING, ADAPTS)
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


def _with_intervals(name: str, knows: str, kind: str, bits: Mapping[str, np.ndarray],
                    seconds: float) -> Rung:
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


def yardstick_rungs(rows: Sequence[Yardstick], keep: Iterable[str] | None = None) -> list[Rung]:
    """The yardstick rows as rungs (``keep``: the names to keep, default all)."""
    keep = None if keep is None else set(keep)
    out = []
    for r in rows:
        if keep is not None and r.name not in keep:
            continue
        kind = KIND_COMPRESSOR if r.bits is None else KIND_BASELINE
        if r.bits is None:
            out.append(Rung(r.name, r.knows, kind, dict(r.bpc), {}, r.seconds))
        else:
            out.append(_with_intervals(r.name, r.knows, kind, r.bits, r.seconds))
    return out


def model_rung(name: str, model: torch.nn.Module, tests: Mapping[str, str | torch.Tensor]) -> Rung:
    """A trained model scored statically (weights fixed) on each test text."""
    start = time.perf_counter()
    bits = {t: char_bits(model, text) for t, text in tests.items()}
    return _with_intervals(name, TRAINING, KIND_MODEL, bits, time.perf_counter() - start)


def dynamic_rung(name: str, model: torch.nn.Module, tests: Mapping[str, str | torch.Tensor],
                 train: str | torch.Tensor, settings: DynamicSettings) -> Rung:
    """The same model under dynamic evaluation with ``settings``, its gradient statistics from
    ``train`` (the text it was trained on), on each test text; the model is not changed."""
    start = time.perf_counter()
    rms = grad_rms(model, train, settings.segment, settings.stat_streams, settings.stat_chars)
    bits = {t: dynamic_char_bits(model, text, train, settings, rms=rms) for t, text in tests.items()}
    return _with_intervals(name, ADAPTS, KIND_MODEL, bits, time.perf_counter() - start)


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


def ladder_frame(rungs: Sequence[Rung], order_by: str | None = None) -> pd.DataFrame:
    """The rungs as a table, worst first by BPC on ``order_by`` (default: the last test file):
    columns ``name``, ``knows``, ``kind``, ``seconds`` and, per test file, ``<file>``,
    ``<file> low`` and ``<file> high`` (NaN where there is no interval)."""
    if not rungs:
        return pd.DataFrame()
    tests = list(rungs[0].bpc)
    order_by = order_by or tests[-1]
    rows = []
    for r in rungs:
        row = {"name": r.name, "knows": r.knows, "kind": r.kind, "seconds": r.seconds}
        for t in tests:
            lo, hi = r.interval.get(t, (math.nan, math.nan))
            row |= {t: r.bpc[t], f"{t} low": lo, f"{t} high": hi}
        rows.append(row)
    return pd.DataFrame(rows).sort_values(order_by, ascending=False, kind="stable").reset_index(drop=True)


COURSEWORK, BEST, DYNAMIC = "coursework model (4.1)", "best model", "best model, dynamic evaluation"


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


__all__ = ["BEST", "COURSEWORK", "DYNAMIC", "full_ladder", "report_yardsticks", "KIND_BASELINE", "KIND_COMPRESSOR", "KIND_MODEL", "KNOWS", "Rung", "dynamic_rung",
           "ladder_frame", "model_rung", "rung", "training_part", "tune_around", "yardstick_rungs"]
