"""The same setting on Python source, and part 4.5 of the report whole.

:func:`score_domains` scores a model trained on another corpus (the Python source of
:func:`charlm.corpora.python_corpus`) and a Dickens model on each other's text
(:class:`DomainScores`). :func:`python_samples` draws samples of the Python model
(:class:`PythonSamples`). :func:`bonus_study` is what part 4.5 shows: the cells compared
(:func:`charlm.studies.cells.compare_cells`) with the run on the Python corpus trained in the
same study, and the domains scored (:class:`BonusStudy`). The scores and the samples are kept on
disk (:mod:`charlm.memo`), so 4.5 and Appendix D compute them once.

Measured values (BPC) are never written here: the report computes and states them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import TrainConfig
from ..corpora import (TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE, PythonCorpus, corpus, corpus_text,
                       python_corpus, python_corpus_config)
from ..data import VOCAB
from ..evaluate import bpc_interval
from ..memo import memo
from ..model import CharRNN
from ..runs import cached_run
from ..sample import generate
from .cells import CellComparison, Ranking, compare_cells

DOMAIN_TEXTS = ("held-out Python", TEST_FILE, TEST_LARGE_FILE)
DOMAIN_MODELS = ("Dickens", "Python")


@dataclass(frozen=True, eq=False)
class DomainScores:
    """A Dickens model and a Python-source model scored on each other's text.

    ``scores``: one row per (model, text) with ``bpc`` and its 95% block bootstrap interval
    ``low``, ``high`` (:func:`charlm.evaluate.bpc_interval`); models are named ``"Dickens"``
    and ``"Python"``, texts ``"held-out Python"`` and the two Dickens test files (of the large
    one, its first ``n_large`` characters of ``n_large_total``). ``python_chars`` and
    ``dickens_chars``: the distinct characters of the two training texts; ``vocab_size``: of
    the vocabulary.
    """

    corpus: PythonCorpus
    config: TrainConfig
    scores: pd.DataFrame
    n_large: int
    n_large_total: int
    python_chars: int
    dickens_chars: int
    vocab_size: int = len(VOCAB)

    def bpc(self, model: str, text: str) -> float:
        """BPC of ``model`` (``"Dickens"`` or ``"Python"``) on ``text``."""
        hit = self.scores[(self.scores["model"] == model) & (self.scores["text"] == text)]
        return float(hit["bpc"].iloc[0])

    @property
    def uniform(self) -> float:
        """Bits per character of a uniform guess over the vocabulary."""
        return math.log2(self.vocab_size)


@memo
def score_domains(dickens: TrainConfig, python: TrainConfig,
                  test_large_chars: int = 0) -> DomainScores:
    """Score the run of ``dickens`` and that of ``python`` (trained on the Python corpus of
    :func:`~charlm.corpora.python_corpus`) on both kinds of text: the corpus's held-out files,
    the small test file and the large one (its first ``test_large_chars`` characters; 0: all)."""
    rec = python_corpus()
    full_large = corpus(TEST_LARGE_FILE)
    large = full_large[:test_large_chars or None]
    texts = {DOMAIN_TEXTS[0]: corpus(str(rec.heldout_path)), DOMAIN_TEXTS[1]: corpus(TEST_FILE),
             DOMAIN_TEXTS[2]: large}
    models = {DOMAIN_MODELS[0]: cached_run(dickens).model, DOMAIN_MODELS[1]: cached_run(python).model}
    scores = pd.DataFrame([dict(zip(("model", "text", "bpc", "low", "high"),
                                    (name, text, *bpc_interval(model, data))))
                           for name, model in models.items() for text, data in texts.items()])
    return DomainScores(corpus=rec, config=python, scores=scores, n_large=len(large),
                        n_large_total=len(full_large),
                        python_chars=len(set(rec.train_path.read_text())),
                        dickens_chars=len(set(corpus_text(TRAIN_FILE))))


# ---------------------------------------------------------------------------------------------
# samples of the Python model


@dataclass(frozen=True, eq=False)
class PythonSamples:
    """Samples of the model of ``config``: one per (priming string, temperature) in
    ``samples`` as ``(prime, temperature, seed, continuation)``, the i-th priming string with
    seed ``seed + i``. ``shared``: for each temperature, how many final characters the
    continuations would all share if every priming string were given the same seed ``seed``
    (the reason each has its own)."""

    config: TrainConfig
    primes: tuple[str, ...]
    temps: tuple[float, ...]
    predict_len: int
    seed: int
    samples: tuple[tuple[str, float, int, str], ...]
    shared: dict[float, int]


def shared_tail(texts: Sequence[str]) -> int:
    """The number of final characters that all of ``texts`` share."""
    n = 0
    while n < min(map(len, texts)) and len({t[len(t) - n - 1] for t in texts}) == 1:
        n += 1
    return n


def python_samples(cfg: TrainConfig, primes: Sequence[str], temps: Sequence[float],
                   predict_len: int, seed: int) -> PythonSamples:
    """:class:`PythonSamples` of the run of ``cfg`` (kept on disk: the arguments are put in one
    form first, so that equal settings find the same entry)."""
    return _python_samples(cfg, tuple(p for p in primes if p), tuple(float(t) for t in temps),
                           int(predict_len), int(seed))


@memo
def _python_samples(cfg, primes, temps, predict_len, seed) -> PythonSamples:
    model = cached_run(cfg).model

    def draw(prime: str, temp: float, s: int) -> str:
        return generate(model, prime, predict_len=predict_len, temperature=temp, seed=s)[len(prime):]

    samples = tuple((p, t, seed + i, draw(p, t, seed + i))
                    for i, p in enumerate(primes) for t in temps)
    shared = ({t: shared_tail([draw(p, t, seed) for p in primes]) for t in temps}
              if len(primes) > 1 else {t: 0 for t in temps})
    return PythonSamples(cfg, primes, temps, predict_len, seed, samples, shared)


# ---------------------------------------------------------------------------------------------
# The whole bonus study of the report


@dataclass(frozen=True, eq=False)
class BonusStudy:
    """What part 4.5 shows: the cell comparison (``runs``), its two rankings, the Python corpus
    and the config of the run trained on it, and both kinds of model on both kinds of text."""

    runs: CellComparison
    corpus: PythonCorpus
    python_config: TrainConfig
    domains: DomainScores

    @property
    def equal_data(self) -> Ranking:
        return self.runs.equal_data_ranking

    @property
    def equal_time(self) -> Ranking:
        return self.runs.equal_time_ranking

    @property
    def python_model(self) -> CharRNN:
        """The model trained on the Python corpus."""
        return self.runs.model(self.python_config)


def bonus_study(base: TrainConfig, log: str | Path, minutes: float, workers: int | None = None,
                test_large_chars: int = 0) -> BonusStudy:
    """The cells compared from ``base`` (:func:`compare_cells`, ``minutes`` of training time
    each at equal time, with the run of ``base`` on the Python corpus of
    :func:`charlm.corpora.python_corpus` trained in the same study), and the domains scored
    (:func:`score_domains`)."""
    rec = python_corpus()
    python_cfg = python_corpus_config(base)
    runs = compare_cells(base, log, minutes, workers=workers, test_large_chars=test_large_chars,
                         extra=[python_cfg])
    return BonusStudy(runs=runs, corpus=rec, python_config=python_cfg,
                      domains=score_domains(runs.equal_data[0], python_cfg, test_large_chars))


__all__ = ["DOMAIN_MODELS", "DOMAIN_TEXTS", "BonusStudy", "DomainScores", "PythonSamples",
           "bonus_study", "python_samples", "score_domains", "shared_tail"]
