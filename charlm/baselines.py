"""Yardsticks from outside the model: how good is a bit per character?

Every yardstick is scored in bits per character (BPC) on a test text and knows at most the same
training text. Three kinds:

- **knows nothing**: the uniform guess over the 100-symbol vocabulary, exactly log2(100);
- **knows the training text**: the unigram of the training text (add-one smoothing over the
  vocabulary) and character n-grams with interpolated modified Kneser-Ney smoothing (Chen &
  Goodman, 1999), the order chosen on the validation split;
- **knows the training text and adapts to the test text as it reads it**: general-purpose
  compressors, whose cost of a test text is the conditional code length
  ``8 * (len(C(train + test)) - len(C(train)))`` bits (Mahoney's method for enwik8): zlib
  level 9, bz2 level 9, lzma preset 9 | PRESET_EXTREME, and PPMd (``pyppmd.Ppmd7Encoder``,
  the 7-Zip variant H, 256 MB of model memory) of orders 4, 6 and 8. A compressor knows the
  training text only as far as it reaches back (:data:`REACH`): zlib's window is 32 KB and
  bz2 compresses blocks of 900 KB independently, so on a longer training text they know only
  its end (:data:`END_ADAPTS`, :func:`compressor_knows`).

The ladder (:data:`LADDER_COMPRESSORS`, ``Yardstick.on_ladder``) holds one setting of each
kind, fixed without looking at a test file: the n-gram of the order chosen on validation, and
each compressor at its strongest preset, PPMd at 7-Zip's default order 6. The other n-gram
orders and PPMd orders are kept for the appendix's table.

The models with per-character bits (uniform, unigram, n-grams) score characters 2..N of a test
text of N characters given the characters before them, exactly the N - 1 positions that
:func:`charlm.evaluate.char_bits` scores, so their means compare exactly with a neural model's
BPC and :func:`charlm.evaluate.bits_interval` applies. A compressor codes every character of
the file, the first included; its BPC is that code length divided by N. The one extra
character changes a BPC by at most a few bits over N.
"""

from __future__ import annotations

import bz2
import lzma
import math
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyppmd
import torch

from .data import VOCAB_SIZE, encode, split_corpus
from .errors import ConfigError, DataError
from .evaluate import bits_interval

V = VOCAB_SIZE
MAX_ORDER = 9  # a 9-gram's key is below 100**9 = 1e18 < 2**63, so it fits an int64 exactly
VALID_FRAC = 0.05  # the validation split the neural models are tuned on (charlm.presets)

NOTHING = "nothing"
TRAINING = "the training text"
ADAPTS = "the training text, and adapts to the test text as it reads it"
END_ADAPTS = "only the end of the training text, and adapts to the test text as it reads it"
# The same, short: a table's column and the ladder's legend.
KNOWS_SHORT = {NOTHING: "nothing", TRAINING: "training text", END_ADAPTS: "end of training text, adapts",
               ADAPTS: "training text, adapts"}


def _indices(text: str | torch.Tensor | np.ndarray, what: str = "text") -> np.ndarray:
    """Vocabulary indices of ``text`` as an int64 numpy array."""
    if isinstance(text, str):
        return encode(text, what).numpy()
    if isinstance(text, torch.Tensor):
        return text.numpy().astype(np.int64, copy=False)
    return np.asarray(text, dtype=np.int64)


def _check_scorable(data: np.ndarray) -> None:
    if len(data) < 2:
        raise DataError(f"BPC needs a text of at least 2 characters, got {len(data)}")


# ---------------------------------------------------------------------------------------------
# Uniform and unigram


def uniform_char_bits(text: str | torch.Tensor) -> np.ndarray:
    """log2(100) bits for each of characters 2..N: the guess that knows nothing."""
    data = _indices(text, "evaluation text")
    _check_scorable(data)
    return np.full(len(data) - 1, math.log2(V))


def unigram_char_bits(train: str | torch.Tensor, text: str | torch.Tensor) -> np.ndarray:
    """-log2 p(character) for characters 2..N under the training text's unigram.

    p(c) = (count of c in the training text + 1) / (training length + 100): add-one smoothing
    over the vocabulary, so a character never seen in training still has p > 0.
    """
    counts = np.bincount(_indices(train, "training text"), minlength=V).astype(float)
    probs = (counts + 1) / (counts.sum() + V)
    data = _indices(text, "evaluation text")
    _check_scorable(data)
    return -np.log2(probs[data[1:]])


