"""Choosing among runs on a noisy text, and what that choice costs (issue 5, part 1).

Picking the best of several runs by their BPC on a text, then quoting that BPC, flatters the
winner: on a small text each run's score is its true quality plus noise, and the minimum of
several noisy scores is biased low. :func:`selection_optimism` measures the bias directly on
the per-character bits of the runs: the text's blocks are split at random into two halves, the
winner is chosen on one half and scored on the other, and the difference is averaged over many
splits. That is why the studies choose on a validation split of the training text and score
the test files once, for the chosen setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..config import TrainConfig
from ..errors import DataError
from ..corpora import corpus
from ..evaluate import block_sums, char_bits
from ..runs import cached_run


@dataclass(frozen=True)
class Optimism:
    """Result of :func:`selection_optimism` (all in bits per character)."""

    mean: float  # average of (winner's BPC on the other half - its BPC on the choosing half)
    low: float  # 2.5% quantile over the splits
    high: float  # 97.5% quantile over the splits
    agreement: float  # share of splits whose two halves pick the same winner
    chosen: tuple[float, ...]  # per run: share of splits in which the choosing half picks it
    n_splits: int
    half_chars: float  # average characters in one half


def selection_optimism(bits_by_run: Sequence[np.ndarray], block: int = 200,
                       n_splits: int = 2000, seed: int = 0) -> Optimism:
    """How much lower the chosen run scores on the text it was chosen on than on fresh text.

    ``bits_by_run`` holds, for each run, the per-character bits on one and the same text
    (:func:`charlm.evaluate.char_bits`). Each of ``n_splits`` times, the ``block``-character
    blocks are split at random into halves A and B; the run with the lowest BPC on A is chosen,
    and ``BPC_B(chosen) - BPC_A(chosen)`` is recorded. For any one fixed run that difference
    averages zero (A and B are exchangeable), so a positive mean is the optimism of choosing
    and reporting on the same text, measured at the size of half the text (noise shrinks with
    the square root of the length, so the whole text's optimism is roughly the mean / sqrt 2).
    """
    if len(bits_by_run) < 2:
        raise DataError(f"selection needs at least 2 runs, got {len(bits_by_run)}")
    lengths = {len(b) for b in bits_by_run}
    if len(lengths) != 1:
        raise DataError(f"every run must be scored on the same text, got lengths {sorted(lengths)}")
    blocks = [block_sums(b, block) for b in bits_by_run]
    sums = np.stack([s for s, _ in blocks])  # (runs, blocks)
    counts = blocks[0][1]
    n_blocks = sums.shape[1]
    if n_blocks < 4:
        raise DataError(f"the text has {n_blocks} blocks of {block} characters; at least 4 are needed")
    rng = np.random.default_rng(seed)
    gaps, agree = np.empty(n_splits), np.empty(n_splits, dtype=bool)
    picks = np.zeros(len(bits_by_run))
    half_chars = 0.0
    for i in range(n_splits):
        in_a = np.zeros(n_blocks, dtype=bool)
        in_a[rng.permutation(n_blocks)[: n_blocks // 2]] = True
        bpc_a = sums[:, in_a].sum(axis=1) / counts[in_a].sum()
        bpc_b = sums[:, ~in_a].sum(axis=1) / counts[~in_a].sum()
        win = int(np.argmin(bpc_a))
        gaps[i] = bpc_b[win] - bpc_a[win]
        agree[i] = win == int(np.argmin(bpc_b))
        picks[win] += 1
        half_chars += counts[in_a].sum() / n_splits
    return Optimism(mean=float(gaps.mean()), low=float(np.quantile(gaps, 0.025)),
                    high=float(np.quantile(gaps, 0.975)), agreement=float(agree.mean()),
                    chosen=tuple(float(p / n_splits) for p in picks), n_splits=n_splits,
                    half_chars=float(half_chars))


def run_bits(configs: Sequence[TrainConfig], texts: Sequence[str]) -> dict[str, list[np.ndarray]]:
    """Per-character bits of each run of ``configs`` (from the cache, trained if missing) on
    each corpus file of ``texts``: ``{text: [bits of run 0, bits of run 1, ...]}``."""
    models = [cached_run(c).model for c in configs]
    return {name: [char_bits(m, corpus(name)) for m in models] for name in texts}


__all__ = ["Optimism", "run_bits", "selection_optimism"]
