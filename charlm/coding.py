"""The code length of a text: the one step-wise predictor that the coder and the scores share.

:class:`Predictor` gives the distribution of the next character from the characters before
it, one character at a time. It is the network read step by step (:mod:`charlm.stepwise`),
with dynamic evaluation if asked, and, with ``mix``, the network mixed online
(:mod:`charlm.mix`) with a PPM model and a match model of the training text and the text read
so far (:mod:`charlm.context_model`). :func:`code_lengths` runs it over a text and returns
``-log2 p`` of each character: the same numbers the range coder of :mod:`charlm.codec` codes
(``bpc --mix``, ``compress --mix`` and the report all call these two).

Every distribution passes through :func:`floored`: in float64, each probability at least
:data:`FLOOR`, summing to 1. So no character can have probability zero, and the coder and the
decoder quantise the very same numbers.

The first character of a text has nothing before it; it costs log2(100) bits (uniform), and
:func:`code_lengths` scores characters 2..N, the same N - 1 positions as
:func:`charlm.evaluate.char_bits`, so the mixed BPC compares exactly with the static and
dynamic ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .config import TrainConfig
from .context_model import PPM, MatchModel, as_indices
from .corpora import corpus
from .data import VOCAB_SIZE, encode_compact, split_corpus
from .dynamic import DynamicSettings, grad_rms, torch_threads
from .errors import ConfigError, DataError
from .machine import two_cores_free
from .mix import INPUTS, Mixer, MixSettings, weight_set
from .progress import progress_enabled
from .stepwise import stepper

V = VOCAB_SIZE
FLOOR = 2.0 ** -24  # the least probability of any character, before renormalising
FIRST_CHAR_BITS = math.log2(V)  # the first character of a text is coded uniformly
# Dynamic evaluation when coding: the defaults of charlm.dynamic but for the segment, whose
# gradient steps cost the most time; 50 instead of 20 was within 0.003 BPC on the validation
# split with the mixer (benchmarks/mix_search.py, stage 6), and codes about a fifth faster.
CODER_DYNAMIC = DynamicSettings(segment=50)
PROGRESS_FROM = 20_000  # characters: longer texts show a progress bar


@dataclass(frozen=True)
class CodingSettings:
    """What predicts each character: the network, with ``dynamic`` evaluation if given, mixed
    with the adaptive models if ``mix`` is given (static: neither)."""

    dynamic: DynamicSettings | None = None
    mix: MixSettings | None = None

    def __post_init__(self) -> None:
        if self.dynamic is not None and not isinstance(self.dynamic, DynamicSettings):
            raise ConfigError(f"dynamic must be DynamicSettings or None, got {self.dynamic!r}")
        if self.mix is not None and not isinstance(self.mix, MixSettings):
            raise ConfigError(f"mix must be MixSettings or None, got {self.mix!r}")

    @property
    def name(self) -> str:
        """``static``, ``dynamic``, ``mix`` or ``dynamic+mix``."""
        parts = [n for n, s in (("dynamic", self.dynamic), ("mix", self.mix)) if s is not None]
        return "+".join(parts) or "static"

    @property
    def needs_train(self) -> bool:
        """Whether the training text is needed (gradient statistics, context counts)."""
        return self.dynamic is not None or self.mix is not None

    def to_dict(self) -> dict:
        return {"dynamic": None if self.dynamic is None else self.dynamic.to_dict(),
                "mix": None if self.mix is None else self.mix.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> CodingSettings:
        dyn, mix = d.get("dynamic"), d.get("mix")
        return cls(None if dyn is None else DynamicSettings(**dyn),
                   None if mix is None else MixSettings(**mix))


def floored(p: np.ndarray) -> np.ndarray:
    """``p`` in float64 with every entry at least :data:`FLOOR`, renormalised to sum to 1."""
    q = np.maximum(np.asarray(p, dtype=np.float64), FLOOR)
    return q / q.sum()


class Predictor:
    """The distribution of each next character, one character at a time (see the module).

    ``train``: the text the model learnt from (its training split; indices or text), for the
    gradient statistics of dynamic evaluation and the counts of the context models; ``rms``:
    gradient statistics already computed by :func:`~charlm.dynamic.grad_rms` for this model
    and segment. Call :meth:`start` with the first character, then alternately
    :meth:`distribution` and :meth:`update` with the character that came. Run it with a fixed
    torch thread count (:func:`coding_threads`; the codec records it): the decoder must use the
    encoder's.
    """

    def __init__(self, model: nn.Module, train, settings: CodingSettings,
                 rms: Sequence[torch.Tensor] | None = None) -> None:
        self.settings = settings
        dyn, mix = settings.dynamic, settings.mix
        train_ids = None
        if settings.needs_train:
            if train is None:
                raise ConfigError(f"{settings.name} coding needs the training text")
            train_ids = as_indices(train if not isinstance(train, str)
                                   else encode_compact(train, "training text"))
        if dyn is not None and dyn.step > 0 and rms is None:
            rms = grad_rms(model, torch.from_numpy(train_ids), dyn.segment, dyn.stat_streams,
                           dyn.stat_chars, threads=torch.get_num_threads())
        network = stepper(model, dyn, rms)
        self.mixer = Mixer(mix) if mix is not None else None
        self.ppm = PPM(train_ids, mix.context) if mix is not None else None
        self.match = (MatchModel(train_ids, mix.context.match_min)
                      if mix is not None and mix.context.match_min else None)
        self.network = network
        self._net: np.ndarray | None = None  # the network's log-probabilities for this step
        self._context: tuple = ()  # the context models' inputs for this step (mix_step's)
        self._started = False

    def start(self, first: int) -> None:
        """Read the first character (it has no prediction)."""
        self._started = True
        self._read(first)

    def distribution(self) -> np.ndarray:
        """P(next character | every character read), float64 of shape (V,), floored."""
        if not self._started:
            raise ValueError("start the predictor with the first character")
        if self._net is None:
            self._net = self.network.log_probs()
        if self.mixer is None:
            return floored(np.exp(self._net))
        return mix_step(self.mixer, self._net, *self._context)

    def update(self, symbol: int) -> None:
        """The character that came: every model learns it."""
        if self.mixer is not None:
            self.mixer.learn(symbol)
        self._read(symbol)

    def _read(self, symbol: int) -> None:
        self._net = None
        self.network.push(symbol)
        if self.mixer is None:
            return
        self.ppm.update(symbol)
        low = self.mixer.settings.context.low_order
        match, length = None, 0
        if self.match is not None:
            self.match.update(symbol)
            match, length = self.match.distribution(), self.match.prediction()[1]
        self._context = (self.ppm.distribution(), self.ppm.distribution(low) if low else None,
                         match, length, self.ppm.order_found)


def mix_step(mixer: Mixer, network: np.ndarray, ppm: np.ndarray, low: np.ndarray | None,
             match: np.ndarray | None, match_length: int, order: int) -> np.ndarray:
    """One character's mixture, floored, from the inputs of :data:`~charlm.mix.INPUTS`: the
    network's log-probabilities, the probabilities of the PPM model, of the low-order PPM and
    of the match model (None: not used); the match length, the network's confidence and the
    PPM's longest order found choose the weights (:func:`~charlm.mix.weight_set`)."""
    rows = np.zeros((len(INPUTS), V))  # an input not used stays a constant row: ignored
    rows[0] = network
    np.log(ppm, out=rows[1])
    if match is not None:
        np.log(match, out=rows[2])
    if low is not None:
        np.log(low, out=rows[3])
    chosen = weight_set(mixer.settings, match_length, math.exp(network.max()), order)
    return floored(mixer.mix(rows, chosen))