# ---------------------------------------------------------------------------------------------
# Kneser-Ney n-grams


def ngram_keys(data: np.ndarray, k: int) -> np.ndarray:
    """Integer keys of every k-gram of ``data``: the k indices as base-100 digits, oldest first.

    Big-endian digits make a k-gram's context (its first k - 1 characters) ``key // 100`` and
    keep all k-grams of one context next to each other once the keys are sorted.
    """
    n = len(data) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    for i in range(k):
        key = key * V + data[i:i + n]
    return key


def modified_discounts(counts: np.ndarray) -> np.ndarray:
    """Chen & Goodman's three discounts ``[0, D1, D2, D3+]`` from the counts of counts.

    With n_r the number of n-grams seen exactly r times and Y = n1 / (n1 + 2 n2):
    D1 = 1 - 2Y n2/n1, D2 = 2 - 3Y n3/n2, D3+ = 3 - 4Y n4/n3. Where a tiny text leaves a
    formula undefined the discount falls back to Y (or 0.5); each is then clipped to
    [0.01, r], so every discounted count stays >= 0 and every back-off weight is > 0.
    """
    n = np.bincount(np.minimum(counts, 5), minlength=6).astype(float)
    n1, n2, n3, n4 = n[1], n[2], n[3], n[4]
    y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.5
    raw = [1 - 2 * y * n2 / n1 if n1 > 0 else y,
           2 - 3 * y * n3 / n2 if n2 > 0 else y,
           3 - 4 * y * n4 / n3 if n3 > 0 else y]
    return np.array([0.0] + [float(np.clip(d, 0.01, r)) for r, d in enumerate(raw, start=1)])


