"""A trained model fine-tuned on other text, against training on that text from scratch.

:func:`fine_tuning` trains the settings ``python`` (a corpus of Python source, see
:func:`charlm.corpora.python_corpus_config`) twice for the same iterations: from random weights,
and from the weights of the trained run of ``dickens`` (:func:`charlm.runs.cached_run` with
``init_from``: a new optimiser and schedule, the cache keyed by those weights). Both have the
same seed, so they read the same chunks in the same order. It scores the two, and the Dickens
model they are compared with, on the held-out Python text and on the small Dickens test file,
each with a 95% block bootstrap interval, and the fine-tuned model against each of the others
with a paired interval (:mod:`charlm.evaluate`). The result (:class:`FineTuning`) is kept on
disk (:mod:`charlm.memo`), so part 4.5 and Appendix D compute it once.

It is a module of its own so that the results kept by :mod:`charlm.studies.python_corpus` do
not depend on its code. Measured values (BPC, times) are never written here: the report
computes and states them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..config import TrainConfig
from ..corpora import TEST_FILE, corpus, python_corpus
from ..evaluate import bits_interval, char_bits, paired_difference_interval
from ..memo import memo
from ..runs import cached_run

TUNED, SCRATCH, SOURCE = "fine-tuned", "from scratch", "Dickens"  # the three models
PYTHON_TEXT = "held-out Python"
TEXTS = (PYTHON_TEXT, TEST_FILE)


@dataclass(frozen=True, eq=False)
class FineTuning:
    """The run of ``python`` fine-tuned from the run of ``dickens`` (``TUNED``), the same run
    from random weights (``SCRATCH``) and the Dickens model itself (``SOURCE``).

    ``scores``: one row per (model, text) with ``bpc`` and its 95% block bootstrap interval
    ``low``, ``high``; texts are ``"held-out Python"`` and ``dickens_test.txt``. ``gaps``: for
    ``(other, text)``, the fine-tuned model's BPC minus ``other``'s on ``text`` with its 95%
    paired interval, ``(gap, low, high)``. ``source``: what the fine-tuned run's checkpoint
    records of the weights it started from (its ``meta["init_from"]``). ``runs``: for each
    model, its ``iterations``, training ``seconds``, loss ``history`` (mean of every
    ``plot_every`` iterations) and ``plot_every``. ``chars``: the characters of each text.
    """

    dickens: TrainConfig
    python: TrainConfig
    source: dict[str, Any]
    scores: pd.DataFrame
    gaps: dict[tuple[str, str], tuple[float, float, float]]
    runs: dict[str, dict[str, Any]]
    chars: dict[str, int]

    def bpc(self, model: str, text: str) -> tuple[float, float, float]:
        """``(bpc, low, high)`` of ``model`` on ``text``."""
        hit = self.scores[(self.scores["model"] == model) & (self.scores["text"] == text)].iloc[0]
        return float(hit["bpc"]), float(hit["low"]), float(hit["high"])


@memo
def fine_tuning(dickens: TrainConfig, python: TrainConfig) -> FineTuning:
    """Train ``python`` from scratch and from the weights of the run of ``dickens`` (each only
    if the run cache lacks it; ``python`` must have the Dickens model's shape), and score the
    two and the Dickens model on the held-out Python text and dickens_test.txt."""
    ckpts = {SOURCE: cached_run(dickens), SCRATCH: cached_run(python),
             TUNED: cached_run(python, init_from=dickens)}
    texts = {PYTHON_TEXT: corpus(str(python_corpus().heldout_path)), TEST_FILE: corpus(TEST_FILE)}
    bits = {(m, t): char_bits(c.model, texts[t]) for m, c in ckpts.items() for t in texts}
    scores = pd.DataFrame([dict(zip(("model", "text", "bpc", "low", "high"),
                                    (m, t, *bits_interval(b)))) for (m, t), b in bits.items()])
    gaps = {(other, t): paired_difference_interval(bits[TUNED, t], bits[other, t])
            for other in (SCRATCH, SOURCE) for t in texts}
    runs = {m: {"iterations": c.meta["iterations"], "seconds": c.meta["wall_time"],
                "history": list(c.history), "plot_every": c.config.plot_every}
            for m, c in ckpts.items()}
    return FineTuning(dickens=dickens, python=python, source=dict(ckpts[TUNED].meta["init_from"]),
                      scores=scores, gaps=gaps, runs=runs,
                      chars={t: len(x) for t, x in texts.items()})


__all__ = ["FineTuning", "PYTHON_TEXT", "SCRATCH", "SOURCE", "TEXTS", "TUNED", "fine_tuning"]
