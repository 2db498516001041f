"""Adaptive context models of the text being coded: PPM over orders 0..k, and a match model.

Both start from the training text and learn from the text being coded as they read it: after
a character is coded (or scored), :meth:`update` adds it to their counts. Each prediction
depends only on the training text and the characters before it, so the code length it gives
is honest, and a decoder that has decoded those characters computes the same prediction.

- :class:`PPM`: prediction by partial matching with full exclusion (Cleary & Witten, 1984;
  Moffat, 1990). The longest context of at most ``max_order`` characters that was seen
  predicts from its counts; the escape probability passes the rest of the mass to the next
  shorter context, which predicts only the characters the longer ones did not (exclusion),
  down to order 0 and a uniform order -1. With ``n`` the context's count, ``q`` the number of
  distinct characters it has seen and ``c`` a character's count::

      P(c) = (c - discount) / (n + escape * q),  P(escape) = (discount + escape) * q / (n + escape * q)

  ``escape=1, discount=0`` is PPMC (Witten-Bell's escape); ``escape=0, discount=0.5`` is
  PPMD. Characters of the coded text count ``online_weight`` each (training characters 1),
  so recent text can weigh more than the training text.
- :class:`MatchModel`: finds the last earlier occurrence (in the training text, then the coded
  text) of the last ``min_len`` characters and predicts the character that followed it; while
  its predictions come true the match grows. How far it is trusted is learnt per length
  (:func:`match_bucket`; hits and misses counted while coding).

Speed: the counts of the training text are built once with numpy (sorted keys, about a second
for 1 MB at order 8). The counts of every context met while coding are copied into one row of
a float32 table, so a step gathers its ``max_order + 1`` rows with one index and updates them
with one more. Memory: 400 bytes per distinct context met (about 70 MB for 180,000 characters
at order 6).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from .data import VOCAB_SIZE
from .errors import ConfigError, DataError

V = VOCAB_SIZE
MAX_ORDER = 8  # a context key of 8 characters is below 100**8 = 1e16 < 2**63
MAX_MATCH = 64  # longest match length the match model counts (longer ones count as this)


def match_bucket(length: int) -> int:
    """The bucket of a match length whose hits and misses are counted together: each length
    up to 15, then one bucket per 8 lengths (16-23, 24-31, ...), up to MAX_MATCH."""
    return length if length < 16 else 16 + (length - 16) // 8


@dataclass(frozen=True)
class ContextSettings:
    """The settings of the adaptive models (see the module docstring for what each does).

    The defaults were chosen on the validation split, mixed with the network
    (``benchmarks/mix_search.py``, ``results/mix_search.csv``).
    """

    max_order: int = 6  # longest PPM context, in characters (4-8 tried on validation)
    escape: float = 0.0  # escape weight per distinct character seen (PPMC: 1, PPMD: 0; validation)
    discount: float = 0.5  # subtracted from each count (PPMD: 0.5; chosen on validation)
    online_weight: float = 2.0  # what a character of the coded text counts (training: 1; validation)
    match_min: int = 8  # characters the match model looks up (0: none; 5-8 tried on validation)
    low_order: int = 1  # a second PPM input using orders up to this only (0: none; validation)

    def __post_init__(self) -> None:
        if isinstance(self.max_order, bool) or not isinstance(self.max_order, int) \
                or not 0 <= self.max_order <= MAX_ORDER:
            raise ConfigError(f"max_order must be an integer from 0 to {MAX_ORDER}, "
                              f"got {self.max_order!r}")
        for name, low in (("escape", 0.0), ("discount", 0.0)):
            value = getattr(self, name)
            if not _number(value) or value < low:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.discount >= 1:
            raise ConfigError(f"discount must be below 1 (a count of 1 must keep some "
                              f"probability), got {self.discount!r}")
        if self.escape + self.discount <= 0:
            raise ConfigError("escape + discount must be > 0, or a context that has seen "
                              "some characters could never code a new one")
        if not _number(self.online_weight) or self.online_weight <= 0:
            raise ConfigError(f"online_weight must be a finite number > 0, "
                              f"got {self.online_weight!r}")
        if isinstance(self.match_min, bool) or not isinstance(self.match_min, int) \
                or not (self.match_min == 0 or 2 <= self.match_min <= MAX_ORDER):
            raise ConfigError(f"match_min must be 0 (off) or an integer from 2 to {MAX_ORDER}, "
                              f"got {self.match_min!r}")

        if isinstance(self.low_order, bool) or not isinstance(self.low_order, int) \
                or not 0 <= self.low_order < max(self.max_order, 1):
            raise ConfigError(f"low_order must be 0 (none) or an integer below max_order "
                              f"({self.max_order}), got {self.low_order!r}")

    def replace(self, **changes) -> ContextSettings:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


def _number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def as_indices(data) -> np.ndarray:
    """``data`` (a sequence of vocabulary indices: numpy, a tensor, a list) as int64 numpy."""
    out = np.asarray(data, dtype=np.int64)
    if out.ndim != 1 or (len(out) and (out.min() < 0 or out.max() >= V)):
        raise DataError(f"expected a 1-d sequence of vocabulary indices 0..{V - 1}")
    return out


def gram_keys(data: np.ndarray, k: int) -> np.ndarray:
    """The k-grams of ``data`` as integers (base-100 digits, oldest first), one per position."""
    n = len(data) - k + 1
    key = np.zeros(max(n, 0), dtype=np.int64)
    for i in range(k):
        key = key * V + data[i:i + n]
    return key


class _Counts:
    """The training text's counts of one order: the successors of each context, sorted."""

    def __init__(self, train: np.ndarray, k: int) -> None:
        pairs, counts = np.unique(gram_keys(train, k + 1), return_counts=True)
        ctx = pairs // V
        self.keys, first = np.unique(ctx, return_index=True)
        self.starts = np.append(first, len(pairs))
        self.symbols = pairs % V
        self.counts = counts.astype(np.float32)

    def fill(self, row: np.ndarray, key: int) -> None:
        """Write the counts of context ``key`` (if it was seen) into ``row``."""
        i = int(np.searchsorted(self.keys, key))
        if i < len(self.keys) and self.keys[i] == key:
            a, b = self.starts[i], self.starts[i + 1]
            row[self.symbols[a:b]] = self.counts[a:b]