@dataclass
class _Level:
    """The counts of one order (raw counts, or continuation counts) and their contexts."""

    keys: np.ndarray  # sorted k-gram keys
    counts: np.ndarray  # their counts (> 0)
    discounts: np.ndarray  # [0, D1, D2, D3+], indexed by min(count, 3)
    ctx_keys: np.ndarray  # sorted keys of the contexts (key // V) that occur
    ctx_total: np.ndarray  # sum of the counts of each context's k-grams
    ctx_gamma: np.ndarray  # back-off weight of each context: sum of its discounts / total

    @classmethod
    def build(cls, keys: np.ndarray, counts: np.ndarray, discount: float | None) -> _Level:
        if discount is None:
            d = modified_discounts(counts)
        else:
            d = np.array([0.0] + [min(discount, r) for r in (1, 2, 3)])
        if not len(keys):
            empty = np.zeros(0, dtype=np.int64)
            return cls(keys, counts, d, empty, empty, np.zeros(0))
        ctx = keys // V
        starts = np.flatnonzero(np.r_[True, ctx[1:] != ctx[:-1]])
        total = np.add.reduceat(counts, starts)
        gamma = np.add.reduceat(d[np.minimum(counts, 3)], starts) / total
        return cls(keys, counts, d, ctx[starts], total, gamma)

    def weights(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(alpha, gamma)`` per queried k-gram: P = alpha + gamma * P(lower order).

        alpha = max(c - D(c), 0) / total(context); gamma the context's back-off weight. An
        unseen context passes everything to the lower order (alpha 0, gamma 1).
        """
        alpha, gamma = np.zeros(len(query)), np.ones(len(query))
        if not len(self.keys):
            return alpha, gamma
        ctx = query // V
        ci = np.minimum(np.searchsorted(self.ctx_keys, ctx), len(self.ctx_keys) - 1)
        seen_ctx = self.ctx_keys[ci] == ctx
        ki = np.minimum(np.searchsorted(self.keys, query), len(self.keys) - 1)
        c = np.where(self.keys[ki] == query, self.counts[ki], 0)
        direct = np.maximum(c - self.discounts[np.minimum(c, 3)], 0) / self.ctx_total[ci]
        return np.where(seen_ctx, direct, 0.0), np.where(seen_ctx, self.ctx_gamma[ci], 1.0)


class KneserNey:
    """Character n-grams of every order 1..``max_order`` with interpolated Kneser-Ney smoothing.

    Order n predicts a character from the n - 1 before it. Interpolated KN (Chen & Goodman,
    1999): ``P_n(w | h) = max(c(hw) - D(c), 0) / c(h.) + gamma(h) P_{n-1}(w | h')`` with h' the
    history minus its oldest character and gamma(h) the mass the discounts freed. The order
    asked for uses raw counts; every lower order uses continuation counts (the number of
    distinct characters seen before hw); order 0 is the uniform distribution over the 100
    symbols, so every probability is > 0 and every context's distribution sums to 1. An unseen
    context backs off whole to the lower order.

    ``discount=None`` gives modified KN: three discounts per order and kind of count (for counts
    1, 2 and 3+) from the counts of counts (:func:`modified_discounts`). A number gives plain
    interpolated KN with that one discount everywhere (clipped to the count).

    The first characters of a text have fewer than n - 1 characters before them; they are
    scored by the highest order their history allows (the order-n model of the second character
    is the order-2 model).

    Counts are numpy arrays of sorted integer keys (:func:`ngram_keys`), looked up with
    ``searchsorted``; the models of all orders share the lower-order tables and are scored in
    one pass.
    """

    def __init__(self, train: str | torch.Tensor | np.ndarray, max_order: int = 8,
                 discount: float | None = None) -> None:
        if not isinstance(max_order, (int, np.integer)) or not 1 <= max_order <= MAX_ORDER:
            raise ConfigError(f"max_order must be an integer from 1 to {MAX_ORDER}, got {max_order!r}")
        if discount is not None and not (math.isfinite(discount) and 0 < discount <= 1):
            raise ConfigError(f"discount must be in (0, 1] (or None for modified KN), got {discount!r}")
        data = _indices(train, "training text")
        if len(data) < 1:
            raise DataError("the n-gram model needs a non-empty training text")
        self.max_order = max_order
        self.raw: list[_Level] = []  # raw[k - 1]: raw counts of k-grams
        self.cont: list[_Level] = []  # cont[k - 1]: continuation counts of k-grams, k < max_order
        uniques = []
        for k in range(1, max_order + 1):
            keys, counts = np.unique(ngram_keys(data, k), return_counts=True)
            self.raw.append(_Level.build(keys, counts.astype(np.int64), discount))
            uniques.append(keys)
        for k in range(1, max_order):
            # N1+(. w_1..w_k): how many distinct characters precede the k-gram, i.e. how many
            # distinct (k+1)-grams end with it; dropping the oldest digit of a (k+1)-gram key
            # leaves the key of its last k characters.
            suffix = np.sort(uniques[k] % V ** k)
            keys, counts = np.unique(suffix, return_counts=True)
            self.cont.append(_Level.build(keys, counts.astype(np.int64), discount))

    def _check_order(self, order: int | None) -> int:
        order = self.max_order if order is None else order
        if not isinstance(order, (int, np.integer)) or not 1 <= order <= self.max_order:
            raise ConfigError(f"order must be an integer from 1 to {self.max_order}, got {order!r}")
        return order

    def _probs(self, windows: np.ndarray, history: np.ndarray) -> np.ndarray:
        """P_n(target) for n = 1..max_order, shape ``(max_order, M)``.

        ``windows`` ``(M, max_order)``: each row ends with the target, preceded by its history
        (left-padded where short); ``history[i]`` is how many characters of row i are real.
        """
        m, kmax = windows.shape
        lower = np.full(m, 1.0 / V)  # P_0: uniform
        raw = np.empty((kmax, m))
        key = np.zeros(m, dtype=np.int64)
        for k in range(1, kmax + 1):
            key = key + windows[:, kmax - k] * V ** (k - 1)  # the last k characters
            alpha, gamma = self.raw[k - 1].weights(key)
            raw[k - 1] = alpha + gamma * lower
            if k < kmax:
                alpha, gamma = self.cont[k - 1].weights(key)
                lower = alpha + gamma * lower
        # order n with a history of h characters: the order-min(n, h + 1) model
        usable = np.minimum(np.arange(1, kmax + 1)[:, None], history[None, :] + 1)
        return np.take_along_axis(raw, usable - 1, axis=0)

    def all_char_bits(self, text: str | torch.Tensor | np.ndarray) -> np.ndarray:
        """-log2 P_n(character t | before) for n = 1..max_order, t = 2..N: ``(max_order, N-1)``."""
        data = _indices(text, "evaluation text")
        _check_scorable(data)
        kmax = self.max_order
        padded = np.concatenate([np.zeros(kmax - 1, dtype=np.int64), data])
        # row t - 1 holds characters t - kmax + 1 .. t (padding before the text starts)
        windows = np.lib.stride_tricks.sliding_window_view(padded, kmax)[1:]
        history = np.arange(1, len(data))
        return -np.log2(self._probs(windows, history))

    def char_bits(self, text: str | torch.Tensor | np.ndarray, order: int | None = None) -> np.ndarray:
        """-log2 P(character t | before) at ``order`` (default ``max_order``), t = 2..N."""
        order = self._check_order(order)
        return self.all_char_bits(text)[order - 1]

    def distribution(self, context: str | torch.Tensor | np.ndarray, order: int | None = None) -> np.ndarray:
        """The order-``order`` distribution over the 100 symbols after ``context`` (may be empty)."""
        order = self._check_order(order)
        ctx = _indices(context, "context")[-(order - 1):] if order > 1 else np.zeros(0, np.int64)
        ctx = np.concatenate([np.zeros(self.max_order - 1 - len(ctx), dtype=np.int64), ctx])
        windows = np.column_stack([np.tile(ctx, (V, 1)), np.arange(V)])
        return self._probs(windows, np.full(V, len(_indices(context, "context"))))[order - 1]


def choose_order(train: str | torch.Tensor | np.ndarray, valid: str | torch.Tensor | np.ndarray,
                 max_order: int = 8, discount: float | None = None) -> tuple[int, dict[int, float]]:
    """The order with the lowest validation BPC, and the validation BPC of every order.

    Fits one :class:`KneserNey` of ``max_order`` on ``train`` and scores ``valid`` at all its
    orders; ties go to the lower order.
    """
    bits = KneserNey(train, max_order, discount).all_char_bits(valid).mean(axis=1)
    table = {k + 1: float(b) for k, b in enumerate(bits)}
    return int(np.argmin(bits)) + 1, table


# ---------------------------------------------------------------------------------------------
# Compressors


def _ppmd(order: int, mem_mb: int = 256) -> Callable[[bytes], bytes]:
    def compress(data: bytes) -> bytes:
        enc = pyppmd.Ppmd7Encoder(order, mem_mb << 20)
        return enc.encode(data) + enc.flush()
    return compress


PPMD_MEMORY = 256 << 20  # bytes of model memory (the model restarts when it is full)
LZMA_PRESET = 9 | lzma.PRESET_EXTREME
BZ2_LEVEL = 9  # blocks of 100,000 x level bytes


def _lzma_dictionary(preset: int = LZMA_PRESET) -> int:
    """The dictionary size (bytes) that lzma's ``preset`` sets, read back from liblzma."""
    props = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA2, "preset": preset})
    return int(lzma._decode_filter_properties(lzma.FILTER_LZMA2, props)["dict_size"])


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "zlib -9": lambda b: zlib.compress(b, 9),
    "bz2 -9": lambda b: bz2.compress(b, BZ2_LEVEL),
    "lzma -9e": lambda b: lzma.compress(b, preset=LZMA_PRESET),
    "PPMd order 4": _ppmd(4),
    "PPMd order 6": _ppmd(6),
    "PPMd order 8": _ppmd(8),
}
# How far back each compressor reaches, in bytes: zlib's window (deflate looks for repeats in
# the last 32 KB), bz2's block (each block of 100,000 x level bytes is compressed on its own),
# lzma's dictionary, PPMd's model memory.
REACH: dict[str, int] = {
    "zlib -9": 1 << zlib.MAX_WBITS,
    "bz2 -9": 100_000 * BZ2_LEVEL,
    "lzma -9e": _lzma_dictionary(),
    "PPMd order 4": PPMD_MEMORY,
    "PPMd order 6": PPMD_MEMORY,
    "PPMd order 8": PPMD_MEMORY,
}
# One setting of each compressor on the ladder, fixed in advance: the strongest preset of zlib,
# bz2 and lzma, and PPMd at 7-Zip's default order (6). PPMd's other orders are appendix rows.
LADDER_COMPRESSORS = ("zlib -9", "bz2 -9", "lzma -9e", "PPMd order 6")


