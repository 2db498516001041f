"""Bits per character: one exact pass over a held-out text, and its uncertainty."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .data import encode
from .errors import DataError
from .model import CharRNN


@torch.no_grad()
def char_bits(model: CharRNN, text: str | torch.Tensor, slice_len: int = 2048) -> np.ndarray:
    """-log2 p(character t | characters before t) for t = 1..N-1, as a float64 array.

    The hidden state is carried from the first character to the last; the text is fed in
    slices of ``slice_len`` only to bound memory, so the result does not depend on
    ``slice_len`` (beyond float rounding). The first character has no prediction, so a text
    of N characters gives N - 1 values. Log-probabilities are taken in float64 so that a model
    whose decoder outputs all zeros gives exactly log2(100) = 6.6439 bits per character.
    """
    data = encode(text, what="evaluation text") if isinstance(text, str) else text
    if len(data) < 2:
        raise DataError(f"BPC needs a text of at least 2 characters, got {len(data)}")
    if slice_len < 1:
        raise DataError(f"slice_len must be >= 1, got {slice_len}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        out = []
        state = None
        inputs, targets = data[:-1].to(device), data[1:].to(device)
        for start in range(0, len(inputs), slice_len):
            x = inputs[start:start + slice_len][None, :]  # (1, slice)
            logits, state = model(x, state)  # (1, slice, vocab)
            nats = F.cross_entropy(logits[0].double(), targets[start:start + slice_len],
                                   reduction="none")
            out.append(nats.cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out) / math.log(2)


def bpc(model: CharRNN, text: str | torch.Tensor, slice_len: int = 2048) -> float:
    """Mean of -log2 p(next character | all previous characters) over the whole text.

    Equals the mean cross-entropy in nats divided by ln 2; see :func:`char_bits`.
    """
    return float(char_bits(model, text, slice_len).mean())


def bpc_interval(
    model: CharRNN, text: str | torch.Tensor, block: int = 200, n_boot: int = 2000,
    level: float = 0.95, seed: int = 0,
) -> tuple[float, float, float]:
    """BPC with a bootstrap confidence interval: ``(bpc, low, high)``.

    The per-character bits of one exact pass are cut into consecutive blocks of ``block``
    characters (neighbouring characters are correlated, so blocks, not characters, are
    resampled); the blocks are resampled with replacement ``n_boot`` times and the interval is
    the central ``level`` share of the resampled means.
    """
    bits = char_bits(model, text)
    n_blocks = max(1, len(bits) // block)
    sums = np.array([b.sum() for b in np.array_split(bits, n_blocks)])
    counts = np.array([len(b) for b in np.array_split(bits, n_blocks)])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_blocks, size=(n_boot, n_blocks))
    means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    tail = (1 - level) / 2
    return float(bits.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))
