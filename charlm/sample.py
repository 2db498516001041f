"""Sampling text from a trained model: the one ``generate`` used everywhere."""

from __future__ import annotations

import math
from typing import Any

import torch

from .config import check_seed
from .data import VOCAB_SIZE, decode, encode
from .errors import ConfigError
from .model import CharRNN, check_finite, check_finite_scores

MAX_PREDICT_LEN = 100_000  # a longer request is almost surely a typo; it would take minutes


def _number_from_text(value: Any, kind: type) -> Any:
    """``value`` parsed as ``kind`` when it is text that parses (a command-line value), else
    ``value`` unchanged, for the check that follows to accept or refuse."""
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def check_temperature(temperature: Any) -> float:
    """Return ``temperature`` as a float, or raise :class:`ConfigError` if not finite and > 0."""
    temperature = _number_from_text(temperature, float)
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


def check_top_k(top_k: Any) -> int:
    """Return ``top_k`` as an int in ``[0, VOCAB_SIZE]`` (0 = off), or raise :class:`ConfigError`."""
    top_k = _number_from_text(top_k, int)
    if isinstance(top_k, float) and top_k.is_integer():  # 5.0 from a list of numbers
        top_k = int(top_k)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 0 <= top_k <= VOCAB_SIZE:
        raise ConfigError(f"top_k must be an integer from 1 to {VOCAB_SIZE} (0 = off; 1 is "
                          f"greedy decoding), got {top_k!r}")
    return top_k


def check_top_p(top_p: Any) -> float:
    """Return ``top_p`` as a float in ``(0, 1]`` (1 = off), or raise :class:`ConfigError`."""
    top_p = _number_from_text(top_p, float)
    if (isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not math.isfinite(top_p)
            or not 0 < top_p <= 1):
        raise ConfigError(f"top_p must be a number in (0, 1] (1 = off; near 0 it is greedy "
                          f"decoding), got {top_p!r}")
    return float(top_p)


def sampling_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
                   top_p: float = 1.0) -> torch.Tensor:
    """The distribution one character is drawn from, given the scores ``logits`` (``(..., vocab)``).

    The scores are divided by ``temperature`` and go through the softmax. Then, optionally, the
    tail is cut and the rest renormalised: ``top_k`` keeps the ``k`` most likely characters
    (Fan et al., 2018); ``top_p`` keeps the smallest set of most likely characters whose
    probabilities add up to at least ``p``, the nucleus (Holtzman et al., 2020). The most
    likely character is always kept, so ``top_k=1``, or ``top_p`` below its probability, is
    greedy decoding. With both, a character must pass both cuts. Computed in float64.
    """
    probs = torch.softmax(logits.double() / temperature, dim=-1)
    if not top_k and top_p >= 1.0:
        return probs
    keep = torch.ones_like(probs, dtype=torch.bool)
    order = torch.argsort(probs, dim=-1, descending=True)
    ranked = torch.gather(probs, -1, order)
    keep_ranked = torch.ones_like(ranked, dtype=torch.bool)
    if top_k:
        keep_ranked[..., top_k:] = False
    if top_p < 1.0:
        # a character is in the nucleus when the mass of the characters ranked above it is < p
        above = ranked.cumsum(-1) - ranked
        keep_ranked &= above < top_p
    keep = keep.scatter(-1, order, keep_ranked)
    cut = torch.where(keep, probs, torch.zeros_like(probs))
    return cut / cut.sum(-1, keepdim=True)


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
    top_k: int = 0,
    top_p: float = 1.0,
) -> str:
    """Generate ``predict_len`` characters after ``prime_str``; returns prime + continuation.

    The priming string is fed once (one recurrent call), then one character at a time while
    the state is carried (the prefix is never re-run). Each character is drawn from
    :func:`sampling_probs` of the scores: divided by ``temperature``, through the softmax, with
    the tail cut by ``top_k`` and ``top_p`` when they are set (0 and 1 are off);
    ``greedy=True`` takes the most likely character instead (the limit T -> 0). The same
    ``seed`` gives the same text; ``seed=None`` draws fresh randomness.
    """
    if not isinstance(prime_str, str) or prime_str == "":
        raise ConfigError("prime_str must be a non-empty string")
    predict_len = check_predict_len(predict_len)
    top_k, top_p = check_top_k(top_k), check_top_p(top_p)
    if not greedy:
        temperature = check_temperature(temperature)
    prime = encode(prime_str, what="prime_str")
    if len(prime) == 0:  # e.g. an emoji, which transliterates to nothing
        raise ConfigError(f"prime_str {prime_str!r} has no character in the vocabulary once "
                          f"transliterated to ASCII (string.printable); give some text")
    if seed is not None:
        check_seed(seed)
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
                probs = sampling_probs(last.cpu(), temperature, top_k, top_p)
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