def training_seen(name: str, train_len: int) -> int:
    """At most how many characters of a training text of ``train_len`` characters compressor
    ``name`` can draw on when it starts coding the test text that follows it: its window
    (zlib), dictionary (lzma) or memory (PPMd) if shorter than the text; for bz2, whose blocks
    are independent, what the test text's block holds of the training text (at most: bz2 first
    shortens runs of 4 or more equal bytes, so a block may hold a little more text)."""
    reach = REACH[name]
    if name.startswith("bz2") and train_len > reach:
        return train_len % reach
    return min(reach, train_len)


def compressor_knows(name: str, train_len: int) -> str:
    """What compressor ``name`` knows when it codes a test text after a training text of
    ``train_len`` characters: :data:`ADAPTS` if it reaches back over all of it, else
    :data:`END_ADAPTS`."""
    return ADAPTS if training_seen(name, train_len) >= train_len else END_ADAPTS


def conditional_bits(compress: Callable[[bytes], bytes], train: str, test: str,
                     train_len: int | None = None) -> float:
    """Bits to code ``test`` after ``train``: ``8 * (len(C(train + test)) - len(C(train)))``.

    ``train_len`` is ``len(C(train))`` when already known (it is the same for every test file).
    """
    if train_len is None:
        train_len = len(compress(train.encode("ascii")))
    return 8.0 * (len(compress((train + test).encode("ascii"))) - train_len)