class PPM:
    """PPM with full exclusion over orders 0..``max_order`` (see the module docstring).

    Call :meth:`distribution` for the next character, then :meth:`update` with the character
    that came. The history starts empty: the first characters use the orders their history
    allows.
    """

    def __init__(self, train, settings: ContextSettings | None = None) -> None:
        s = settings or ContextSettings()
        train = as_indices(train)
        self.order = s.max_order
        self.escape, self.discount, self.weight = s.escape, s.discount, s.online_weight
        self._tables = [_Counts(train, k) for k in range(1, self.order + 1)]
        self._index: list[dict[int, int]] = [{} for _ in range(self.order)]
        self._pool = np.zeros((1024, V), dtype=np.float32)  # row 0: order 0
        self._pool[0] = np.bincount(train, minlength=V)
        self._n_rows = 1
        self._powers = [V ** k for k in range(self.order + 1)]
        self._history = 0  # the last `order` characters as base-100 digits
        self._seen = 0  # how many characters of history there are (capped at `order`)
        self._rows: list[int] | None = None  # the rows of the current contexts, orders 0..
        self._gathered: tuple[np.ndarray, np.ndarray] | None = None  # see _counts

    def _new_row(self, k: int, key: int) -> int:
        """A row for context ``key`` of order ``k``, holding its training counts."""
        if self._n_rows == len(self._pool):
            self._pool = np.concatenate([self._pool, np.zeros_like(self._pool)])
        row = self._n_rows
        self._n_rows += 1
        self._tables[k - 1].fill(self._pool[row], key)
        self._index[k - 1][key] = row
        return row

    def _current_rows(self) -> list[int]:
        if self._rows is None:
            rows, history = [0], self._history
            for k in range(1, self._seen + 1):
                key = history % self._powers[k]
                row = self._index[k - 1].get(key)
                rows.append(self._new_row(k, key) if row is None else row)
            self._rows = rows
        return self._rows

    def _counts(self) -> tuple[np.ndarray, np.ndarray]:
        """The counts of the current contexts that have any, order 0 first, in float64, and
        which characters order 0 has never seen (computed once per step)."""
        if self._gathered is None:
            rows = self._current_rows()  # first: it may grow the pool
            counts = self._pool[rows].astype(np.float64)
            # contexts nest, so the orders that have counts are the first few: keep those
            self._gathered = counts[:np.count_nonzero(counts.sum(axis=1))], counts[0] == 0
        return self._gathered

    @property
    def order_found(self) -> int:
        """The longest order whose context has counts (0: only order 0)."""
        return len(self._counts()[0]) - 1

    def distribution(self, top: int | None = None) -> np.ndarray:
        """P(next character | the history), float64 of shape (100,), summing to 1.

        ``top``: use orders up to ``top`` only (default ``max_order``), the distribution of
        a PPM model of that order sharing these counts.
        """
        counts, never = self._counts()
        counts = counts[:None if top is None else top + 1].copy()
        # exclusion: a shorter context does not predict what the next longer one has seen
        # (which is everything any longer one has seen)
        counts[:-1] *= counts[1:] == 0
        seen = counts > 0
        n = counts.sum(axis=1)
        q = seen.sum(axis=1)
        empty = q == 0  # every character this context has seen was excluded: escape at once
        denom = n + self.escape * q + empty
        escape = ((self.discount + self.escape) * q + empty) / denom  # > 0
        # the mass that reaches order j is the product of the escapes of the longer orders
        reach = np.cumprod(escape[::-1])[::-1]
        if self.discount:
            counts -= self.discount * seen
        p = (counts * (reach / escape / denom)[:, None]).sum(axis=0)
        p += never * (reach[0] / max(np.count_nonzero(never), 1))  # order -1
        return p / p.sum()

    def update(self, symbol: int) -> None:
        """Count ``symbol`` in every current context, then move the history on."""
        rows = self._current_rows()
        self._pool[rows, symbol] += self.weight
        self._history = (self._history * V + int(symbol)) % self._powers[-1]
        self._seen = min(self._seen + 1, self.order)
        self._rows = self._gathered = None


