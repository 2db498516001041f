"""Bits per character: one exact pass over a held-out text, and its uncertainty."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data import encode_compact
from .errors import DataError, ModelError
from .model import CharRNN, check_finite
from .progress import progress_enabled


PROGRESS_FROM = 1_000_000  # characters: texts at least this long show a progress bar


@torch.no_grad()
def char_bits(model: CharRNN, text: str | torch.Tensor, slice_len: int = 2048,
              progress: bool | None = None) -> np.ndarray:
    """-log2 p(character t | characters before t) for t = 1..N-1, as a float64 array.

    The hidden state is carried from the first character to the last; the text is fed in
    slices of ``slice_len`` only to bound memory, so the result does not depend on
    ``slice_len`` (beyond float rounding). The first character has no prediction, so a text
    of N characters gives N - 1 values. Log-probabilities are taken in float64 so that a model
    whose decoder outputs all zeros gives exactly log2(100) = 6.6439 bits per character.
    A model with NaN or inf weights (or scores) raises :class:`~charlm.errors.ModelError`
    instead of returning NaN.

    Memory is flat in the length apart from the result: the text is held as one byte per
    character (:func:`~charlm.data.encode_compact`) and each slice's bits are written into
    one array allocated up front, so a 50 MB text takes about 9 bytes per character beside the
    model. Texts of :data:`PROGRESS_FROM` characters or more show a progress bar (see
    :func:`~charlm.progress.progress_enabled`).
    """
    data = encode_compact(text, what="evaluation text") if isinstance(text, str) else text
    if len(data) < 2:
        raise DataError(f"BPC needs a text of at least 2 characters, got {len(data)}")
    if slice_len < 1:
        raise DataError(f"slice_len must be >= 1, got {slice_len}")
    # The weights once up front (one sum per tensor), the result once at the end (one pass over N values,
    # negligible beside the model's forward pass): no per-slice cost.
    check_finite(model)
    device = next(model.parameters()).device
    n = len(data) - 1
    bits = np.empty(n, dtype=np.float64)
    bar = tqdm(total=n, unit="char", unit_scale=True, desc="bpc",
               disable=not (n >= PROGRESS_FROM and progress_enabled(progress)))
    was_training = model.training
    model.eval()
    try:
        state = None
        for start in range(0, n, slice_len):
            stop = min(start + slice_len, n)
            x = _long(data[start:stop]).to(device)[None, :]  # (1, slice)
            logits, state = model(x, state)  # (1, slice, vocab)
            nats = F.cross_entropy(logits[0].double(), _long(data[start + 1:stop + 1]).to(device),
                                   reduction="none")
            bits[start:stop] = nats.cpu().numpy()
            bar.update(stop - start)
    finally:
        model.train(was_training)
        bar.close()
    bits /= math.log(2)
    if not np.isfinite(bits).all():
        raise ModelError("the model gives non-finite scores (its weights are finite, but its "
                         "scores overflow)")
    return bits


def _long(piece: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A slice of indices (int8 numpy or a tensor) as the long tensor the model takes."""
    return torch.from_numpy(piece.astype(np.int64)) if isinstance(piece, np.ndarray) else piece.long()


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

    See :func:`bits_interval`, which this applies to the per-character bits of one exact pass.
    """
    return bits_interval(char_bits(model, text), block, n_boot, level, seed)


def block_sums(bits: np.ndarray, block: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Sums and lengths of ``bits`` cut into consecutive blocks of about ``block`` values.

    Neighbouring characters are correlated (a word is predictable once begun), so resampling
    is done over blocks, not single characters.
    """
    if block < 1:
        raise DataError(f"block must be >= 1, got {block}")
    parts = np.array_split(np.asarray(bits, dtype=float), max(1, len(bits) // block))
    return np.array([b.sum() for b in parts]), np.array([len(b) for b in parts], dtype=float)


def bits_interval(
    bits: np.ndarray, block: int = 200, n_boot: int = 2000, level: float = 0.95, seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``bits`` with a block-bootstrap confidence interval: ``(mean, low, high)``.

    The values (per-character bits from :func:`char_bits`) are cut into consecutive blocks of
    ``block``; the blocks are resampled with replacement ``n_boot`` times and the interval is
    the central ``level`` share of the resampled means.
    """
    sums, counts = block_sums(bits, block)
    idx = np.random.default_rng(seed).integers(0, len(sums), size=(n_boot, len(sums)))
    means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    tail = (1 - level) / 2
    return (float(np.mean(bits)), float(np.quantile(means, tail)),
            float(np.quantile(means, 1 - tail)))


def paired_difference_interval(
    bits_a: np.ndarray, bits_b: np.ndarray, block: int = 200, n_boot: int = 2000,
    level: float = 0.95, seed: int = 0,
) -> tuple[float, float, float]:
    """BPC of model A minus BPC of model B on the same text, with a paired block bootstrap.

    Both arrays are the per-character bits of two models on one text. Resampling the same
    blocks for both cancels the difficulty of the text, which is shared, so the interval of the
    difference is much narrower than the two separate intervals suggest.
    """
    if len(bits_a) != len(bits_b):
        raise DataError(f"paired bits must have the same length, got {len(bits_a)} and {len(bits_b)}")
    diff = np.asarray(bits_a, dtype=float) - np.asarray(bits_b, dtype=float)
    return bits_interval(diff, block, n_boot, level, seed)
