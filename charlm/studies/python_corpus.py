"""The same setting on Python source, and part 4.5 of the report whole.

:func:`score_domains` scores a model trained on another corpus (the Python source of
:func:`charlm.corpora.python_corpus`) and a Dickens model on each other's text
(:class:`DomainScores`). :func:`bonus_study` is what part 4.5 shows: the cells compared
(:func:`charlm.studies.cells.compare_cells`) with the run on the Python corpus trained in the
same study, both rankings, and the domains scored (:class:`BonusStudy`).

Measured values (BPC) are never written here: the report computes and states them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..config import TrainConfig
from ..corpora import (TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE, PythonCorpus, corpus, corpus_text,
                       python_corpus, python_corpus_config)
from ..data import VOCAB
from ..evaluate import bpc_interval
from ..model import CharRNN
from .cells import CellComparison, Ranking, compare_cells

DOMAIN_TEXTS = ("held-out Python", TEST_FILE, TEST_LARGE_FILE)
DOMAIN_MODELS = ("Dickens", "Python")


@dataclass(frozen=True, eq=False)
class DomainScores:
    """A Dickens model and a Python-source model scored on each other's text.

    ``scores``: one row per (model, text) with ``bpc`` and its 95% block bootstrap interval
    ``low``, ``high`` (:func:`charlm.evaluate.bpc_interval`); models are named ``"Dickens"``
    and ``"Python"``, texts ``"held-out Python"`` and the two Dickens test files. ``run``: the
    summary row of the Python run; ``python_chars`` and ``dickens_chars``: the distinct
    characters of the two training texts; ``vocab_size``: of the vocabulary.
    """

    corpus: PythonCorpus
    config: TrainConfig
    run: Mapping[str, Any]
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


def score_domains(runs: CellComparison, rec: PythonCorpus, cfg: TrainConfig) -> DomainScores:
    """Score the equal-data base run (Dickens) and ``cfg`` (trained on ``rec``) on both kinds
    of text: ``rec``'s held-out files, the small test file and the large one as
    :func:`compare_cells` scored it."""
    texts = {DOMAIN_TEXTS[0]: corpus(str(rec.heldout_path)), DOMAIN_TEXTS[1]: corpus(TEST_FILE),
             DOMAIN_TEXTS[2]: runs.large_text}
    models = {DOMAIN_MODELS[0]: runs.model(runs.equal_data[0]), DOMAIN_MODELS[1]: runs.model(cfg)}
    scores = pd.DataFrame([dict(zip(("model", "text", "bpc", "low", "high"),
                                    (name, text, *bpc_interval(model, data))))
                           for name, model in models.items() for text, data in texts.items()])
    return DomainScores(corpus=rec, config=cfg, run=runs.row(cfg), scores=scores,
                        n_large=runs.n_large, n_large_total=runs.n_large_total,
                        python_chars=len(set(rec.train_path.read_text())),
                        dickens_chars=len(set(corpus_text(TRAIN_FILE))))


# ---------------------------------------------------------------------------------------------
# The whole bonus study of the report


@dataclass(frozen=True, eq=False)
class BonusStudy:
    """What part 4.5 shows: the cell comparison (``runs``), its two rankings, the Python corpus
    and the config of the run trained on it, and both kinds of model on both kinds of text."""

    runs: CellComparison
    equal_data: Ranking
    equal_time: Ranking
    corpus: PythonCorpus
    python_config: TrainConfig
    domains: DomainScores

    @property
    def python_model(self) -> CharRNN:
        """The model trained on the Python corpus."""
        return self.runs.model(self.python_config)


def bonus_study(base: TrainConfig, log: str | Path, timing_iterations: int = 20,
                workers: int | None = None, test_large_chars: int = 0) -> BonusStudy:
    """The cells compared from ``base`` (:func:`compare_cells`, with the run of ``base`` on the
    Python corpus of :func:`charlm.corpora.python_corpus` trained in the same study), ranked
    at equal data and at equal time, and the domains scored (:func:`score_domains`)."""
    rec = python_corpus()
    python_cfg = python_corpus_config(base)
    runs = compare_cells(base, log, timing_iterations, workers=workers,
                         test_large_chars=test_large_chars, extra=[python_cfg])
    return BonusStudy(runs=runs, equal_data=runs.ranking(runs.equal_data),
                      equal_time=runs.ranking(runs.equal_time), corpus=rec,
                      python_config=python_cfg, domains=score_domains(runs, rec, python_cfg))


__all__ = ["DOMAIN_MODELS", "DOMAIN_TEXTS", "BonusStudy", "DomainScores", "bonus_study",
           "score_domains"]
