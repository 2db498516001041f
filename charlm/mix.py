"""Mixing predictions: a log-linear mixer whose weights are learnt online.

Each input is a distribution over the 100 characters, given as natural-log probabilities
``L_i``. The mixture is ``p = softmax(sum_i w_i L_i)`` (a product of experts; Hinton, 2002;
the multi-symbol counterpart of the logistic mixing of paq8 and cmix). After the character
``s`` is known, the weights take one step of gradient descent on its code length ``-log p(s)``:

    w_i <- w_i + lr * (L_i(s) - sum_c p(c) L_i(c))

so an input gains weight when it gave the character more log-probability than the mixture
expected. Several weight vectors can be kept, one per small context (:data:`SELECTORS`),
and the step uses the one the current context selects: the mixer can learn, say, to trust
the match model when the match is long and the network when it is sure.

Everything is elementwise numpy in float64 (no BLAS call whose summation order could depend
on threads), so a decoder computes the very same numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .context_model import ContextSettings
from .errors import ConfigError

# What can choose the weight vector for a character, each with the edges of its buckets (a
# value at or above an edge moves one bucket up): the match model's length, the network's
# largest probability, the longest PPM order whose context has counts.
SELECTORS = {"match": (1, 12, 16, 24, 32), "confidence": (0.3, 0.5, 0.7, 0.85, 0.95),
             "order": (1, 2, 3, 4, 5, 6, 7, 8)}
INPUTS = ("network", "PPM", "match", "low PPM")  # the mixer's inputs, in order


@dataclass(frozen=True)
class MixSettings:
    """The mixer and the adaptive models it mixes with the network. The defaults were chosen
    on the validation split (``benchmarks/mix_search.py``, ``results/mix_search.csv``)."""

    context: ContextSettings = field(default_factory=ContextSettings)  # PPM and match model
    lr: float = 0.002  # the weights' learning rate (0.0005-0.008 tried on validation)
    weights_by: str = "match"  # what chooses the weights: "none" or SELECTORS joined by + (validation)
    init: tuple[float, ...] = (0.8, 0.4, 0.1, 0.0)  # starting weights of the INPUTS (validation)

    def __post_init__(self) -> None:
        if isinstance(self.context, dict):  # from a header or a settings file
            object.__setattr__(self, "context", ContextSettings(**self.context))
        if not isinstance(self.context, ContextSettings):
            raise ConfigError(f"mix context must be ContextSettings, got {self.context!r}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) \
                or not math.isfinite(self.lr) or self.lr < 0:
            raise ConfigError(f"mix lr must be a finite number >= 0, got {self.lr!r}")
        names = self.selectors()
        if not all(n in SELECTORS for n in names) or len(set(names)) < len(names):
            raise ConfigError(f"mix weights_by must be 'none' or some of "
                              f"{', '.join(SELECTORS)} joined by '+', got {self.weights_by!r}")
        init = tuple(self.init)
        if len(init) != len(INPUTS) or not all(
                not isinstance(w, bool) and isinstance(w, (int, float)) and math.isfinite(w)
                for w in init):
            raise ConfigError(f"mix init must be {len(INPUTS)} finite numbers "
                              f"({', '.join(INPUTS)}), got {self.init!r}")
        object.__setattr__(self, "init", tuple(float(w) for w in init))

    def replace(self, **changes) -> MixSettings:
        """A copy with ``changes`` applied; context fields may be given by name too."""
        ctx = {k: changes.pop(k) for k in list(changes) if k in ContextSettings.__dataclass_fields__}
        if ctx:
            changes["context"] = self.context.replace(**ctx)
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["init"] = list(self.init)
        return d

    def selectors(self) -> list[str]:
        """The names in ``weights_by`` (none for "none")."""
        return [] if self.weights_by == "none" else self.weights_by.split("+")

    def n_weight_sets(self) -> int:
        return math.prod(len(SELECTORS[n]) + 1 for n in self.selectors())


def weight_set(settings: MixSettings, match: int = 0, confidence: float = 0.0,
               order: int = 0) -> int:
    """The index of the weight vector for this character: the buckets of the selectors in
    ``settings.weights_by`` (see :data:`SELECTORS`) as the digits of one number."""
    values = {"match": match, "confidence": confidence, "order": order}
    index = 0
    for name in settings.selectors():
        edges = SELECTORS[name]
        index = index * (len(edges) + 1) + sum(values[name] >= e for e in edges)
    return index


class Mixer:
    """Log-linear mixing with weights learnt online (see the module docstring).

    :meth:`mix` gives the mixture of one step; :meth:`learn` then takes the weights' step
    with the character that came.
    """

    def __init__(self, settings: MixSettings) -> None:
        self.settings = settings
        self.weights = np.tile(np.array(settings.init, dtype=np.float64),
                               (settings.n_weight_sets(), 1))
        self._inputs: np.ndarray | None = None
        self._set = 0
        self._p: np.ndarray | None = None

    def mix(self, log_probs: np.ndarray, weight_set: int = 0) -> np.ndarray:
        """The mixture of ``log_probs`` (shape (inputs, V)) under weight vector ``weight_set``,
        as float64 probabilities summing to 1."""
        z = (self.weights[weight_set][:, None] * log_probs).sum(axis=0)
        z -= z.max()
        p = np.exp(z)
        p /= p.sum()
        self._inputs, self._set, self._p = log_probs, weight_set, p
        return p

    def learn(self, symbol: int) -> None:
        """One gradient step of the weights used by the last :meth:`mix` on ``-log p(symbol)``."""
        if self._inputs is None:
            raise ValueError("mix before learning")
        expected = (self._inputs * self._p).sum(axis=1)
        self.weights[self._set] += self.settings.lr * (self._inputs[:, symbol] - expected)
        self._inputs = None
