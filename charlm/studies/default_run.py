"""Part 4.1, training with the defaults: the facts its answer and Appendix B state.

:func:`default_run_facts` gathers the run's numbers (:class:`DefaultRun`) from the cached run,
its scores on the test files (:func:`charlm.studies.ladder.run_rung`, memoized) and the
untrained model's score (:func:`untrained_bpc`, memoized); :func:`reference_checks` compares
the run with the reference write-up's figures by stated rules; :func:`adam_burst` computes how
far Adam moves a weight whose gradient wakes up after a long silence. Each verdict is a small
function returning a short phrase or a bool; the sentences are the notebooks' markdown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..config import TrainConfig
from ..corpora import TEST_FILE, TEST_LARGE_FILE, corpus
from ..data import VOCAB_SIZE
from ..evaluate import bpc
from ..facts import Int, Num, bits, count, nats, num, share
from ..memo import memo
from ..model import build_model
from ..runs import cached_run
from .ladder import run_rung
from .summary import curve_stats

# The untrained loss is "about" a uniform guess within this fraction of ln(vocabulary size).
NEAR_UNIFORM = 0.05
# The reference write-up's figures for this training, and the rules that check them.
REFERENCE_EPOCHS = 3000  # the reference trained this many iterations
REFERENCE_START = 4.6  # "the loss starts at about 4.6 nats"
START_TOLERANCE = 0.3  # agreement: within this many nats of it
FINAL_RANGE = (1.6, 1.9)  # "about 1.7-1.8 nats after 3000 iterations": agreement in this range


@dataclass(frozen=True)
class DefaultRun:
    """The 4.1 run's facts, each shown as the report writes it."""

    status: str  # "ok", or "diverged at iteration 1,200"
    iterations: Int
    minutes: Num
    threads: Int
    torch_version: str
    chunk_len: Int
    chars_read: Int  # n_epochs x chunk_len x batch_size
    train_chars: Int
    read_share: Num  # chars_read as a share of the training text's length
    layers: str  # "2 LSTM layers"
    hidden_size: Int
    n_params: Int
    vocab_size: Int
    uniform_nats: Num  # ln(vocabulary size): a uniform guess
    uniform_bits: Num  # log2(vocabulary size)
    untrained_bpc: Num  # on dickens_test.txt, the same initial weights
    untrained_nats: Num
    near_uniform: str  # "about" or "far from"
    near_tolerance: Num  # the share of ln(vocabulary size) that counts as "about"
    plot_every: Int
    first_point: Num  # the loss curve's first point (nats)
    early: str  # "falls" or "does not fall"
    final_nats: Num  # mean of the last tenth of the curve
    final_bits: Num
    tail_iterations: Int
    test_bpc: Num
    large_bpc: Num
    gap: str  # "0.02 bits more than", "0.20 bits fewer than", "about as many bits as"


@memo
def untrained_bpc(cfg: TrainConfig, test: str = TEST_FILE) -> float:
    """BPC on the corpus ``test`` of ``cfg``'s model before training: the weights its seed
    draws, as training starts from."""
    torch.manual_seed(cfg.seed)
    return bpc(build_model(cfg), corpus(test))


def counted(n: int, noun: str) -> str:
    """``"1 LSTM layer"``, ``"2 LSTM layers"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def near_uniform(loss_nats: float, vocab_size: int = VOCAB_SIZE, within: float = NEAR_UNIFORM) -> str:
    """``"about"`` when ``loss_nats`` is within ``within`` (a fraction) of ln(vocab_size), the
    loss of a uniform guess; ``"far from"`` otherwise."""
    uniform = math.log(vocab_size)
    return "about" if abs(loss_nats - uniform) <= within * uniform else "far from"


def early_fall(first_point: float, untrained_nats: float) -> str:
    """``"falls"`` when the curve's first point is below the untrained loss, else
    ``"does not fall"``."""
    return "falls" if first_point < untrained_nats else "does not fall"


def gap_phrase(test_bpc: float, final_bits: float, digits: int = 2) -> str:
    """How the test BPC compares with the final training loss in bits, at ``digits``
    decimals: ``"0.02 bits more than"``, ``"0.20 bits fewer than"``, ``"about as many bits
    as"`` when the rounded difference is zero; ``"no training loss to compare with"`` when
    there is none."""
    if not math.isfinite(final_bits):
        return "(training recorded no loss to compare with)"
    diff = round(test_bpc - final_bits, digits)
    if diff == 0:
        return "about as many bits as"
    return f"{abs(diff):.{digits}f} bits {'more' if diff > 0 else 'fewer'} than"


def status_phrase(meta: Mapping[str, Any]) -> str:
    """``"ok"``, or ``"diverged at iteration 1,200"``."""
    status = str(meta.get("status", "?"))
    at = meta.get("diverged_at")
    return f"{status} at iteration {at:,}" if at else status


def default_run_facts(cfg: TrainConfig, tests: tuple[str, str] = (TEST_FILE, TEST_LARGE_FILE)
                      ) -> DefaultRun:
    """The facts of the run of ``cfg`` (trained if the cache lacks it), scored on ``tests``
    (the small file, then the large one)."""
    ckpt = cached_run(cfg)
    meta = ckpt.meta
    st = curve_stats(ckpt.history, cfg.plot_every)
    rung = run_rung(cfg, tests=tests)
    n_train = len(corpus(cfg.corpus))
    seen = cfg.n_epochs * cfg.chunk_len * cfg.batch_size
    untrained = untrained_bpc(cfg, tests[0])
    untrained_n = untrained * math.log(2)
    return DefaultRun(
        status=status_phrase(meta), iterations=count(meta["iterations"]),
        minutes=num(meta["wall_time"] / 60, ".1f"), threads=count(meta["threads"]),
        torch_version=str(meta["torch_version"]), chunk_len=count(cfg.chunk_len),
        chars_read=count(seen), train_chars=count(n_train), read_share=share(seen / n_train),
        layers=counted(cfg.n_layers, "LSTM layer"), hidden_size=count(cfg.hidden_size),
        n_params=count(meta["n_params"]), vocab_size=count(VOCAB_SIZE),
        uniform_nats=nats(math.log(VOCAB_SIZE)), uniform_bits=bits(math.log2(VOCAB_SIZE)),
        untrained_bpc=bits(untrained), untrained_nats=nats(untrained_n),
        near_uniform=near_uniform(untrained_n), near_tolerance=share(NEAR_UNIFORM),
        plot_every=count(cfg.plot_every), first_point=nats(st["start"]),
        early=early_fall(st["start"], untrained_n), final_nats=nats(st["final"]),
        final_bits=num(st["final"] / math.log(2), ".2f"),
        tail_iterations=count(st["tail_iterations"]),
        test_bpc=bits(rung.bpc[tests[0]]), large_bpc=bits(rung.bpc[tests[1]]),
        gap=gap_phrase(rung.bpc[tests[0]], st["final"] / math.log(2)))


# ---------------------------------------------------------------- the reference write-up


def agreement(agrees: bool | None) -> str:
    """``"yes"``, ``"no"``, or ``"not comparable"`` (None)."""
    return {True: "yes", False: "no", None: "not comparable"}[agrees]


@dataclass(frozen=True)
class ReferenceChecks:
    """This run against the reference write-up's figures (:data:`REFERENCE_START`, ...)."""

    reference_epochs: Int
    start_tolerance: Num
    final_low: Num
    final_high: Num
    start: Num  # the untrained model's loss (nats)
    start_agrees: str  # agreement()
    final: Num  # the mean of the last tenth of the curve (nats)
    final_agrees: str


