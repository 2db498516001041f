"""The best model as a compressor (Appendix H), computed once.

- :func:`file_sizes`: ``dickens_test_large.txt`` (or its first ``chars`` characters)
  compressed by the ladder's compressors, each given the training text as the ladder gives it
  (``len(C(train + test)) - len(C(train))`` bytes, :func:`charlm.baselines.conditional_bits`),
  and by :func:`charlm.codec.compress` with the best model in three modes: static, with dynamic
  evaluation, and with dynamic evaluation mixed with the adaptive context models. Per row: the
  bytes, the bits per character they imply, the bits per character they were predicted from
  (the code length; a compressor's row has none but its size), the seconds to compress and to
  decompress, and whether decompressing gave the text back.
- :func:`mixed_rung`: the mixed model as a rung of the ladder, on both test files.

The charlm rows are the command line's code (``compress --dynamic --mix``), with its settings
(:data:`MODES`) and its choice of threads. The facts the text states are in
:mod:`charlm.studies.compression_facts`.
"""

from __future__ import annotations

import bz2
import lzma
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyppmd

from ..baselines import ADAPTS, COMPRESSORS, LADDER_COMPRESSORS, PPMD_MEMORY
from ..checkpoint import Checkpoint
from ..codec import compress, decompress
from ..coding import CODER_DYNAMIC, CodingSettings, code_lengths, training_text
from ..corpora import TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE, corpus_text
from ..memo import memo
from ..mix import MixSettings
from . import ladder

STATIC, DYNAMIC, MIXED = "charlm, static", "charlm, dynamic", "charlm, dynamic and mixed"
MODES = {STATIC: CodingSettings(), DYNAMIC: CodingSettings(CODER_DYNAMIC),
         MIXED: CodingSettings(CODER_DYNAMIC, MixSettings())}
MIXED_RUNG = "best model, dynamic evaluation and mixing"


def _ppmd_decompress(order: int) -> Callable[[bytes], bytes]:
    def decompress_(data: bytes, length: int) -> bytes:
        return pyppmd.Ppmd7Decoder(order, PPMD_MEMORY).decode(data, length)
    return decompress_


# each ladder compressor's decoder, given the length of what it must give back
DECOMPRESSORS: dict[str, Callable[[bytes, int], bytes]] = {
    "zlib -9": lambda b, n: zlib.decompress(b),
    "bz2 -9": lambda b, n: bz2.decompress(b),
    "lzma -9e": lambda b, n: lzma.decompress(b),
    "PPMd order 6": _ppmd_decompress(6),
}


@dataclass(frozen=True)
class FileSizes:
    """One row per compressor and charlm mode (:meth:`table`), on ``chars`` characters of
    ``test``; the code lengths of the mixed mode; and what the sizes leave out: the model's
    weights (bytes as float32) and the training text (characters)."""

    test: str
    chars: int
    rows: tuple[dict, ...]
    mixed_bits: np.ndarray  # -log2 p of characters 2..N in the mixed mode
    weights_bytes: int
    train_chars: int

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows))

    def row(self, name: str) -> dict:
        for r in self.rows:
            if r["name"] == name:
                return r
        raise KeyError(f"no row {name!r}; rows: {', '.join(r['name'] for r in self.rows)}")


def _timed(f, *args):
    start = time.perf_counter()
    out = f(*args)
    return out, time.perf_counter() - start


def compressor_row(name: str, train: str, text: str) -> dict:
    """``name`` (a ladder compressor) on ``text`` after ``train``: the conditional size, and
    the seconds to compress and to decompress ``train + text`` (these tools cannot start from
    a model of the training text: each run reads it again)."""
    raw = (train + text).encode("ascii")
    both, seconds = _timed(COMPRESSORS[name], raw)
    back, back_seconds = _timed(DECOMPRESSORS[name], both, len(raw))
    size = len(both) - len(COMPRESSORS[name](train.encode("ascii")))
    return {"name": name, "bytes": size, "file BPC": 8 * size / len(text),
            "predicted BPC": float("nan"), "compress s": seconds, "decompress s": back_seconds,
            "exact": back == raw}


def charlm_row(name: str, best: Checkpoint, train, text: str,
               settings: CodingSettings) -> tuple[dict, np.ndarray]:
    """``text`` through ``charlm compress`` and ``decompress`` with ``settings``; the row and
    the code lengths."""
    packed, seconds = _timed(compress, best.model, text, train, settings, False)
    back, back_seconds = _timed(decompress, best.model, packed.data, train, "the file", False)
    n = len(text)
    return {"name": name, "bytes": len(packed.data), "file BPC": 8 * len(packed.data) / n,
            "predicted BPC": 8 * packed.predicted_bytes / n, "compress s": seconds,
            "decompress s": back_seconds, "exact": back == text}, packed.bits


@memo
def file_sizes(best: Checkpoint, test: str = TEST_LARGE_FILE, chars: int = 0) -> FileSizes:
    """The ladder's compressors and charlm's three modes (:data:`MODES`) on the first ``chars``
    characters of ``test`` (0: all), each round-tripped and timed (see the module)."""
    text = corpus_text(test)
    text = text[:chars] if chars else text
    train_text = corpus_text(TRAIN_FILE)
    rows = [compressor_row(name, train_text, text) for name in LADDER_COMPRESSORS]
    train = training_text(best.config)
    coded = {name: charlm_row(name, best, train, text, settings) for name, settings in MODES.items()}
    rows += [row for row, _ in coded.values()]
    weights = sum(p.numel() for p in best.model.parameters()) * 4
    return FileSizes(test, len(text), tuple(rows), coded[MIXED][1], weights, len(train_text))


@memo
def mixed_rung(best: Checkpoint, chars: int = 0) -> ladder.Rung:
    """The best model with dynamic evaluation mixed with the context models (the coder's
    :data:`MIXED` settings) as a rung, with intervals: its code lengths on ``dickens_test.txt``,
    and on ``dickens_test_large.txt`` those of :func:`file_sizes`' mixed file (the first
    ``chars`` characters of each; 0: all)."""
    sizes = file_sizes(best, TEST_LARGE_FILE, chars)
    start = time.perf_counter()
    text = corpus_text(TEST_FILE)
    small = code_lengths(best.model, text[:chars] if chars else text,
                         training_text(best.config), MODES[MIXED], progress=False)
    return ladder.bits_rung(MIXED_RUNG, ADAPTS, ladder.KIND_MODEL,
                                  {TEST_FILE: small, TEST_LARGE_FILE: sizes.mixed_bits},
                                  time.perf_counter() - start)


def with_rung(frame: pd.DataFrame, rung: ladder.Rung, order_by: str = TEST_LARGE_FILE) -> pd.DataFrame:
    """A :func:`~charlm.studies.ladder.ladder_frame` with ``rung`` added, in its order."""
    added = ladder.ladder_frame([rung], order_by=order_by)
    return (pd.concat([frame, added], ignore_index=True)
            .sort_values(order_by, ascending=False, kind="stable").reset_index(drop=True))


__all__ = ["DECOMPRESSORS", "DYNAMIC", "FileSizes", "MIXED", "MIXED_RUNG", "MODES", "STATIC",
           "charlm_row", "compressor_row", "file_sizes", "mixed_rung", "with_rung"]