class MatchModel:
    """Predicts the character that followed the last occurrence of the current context.

    The history is the training text followed by the coded text. ``min_len`` characters are
    looked up (in the coded text first: it is more recent); while predictions come true the
    match grows by one per character, and a miss ends it (the next step looks up again).
    :meth:`prediction` gives the predicted character and the match length (0: none).
    :meth:`distribution` turns that into probabilities: the predicted character gets the share
    of hits seen so far at that length, the others share the rest.
    """

    def __init__(self, train, min_len: int = 8) -> None:
        train = as_indices(train)
        if not 2 <= min_len <= MAX_ORDER:
            raise ConfigError(f"match min_len must be from 2 to {MAX_ORDER}, got {min_len!r}")
        self.min_len = min_len
        self._text = bytearray(train.astype(np.uint8).tobytes())
        keys = gram_keys(train, min_len)[:-1]  # the last one's successor is not known
        # the last occurrence of each key: np.unique on the reversed keys finds the first
        last, first_rev = np.unique(keys[::-1], return_index=True)
        self._train_keys = last
        self._train_next = (len(keys) - 1 - first_rev) + min_len  # the position after the key
        self._recent: dict[int, int] = {}  # the same for the coded text (it wins: more recent)
        self._key = 0  # the last min_len coded characters as base-100 digits
        self._known = 0  # how many of them there are (the key starts with the coded text)
        self._ptr = -1  # position in the history of the predicted character (-1: none)
        self._len = 0
        self._hits = np.ones(match_bucket(MAX_MATCH) + 1)  # per bucket: hits + 1, trials + 2
        self._trials = np.full(match_bucket(MAX_MATCH) + 1, 2.0)

    def prediction(self) -> tuple[int, int]:
        """(predicted character, match length); length 0 means no prediction."""
        if self._ptr < 0:
            return 0, 0
        return self._text[self._ptr], self._len

    def distribution(self) -> np.ndarray:
        """P(next character) in float64 (uniform when there is no match)."""
        symbol, length = self.prediction()
        if not length:
            return np.full(V, 1.0 / V)
        hit = self._hits[match_bucket(length)] / self._trials[match_bucket(length)]
        p = np.full(V, (1.0 - hit) / (V - 1))
        p[symbol] = hit
        return p

    def update(self, symbol: int) -> None:
        """Learn whether the prediction came true, append ``symbol``, find the next match."""
        symbol = int(symbol)
        predicted, length = self.prediction()
        if length:
            self._trials[match_bucket(length)] += 1
            if predicted == symbol:
                self._hits[match_bucket(length)] += 1
                self._ptr += 1
                self._len = min(self._len + 1, MAX_MATCH)
            else:
                self._ptr, self._len = -1, 0
        self._text.append(symbol)
        self._key = (self._key * V + symbol) % V ** self.min_len
        self._known = min(self._known + 1, self.min_len)
        if self._ptr < 0:
            self._find()  # before this occurrence is recorded, so it finds an earlier one
        if self._known == self.min_len:
            self._recent[self._key] = len(self._text)

    def _find(self) -> None:
        """Look up the last occurrence of the last ``min_len`` characters before the current one."""
        if self._known < self.min_len:
            return
        ptr = self._recent.get(self._key)
        if ptr is None:
            i = int(np.searchsorted(self._train_keys, self._key))
            if i < len(self._train_keys) and self._train_keys[i] == self._key:
                ptr = int(self._train_next[i])
        if ptr is None:
            return
        # the match length: how far back the two contexts agree (at least min_len)
        text, end, length = self._text, len(self._text), self.min_len
        while length < MAX_MATCH and ptr - length > 0 and \
                text[ptr - length - 1] == text[end - length - 1]:
            length += 1
        self._ptr, self._len = ptr, length