def compressor_bpc(compress: Callable[[bytes], bytes], train: str, tests: Mapping[str, str]) -> dict[str, float]:
    """Conditional code length of each test text after ``train``, per character of that text.

    The divisor is the test text's full length N: a compressor codes every character.
    """
    train_len = len(compress(train.encode("ascii")))
    return {name: conditional_bits(compress, train, text, train_len) / len(text)
            for name, text in tests.items()}


# ---------------------------------------------------------------------------------------------
# The table


_NGRAM = re.compile(r"Kneser-Ney (\d+)-gram")


def ngram_name(order: int) -> str:
    """The yardstick name of the Kneser-Ney n-gram of ``order``: ``"Kneser-Ney 8-gram"``."""
    return f"Kneser-Ney {order}-gram"


def ngram_order(name: str) -> int | None:
    """The order in an :func:`ngram_name`, or None for any other yardstick's name."""
    m = _NGRAM.fullmatch(name)
    return int(m.group(1)) if m else None


@dataclass
class Yardstick:
    """One row of the yardstick table."""

    name: str
    knows: str  # NOTHING, TRAINING or ADAPTS
    bpc: dict[str, float]  # test-file name -> bits per character
    seconds: float  # wall time to compute the row on all test files (shared rows: the whole pass)
    bits: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)
    note: str = ""  # e.g. "order chosen on validation"
    on_ladder: bool = True  # False: an n-gram order not chosen, a PPMd order other than the default

    def interval(self, test: str, block: int = 200, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float] | None:
        """``(bpc, low, high)`` by block bootstrap on ``test``, or None (a compressor's row)."""
        if self.bits is None:
            return None
        return bits_interval(self.bits[test], block, n_boot, level, seed)


@dataclass
class NgramChoice:
    """How the n-gram order was chosen: the validation BPC of every order, and the winner."""

    order: int
    valid_bpc: dict[int, float]
    valid_chars: int


