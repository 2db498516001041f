"""Dynamic evaluation: a model that keeps learning from the text it is scoring.

Krause et al. (2018), "Dynamic Evaluation of Neural Sequence Models", RMS variant. The text is
read in segments of ``segment`` characters with the recurrent state carried across them. Each
segment is scored with the current weights FIRST; then the weights take one gradient step on
that segment's mean cross-entropy:

    W <- W - step * grad / rms  +  decay * (rms / mean_rms) * (W0 - W)

- ``rms`` is the root mean square gradient of each weight, gathered once on the training text
  (``stat_streams`` streams of ``stat_chars`` characters each, read in segments of the same
  length, the streams forming one batch); it makes the step scale-free per weight;
- the decay pulls each weight back towards its trained value ``W0``, faster where the training
  gradients are large (Krause's global prior); its rate per weight is capped at 1.

Since a character's probability depends only on the characters before it, the sum of the bits
is a code length a decoder could reproduce: it is as honest a score as the static one.

The loaded model is never changed: the function works on a deep copy, in float32 and eval mode
(no dropout). ``step=0`` scores like :func:`charlm.evaluate.char_bits` (to float rounding).
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import encode
from .errors import ConfigError, DataError, ModelError
from .evaluate import char_bits
from .model import check_finite

RMS_FLOOR = 0.1  # rms below this share of its tensor's mean rms is raised to it (see _grad_rms)


@dataclass(frozen=True)
class DynamicSettings:
    """The hyperparameters of dynamic evaluation.

    The defaults are what :func:`tune_dynamic`'s default grid chose for the ``best`` preset's
    model on the validation split (``benchmarks/bench_yardsticks.py --checkpoint best --tune``).
    """

    step: float = 3e-5  # step size, in units of the training gradients' rms
    decay: float = 1e-2  # pull towards the trained weights per step, scaled by rms / mean rms
    segment: int = 20  # characters scored before each step
    stat_streams: int = 20  # training-text streams (one batch) for the gradient statistics
    stat_chars: int = 1000  # characters read by each stream

    def __post_init__(self) -> None:
        _validate(self)

    def replace(self, **changes) -> DynamicSettings:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """The settings as a plain dict."""
        return asdict(self)


def _validate(s: DynamicSettings) -> None:
    if not (isinstance(s.step, (int, float)) and math.isfinite(s.step) and s.step >= 0):
        raise ConfigError(f"dynamic step must be a finite number >= 0, got {s.step!r}")
    if not (isinstance(s.decay, (int, float)) and math.isfinite(s.decay) and 0 <= s.decay <= 1):
        raise ConfigError(f"dynamic decay must be in [0, 1], got {s.decay!r}")
    for name in ("segment", "stat_streams", "stat_chars"):
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"dynamic {name} must be an integer >= 1, got {value!r}")


def _data(text: str | torch.Tensor, what: str) -> torch.Tensor:
    return encode(text, what=what) if isinstance(text, str) else text.long()


def _detach(state):
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(_detach(s) for s in state)


def _working_copy(model: nn.Module) -> nn.Module:
    """A float32, eval-mode deep copy of ``model`` (on its device), every weight trainable."""
    check_finite(model)
    work = copy.deepcopy(model).float().eval()
    for p in work.parameters():
        p.requires_grad_(True)
    return work


def grad_rms(model: nn.Module, train: str | torch.Tensor, segment: int, stat_streams: int = 20,
             stat_chars: int = 1000, threads: int | None = 1) -> list[torch.Tensor]:
    """Root mean square gradient of every parameter of ``model`` on the training text.

    ``stat_streams`` streams start evenly spaced through ``train`` and are read together (one
    batch) ``segment`` characters at a time for ``stat_chars`` characters, the state carried;
    each segment's mean cross-entropy gives one gradient, and the squares are averaged over the
    segments. Entries below ``RMS_FLOOR`` times their tensor's mean rms are raised to it, so a
    weight the statistics never moved (the embedding row of a character absent from them) cannot
    take a huge step. ``model`` is not changed (its gradients are not touched either).
    ``threads``: as for :func:`dynamic_char_bits`.
    """
    _validate(DynamicSettings(segment=segment, stat_streams=stat_streams, stat_chars=stat_chars))
    work = _working_copy(model)
    with torch_threads(threads):
        return _grad_rms(work, _data(train, "training text"), segment, stat_streams, stat_chars)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch threads (None: as set), restoring the setting afterwards."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ConfigError(f"threads must be an integer >= 1 (or None), got {threads!r}")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _grad_rms(work: nn.Module, train: torch.Tensor, segment: int, streams: int,
              chars: int) -> list[torch.Tensor]:
    stream_len = min(chars, len(train) // streams - 1)
    if stream_len < 1:
        raise ConfigError(f"the training text ({len(train)} characters) is too short for "
                          f"{streams} gradient-statistics streams")
    params = list(work.parameters())
    device = params[0].device
    starts = torch.arange(streams) * (len(train) // streams)
    rows = train[starts[:, None] + torch.arange(stream_len + 1)].to(device)  # (streams, len + 1)
    sq = [torch.zeros_like(p) for p in params]
    state, n = None, 0
    for start in range(0, stream_len, segment):
        stop = min(start + segment, stream_len)  # the last segment may be shorter
        x, y = rows[:, start:stop], rows[:, start + 1:stop + 1]
        logits, state = work(x, state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        for s, g in zip(sq, grads):
            if g is not None:
                s.add_(g * g)
        state, n = _detach(state), n + 1
    rms = [torch.sqrt(s / n) for s in sq]
    return [torch.clamp(r, min=max(float(r.mean()) * RMS_FLOOR, 1e-12)) for r in rms]


def dynamic_char_bits(model: nn.Module, text: str | torch.Tensor, train: str | torch.Tensor,
                      settings: DynamicSettings | None = None,
                      rms: Sequence[torch.Tensor] | None = None, threads: int | None = 1,
                      **overrides) -> np.ndarray:
    """-log2 p(character t | characters before t) under dynamic evaluation, t = 2..N (float64).

    The same N - 1 positions as :func:`charlm.evaluate.char_bits`, so ``bits.mean()`` is the BPC
    and :func:`charlm.evaluate.bits_interval` applies. ``settings`` (default
    :class:`DynamicSettings`) may be amended by keyword (``step=...``, ``decay=...``,
    ``segment=...``, ...). The gradient statistics come from ``train`` (the training text the
    model learnt from) unless ``rms`` passes ones already computed by :func:`grad_rms` for this
    model and segment length. ``model`` itself is never changed. Bad settings raise
    :class:`~charlm.errors.ConfigError`.

    ``threads`` torch threads run the loop (None: as set); the setting is restored afterwards.
    One is the default because a batch of one segment is too small to share: a second thread
    only adds synchronisation, and on a busy machine its spinning can slow the loop severalfold.
    """
    s = settings or DynamicSettings()
    if overrides:
        unknown = sorted(set(overrides) - set(s.to_dict()))
        if unknown:
            raise ConfigError(f"unknown dynamic-evaluation setting {unknown[0]!r}; known: "
                              f"{', '.join(s.to_dict())}")
        s = s.replace(**overrides)
    data = _data(text, "evaluation text")
    if len(data) < 2:
        raise DataError(f"BPC needs a text of at least 2 characters, got {len(data)}")
    work = _working_copy(model)
    params = list(work.parameters())
    keep: list[torch.Tensor] = []  # W <- keep * W + pull - gain * grad (empty: no adaptation)
    pull: list[torch.Tensor] = []
    gain: list[torch.Tensor] = []
    if s.step > 0:
        if rms is None:
            with torch_threads(threads):
                rms = _grad_rms(work, _data(train, "training text"), s.segment, s.stat_streams,
                                s.stat_chars)
        rate, gain = update_terms(params, rms, s)
        with torch.no_grad():
            keep = [1 - d for d in rate]
            pull = [d * p.detach() for d, p in zip(rate, params)]
    with torch_threads(threads):
        out = _score_and_adapt(work, data, s.segment, params, keep, pull, gain)
    bits = np.concatenate(out) / math.log(2)
    if not np.isfinite(bits).all():
        raise ModelError("dynamic evaluation gave non-finite scores (the step is too large)")
    return bits


def update_terms(params: Sequence[torch.Tensor], rms: Sequence[torch.Tensor],
                 settings: DynamicSettings) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``(rate, gain)`` per parameter: one step is ``W <- W + rate * (W0 - W) - gain * grad``.

    ``params`` are the trained weights W0 (in the order of ``model.parameters()``) and ``rms``
    their gradient statistics (:func:`grad_rms`). The decay rate per weight is
    ``decay * rms / mean_rms`` (capped at 1) and ``gain = step / rms``.
    """
    if len(rms) != len(params) or any(r.shape != p.shape for r, p in zip(rms, params)):
        raise ConfigError("the gradient statistics do not match the model's parameters")
    device = params[0].device
    mean_rms = sum(float(r.mean()) for r in rms) / len(rms)  # Krause: mean over tensors
    with torch.no_grad():
        rate = [torch.clamp(settings.decay * r.to(device) / mean_rms, max=1.0) for r in rms]
        gain = [settings.step / r.to(device) for r in rms]
    return rate, gain


