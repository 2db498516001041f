"""Sampling text from a trained model: the one ``generate`` used everywhere."""

from __future__ import annotations

import math
from typing import Any

import torch

from .data import decode, encode
from .errors import ConfigError
from .model import CharRNN, check_finite, check_finite_scores

MAX_PREDICT_LEN = 100_000  # a longer request is almost surely a typo; it would take minutes


def check_temperature(temperature: Any) -> float:
    """Return ``temperature`` as a float, or raise :class:`ConfigError` if not finite and > 0."""
    if isinstance(temperature, str):
        try:
            temperature = float(temperature)
        except ValueError:
            raise ConfigError(
                f"temperature must be a finite number > 0, got {temperature!r}"
            ) from None
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not math.isfinite(temperature)
        or temperature <= 0
    ):
        raise ConfigError(
            f"temperature must be a finite number > 0 (use greedy=True for argmax), "
            f"got {temperature!r}"
        )
    return float(temperature)


def check_predict_len(predict_len: Any) -> int:
    """Return ``predict_len`` if it is an int in ``[0, MAX_PREDICT_LEN]``, else raise."""
    if (
        isinstance(predict_len, bool)
        or not isinstance(predict_len, int)
        or not 0 <= predict_len <= MAX_PREDICT_LEN
    ):
        raise ConfigError(
            f"predict_len must be an integer from 0 to {MAX_PREDICT_LEN:,}, got {predict_len!r}"
        )
    return predict_len


@torch.no_grad()
def generate(
    model: CharRNN,
    prime_str: str = "A",
    predict_len: int = 100,
    temperature: float = 0.8,
    seed: int | None = None,
    greedy: bool = False,
) -> str:
    """Generate ``predict_len`` characters after ``prime_str``; returns prime + continuation.

    The priming string is fed once (one recurrent call), then one character at a time while
    the state is carried (the prefix is never re-run). The logits are divided by
    ``temperature`` before the softmax and one character is drawn from that distribution;
    ``greedy=True`` takes the most likely character instead (the limit T -> 0). The same
    ``seed`` gives the same text; ``seed=None`` draws fresh randomness.
    """
    if not isinstance(prime_str, str) or prime_str == "":
        raise ConfigError("prime_str must be a non-empty string")
    predict_len = check_predict_len(predict_len)
    if not greedy:
        temperature = check_temperature(temperature)
    prime = encode(prime_str, what="prime_str")
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu")
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)

    # Non-finite scores (a diverged checkpoint's NaN weights) are a ModelError, never a torch
    # crash or NaN-driven text. The weights are checked once (one sum per tensor) and the priming scores
    # once; each step then checks for free: sampling catches multinomial's refusal of
    # NaN/inf probabilities, and greedy decoding reads the maximum it needs anyway (a NaN or
    # +inf score is the maximum), rather than paying a separate isfinite per character.
    check_finite(model)
    was_training = model.training
    model.eval()
    try:
        logits, state = model(prime.to(device)[None, :])  # (1, len(prime), vocab)
        check_finite_scores(logits)
        last = logits[0, -1]
        out: list[int] = []
        for _ in range(predict_len):
            if greedy:
                best, index = last.max(dim=-1)
                if not math.isfinite(float(best)):
                    check_finite_scores(best)  # raises ModelError
                nxt = int(index)
            else:
                probs = torch.softmax(last.double().cpu() / temperature, dim=-1)
                try:
                    nxt = int(torch.multinomial(probs, 1, generator=gen))
                except RuntimeError:
                    check_finite_scores(probs)  # raises ModelError when that was the cause
                    raise
            out.append(nxt)
            logits, state = model(torch.tensor([[nxt]], device=device), state)
            last = logits[0, -1]
    finally:
        model.train(was_training)
    return decode(prime) + decode(out)