def yardsticks(train: str, tests: Mapping[str, str], max_order: int = 8,
               ngram_orders: Sequence[int] | None = None, compressors: Sequence[str] | None = None,
               valid_frac: float = VALID_FRAC) -> tuple[list[Yardstick], NgramChoice]:
    """Every yardstick on every test text, all knowing the training text ``train``.

    The n-gram order is chosen on the validation split (``split_corpus(encode(train),
    valid_frac)``, the split the neural models are tuned on): KN fitted on the split's training
    part, every order 1..``max_order`` scored on its validation part, the lowest BPC wins. For
    the test numbers the n-grams are refitted on the whole of ``train``, the text every other
    yardstick knows. Rows: uniform, unigram, the n-gram orders in ``ngram_orders`` (default:
    all, the chosen one marked and the only one ``on_ladder``), then ``compressors`` (default:
    all of :data:`COMPRESSORS`, each knowing what :func:`compressor_knows` says;
    PPMd needs ``pyppmd``). The n-gram rows come from one pass (choice, refit, scoring at every
    order), and each shows that pass's time. Returns the rows and how the order was chosen.
    """
    if not tests:
        raise ConfigError("yardsticks needs at least one test text")
    names = list(COMPRESSORS) if compressors is None else list(compressors)
    unknown = [n for n in names if n not in COMPRESSORS]
    if unknown:
        raise ConfigError(f"unknown compressor {unknown[0]!r}; known: {', '.join(COMPRESSORS)}")
    train_ids = encode(train, "training text")
    test_ids = {name: encode(text, name).numpy() for name, text in tests.items()}
    rows: list[Yardstick] = []

    def timed(fn):
        start = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - start

    bits, secs = timed(lambda: {n: uniform_char_bits(t) for n, t in test_ids.items()})
    rows.append(Yardstick("uniform", NOTHING, _means(bits), secs, bits))
    bits, secs = timed(lambda: {n: unigram_char_bits(train_ids, t) for n, t in test_ids.items()})
    rows.append(Yardstick("unigram (add-one)", TRAINING, _means(bits), secs, bits))

    def ngrams():
        fit_part, valid_part = split_corpus(train_ids, valid_frac)
        if valid_part is None:
            raise ConfigError("choosing the n-gram order needs valid_frac > 0")
        order, table = choose_order(fit_part, valid_part, max_order)
        model = KneserNey(train_ids, max_order)
        return order, table, len(valid_part), {n: model.all_char_bits(t) for n, t in test_ids.items()}

    (order, table, n_valid, all_bits), secs = timed(ngrams)
    for k in (range(1, max_order + 1) if ngram_orders is None else ngram_orders):
        if not 1 <= k <= max_order:
            raise ConfigError(f"n-gram order {k} is outside 1..{max_order}")
        bits = {n: b[k - 1] for n, b in all_bits.items()}
        rows.append(Yardstick(ngram_name(k), TRAINING, _means(bits), secs, bits,
                              note="order chosen on validation" if k == order else "order not chosen",
                              on_ladder=k == order))
    for name in names:
        bpc, secs = timed(lambda: compressor_bpc(COMPRESSORS[name], train, tests))
        rows.append(Yardstick(name, compressor_knows(name, len(train)), bpc, secs,
                              on_ladder=name in LADDER_COMPRESSORS,
                              note="" if name in LADDER_COMPRESSORS else "not the default order"))
    return rows, NgramChoice(order, table, n_valid)


def _means(bits: Mapping[str, np.ndarray]) -> dict[str, float]:
    return {name: float(b.mean()) for name, b in bits.items()}


def format_table(rows: Sequence[Yardstick], intervals: bool = False) -> str:
    """The rows as a fixed-width text table: name, BPC per test file, seconds, what it knows.

    With ``intervals`` each BPC that has per-character bits is followed by its 95% block-bootstrap
    interval.
    """
    if not rows:
        return "(no yardsticks)"
    tests = list(rows[0].bpc)
    name_w = max(len("yardstick"), *(len(r.name) for r in rows))
    cell_w = 21 if intervals else 7
    head = [f"{'yardstick':<{name_w}}", *(f"{t:>{max(cell_w, len(t))}}" for t in tests),
            f"{'seconds':>7}", "knows"]
    lines = ["  ".join(head)]
    for r in rows:
        cells = [f"{r.name:<{name_w}}"]
        for t in tests:
            cell = f"{r.bpc[t]:.3f}"
            if intervals:
                ci = r.interval(t)
                cell += f" [{ci[1]:.3f}, {ci[2]:.3f}]" if ci else " " * 16
            cells.append(f"{cell:>{max(cell_w, len(t))}}")
        knows = r.knows + (f" ({r.note})" if r.note else "")
        cells += [f"{r.seconds:7.2f}", knows]
        lines.append("  ".join(cells))
    return "\n".join(lines)