def training_text(config: TrainConfig) -> torch.Tensor:
    """The text a model with this config learnt from: its corpus less the validation split.
    The gradient statistics of dynamic evaluation and the context models' counts come from it."""
    train, _ = split_corpus(corpus(config.corpus), config.valid_frac)
    return train


def text_indices(text) -> np.ndarray:
    """``text`` (a string in the vocabulary, a tensor or array of indices) as int64 indices.

    A string is checked as it is, not transliterated: a coder must give back what it was given.
    """
    if isinstance(text, str):
        return encode_compact(text, "text", transliterate=False).astype(np.int64)
    if isinstance(text, torch.Tensor):
        text = text.numpy()
    return as_indices(text)


def code_lengths(model: nn.Module, text, train, settings: CodingSettings | None = None,
                 rms: Sequence[torch.Tensor] | None = None,
                 progress: bool | None = None, threads: int | None = None) -> np.ndarray:
    """``-log2 p(character t | characters before t)`` for t = 2..N under ``settings``.

    The bits the coder of :mod:`charlm.codec` codes for each character after the first (which
    costs :data:`FIRST_CHAR_BITS`). ``train``: the text the model learnt from (needed for
    dynamic evaluation and mixing). ``model`` is not changed. Runs with ``threads`` torch
    threads (default :func:`coding_threads`).
    """
    settings = settings or CodingSettings()
    data = text_indices(text)
    if len(data) < 2:
        raise DataError(f"BPC needs a text of at least 2 characters, got {len(data)}")
    bits = np.empty(len(data) - 1)
    with torch_threads(threads or coding_threads()):
        predictor = Predictor(model, train, settings, rms)
        predictor.start(int(data[0]))
        for t, symbol in enumerate(progress_bar(data[1:].tolist(), progress, "bits")):
            bits[t] = -math.log2(predictor.distribution()[symbol])
            predictor.update(symbol)
    return bits


def coding_threads() -> int:
    """Torch threads to code with: two when two cores are free (the load average leaves them),
    else one. Two split each layer's matrix-vector product, and each core then keeps its halves
    of both layers' weights in its own cache (2 MB per core here; the best model's 4 MB do not
    fit one): dynamic+mix coding ran about a quarter faster on an idle 2-core machine, with the
    same bits. Next to a busy process a second thread would spin and wait many times over (see
    :func:`charlm.machine.choose_threads`), so then one."""
    return 2 if two_cores_free() else 1


def progress_bar(items: list, progress: bool | None, desc: str):
    """``items`` with a progress bar when there are many and bars are on."""
    return tqdm(items, unit="char", unit_scale=True, desc=desc, leave=False,
                disable=not (len(items) >= PROGRESS_FROM and progress_enabled(progress)))