def start_agrees(start: float, n_epochs: int, reference_epochs: int = REFERENCE_EPOCHS) -> bool | None:
    """Whether the loss at the start agrees with the reference (within
    :data:`START_TOLERANCE` of :data:`REFERENCE_START`); None for a run of another length."""
    if n_epochs != reference_epochs or not math.isfinite(start):
        return None
    return abs(start - REFERENCE_START) <= START_TOLERANCE


def final_agrees(final: float, n_epochs: int, reference_epochs: int = REFERENCE_EPOCHS) -> bool | None:
    """Whether the final loss lies in :data:`FINAL_RANGE`; None for a run of another length."""
    if n_epochs != reference_epochs or not math.isfinite(final):
        return None
    return FINAL_RANGE[0] <= final <= FINAL_RANGE[1]


def reference_checks(history: Sequence[float], plot_every: int, n_epochs: int,
                     untrained_bpc: float) -> ReferenceChecks:
    """The reference write-up's two figures for this training against this run: the loss at
    the start (the untrained model's, from its BPC) and after training (the mean of the last
    tenth of the curve)."""
    final = curve_stats(history, plot_every)["final"]
    start = untrained_bpc * math.log(2)
    return ReferenceChecks(
        reference_epochs=count(REFERENCE_EPOCHS), start_tolerance=num(START_TOLERANCE, ".1f"),
        final_low=num(FINAL_RANGE[0], ".1f"), final_high=num(FINAL_RANGE[1], ".1f"),
        start=nats(start), start_agrees=agreement(start_agrees(start, n_epochs)),
        final=nats(final), final_agrees=agreement(final_agrees(final, n_epochs)))


# ---------------------------------------------------------------- Adam's step


@dataclass(frozen=True)
class AdamBurst:
    """How far Adam moves a weight, in units of ``lr``, at the k-th of k equal gradients after
    a long run of zero gradients: ``(1 - beta1^k) / sqrt(1 - beta2^k)``."""

    beta1: Num
    beta2: Num
    first: Num  # k = 1
    peak: Num  # the largest
    peak_from: Int  # the gradients at which the step rounds to ``peak``
    peak_to: Int
    late_k: Int
    late: Num  # at k = late_k


def burst_step(k: np.ndarray | int, beta1: float, beta2: float) -> np.ndarray:
    """Adam's step (units of ``lr``) at the ``k``-th of ``k`` equal gradients after zeros."""
    k = np.asarray(k, dtype=float)
    return (1 - beta1 ** k) / np.sqrt(1 - beta2 ** k)


def adam_burst(late_k: int = 50, horizon: int = 1000) -> AdamBurst:
    """:class:`AdamBurst` with the betas training uses: PyTorch's defaults, read from
    ``torch.optim.AdamW``."""
    beta1, beta2 = torch.optim.AdamW([torch.zeros(1)]).defaults["betas"]
    steps = burst_step(np.arange(1, horizon + 1), beta1, beta2)
    peak = round(float(steps.max()), 1)
    near = np.flatnonzero(np.round(steps, 1) == peak) + 1
    return AdamBurst(num(beta1, "g"), num(beta2, "g"), num(steps[0], ".1f"), num(peak, ".1f"),
                     count(int(near.min())), count(int(near.max())), count(late_k),
                     num(steps[late_k - 1], ".1f"))


__all__ = ["AdamBurst", "DefaultRun", "FINAL_RANGE", "NEAR_UNIFORM", "REFERENCE_EPOCHS",
           "REFERENCE_START", "ReferenceChecks", "START_TOLERANCE", "adam_burst", "agreement",
           "burst_step", "counted", "default_run_facts", "early_fall", "final_agrees", "gap_phrase",
           "near_uniform", "reference_checks", "start_agrees", "status_phrase", "untrained_bpc"]
