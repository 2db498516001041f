"""Part 4.4: priming strings from the test set and samples at several temperatures."""

from __future__ import annotations

import random
from typing import Sequence

import numpy as np
import torch

from .data import VOCAB, encode
from .errors import DataError
from .model import CharRNN
from .sample import check_temperature, generate

DEFAULT_TEMPS = (0.1, 0.5, 1.0, 2.0)


def pick_prime(text: str, seed: int, chunk_len: int = 200, prime_len: int = 10) -> str:
    """Cut ``text`` into ``chunk_len``-character chunks, pick one at random (seeded) and return
    its first ``prime_len`` characters."""
    n_chunks = len(text) // chunk_len
    if n_chunks == 0:
        raise DataError(f"the text has {len(text)} characters; at least {chunk_len} are needed")
    idx = random.Random(seed).randrange(n_chunks)
    return text[idx * chunk_len: idx * chunk_len + prime_len]


def samples_at(
    model: CharRNN, prime_str: str, temps: Sequence[float], predict_len: int = 200, seed: int = 0
) -> dict[float, str]:
    """One sample of ``predict_len`` characters per temperature (same seed for each)."""
    temps = [check_temperature(t) for t in temps]
    return {t: generate(model, prime_str, predict_len, t, seed=seed)[len(prime_str):] for t in temps}


@torch.no_grad()
def next_char_distribution(
    model: CharRNN, context: str, temps: Sequence[float], top: int = 12
) -> tuple[list[str], dict[float, np.ndarray]]:
    """The model's next-character distribution after ``context`` at several temperatures.

    Returns the ``top`` most likely characters at T=1 and, per temperature, their
    probabilities ``softmax(logits / T)``.
    """
    model.eval()
    logits, _ = model(encode(context, what="context")[None, :])
    last = logits[0, -1].double()
    order = torch.argsort(last, descending=True)[:top]
    probs = {float(t): torch.softmax(last / check_temperature(t), -1)[order].numpy() for t in temps}
    return [VOCAB[i] for i in order.tolist()], probs