def _score_and_adapt(work: nn.Module, data: torch.Tensor, segment: int,
                     params: list[torch.Tensor], keep: list[torch.Tensor],
                     pull: list[torch.Tensor], gain: list[torch.Tensor]) -> list[np.ndarray]:
    """The loop: score each segment, then (unless ``gain`` is empty) step on it. Nats per segment."""
    adapt = bool(gain)
    device = params[0].device
    inputs, targets = data[:-1].to(device), data[1:].to(device)
    out, state = [], None
    for start in range(0, len(inputs), segment):
        x = inputs[start:start + segment][None, :]
        y = targets[start:start + segment]
        with torch.set_grad_enabled(adapt):
            logits, state = work(x, state)
        # the score, taken before the step on this segment: float64 like char_bits
        out.append(F.cross_entropy(logits[0].detach().double(), y, reduction="none").cpu().numpy())
        if adapt:
            loss = F.cross_entropy(logits[0].float(), y)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
            with torch.no_grad():  # one multi-tensor op per term: W <- keep*W + pull - gain*grad
                torch._foreach_mul_(params, keep)
                torch._foreach_add_(params, pull)
                torch._foreach_addcmul_(params, gain, grads, value=-1.0)
        state = _detach(state)
    return out


@dataclass
class DynamicTuning:
    """The grid searched on the validation text and its outcome."""

    best: DynamicSettings
    best_bpc: float
    static_bpc: float
    grid: list[tuple[DynamicSettings, float]]  # every setting tried, with its validation BPC
    seconds: float

    def table(self) -> str:
        """The grid as a fixed-width text table, best first."""
        lines = [f"{'segment':>7}  {'step':>8}  {'decay':>8}  {'valid BPC':>9}",
                 f"{'static':>7}  {'':>8}  {'':>8}  {self.static_bpc:9.4f}"]
        for st, b in sorted(self.grid, key=lambda r: r[1]):
            lines.append(f"{st.segment:>7}  {st.step:8.2g}  {st.decay:8.2g}  {b:9.4f}")
        return "\n".join(lines)


def tune_dynamic(model: nn.Module, valid: str | torch.Tensor, train: str | torch.Tensor,
                 steps: Sequence[float] = (1.5e-5, 3e-5, 6e-5),
                 decays: Sequence[float] = (3e-3, 1e-2, 3e-2),
                 segments: Sequence[int] = (10, 20, 50),
                 base: DynamicSettings | None = None, threads: int | None = 1) -> DynamicTuning:
    """Choose (step, decay, segment) by validation BPC over a grid; never look at a test file.

    ``valid`` is the validation split (``charlm.data.split_corpus(encode(train_text), 0.05)``,
    the split the neural models were tuned on) and ``train`` its training part, for the
    gradient statistics. Every combination is scored on the whole of ``valid``; the statistics
    are gathered once per segment length. Returns the best settings, every grid point's BPC and
    the static BPC for comparison. ``model`` is not changed. ``threads``: as for
    :func:`dynamic_char_bits`.
    """
    base = base or DynamicSettings()
    if not steps or not decays or not segments:
        raise ConfigError("the dynamic-evaluation grid needs at least one step, decay and segment")
    start = time.perf_counter()
    valid_data, train_data = _data(valid, "validation text"), _data(train, "training text")
    with torch_threads(threads):
        static = float(char_bits(model, valid_data).mean())
    grid: list[tuple[DynamicSettings, float]] = []
    for segment in segments:
        seg_base = base.replace(segment=segment)
        rms = grad_rms(model, train_data, segment, seg_base.stat_streams, seg_base.stat_chars,
                       threads)
        for step, decay in itertools.product(steps, decays):
            st = seg_base.replace(step=step, decay=decay)
            try:
                b = float(dynamic_char_bits(model, valid_data, train_data, st, rms=rms,
                                            threads=threads).mean())
            except ModelError:
                b = math.inf  # diverged: the step is too large for this model
            grid.append((st, b))
    best, best_bpc = min(grid, key=lambda r: r[1])
    return DynamicTuning(best, best_bpc, static, grid, time.perf_counter() - start)
