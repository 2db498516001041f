"""The facts Appendix H states about the best model as a compressor, made from the kept
results of :mod:`charlm.studies.compression` (kept apart, so a change here computes nothing
again). Numbers show themselves formatted (:mod:`charlm.facts`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..coding import CODER_DYNAMIC
from ..context_model import ContextSettings
from ..corpora import TEST_LARGE_FILE
from ..facts import Int, Num, bits, count, num, share
from . import ladder
from .best_facts import below_or_above
from .compression import DYNAMIC, MIXED, STATIC, FileSizes

PPMD = "PPMd order 6"  # the ladder's PPMd, the yardstick the mixed file is set against


@dataclass(frozen=True)
class CompressionFacts:
    """The mixed file against its code length, the dynamic file and PPMd; what it leaves out."""

    chars: Int  # characters coded
    ppm_order: Int  # the context models' settings
    match_min: Int
    segment: Int  # dynamic evaluation's segment when coding
    mixed_bytes: Int
    mixed_file: Num  # BPC the mixed file implies
    mixed_predicted: Num  # BPC of its code length
    mixed_over: Int  # bytes over the code length
    static_file: Num
    dynamic_file: Num
    mixer_gain: Num  # dynamic minus mixed, both files' BPC
    ppmd_bytes: Int
    ppmd_bpc: Num
    lead: Num  # |PPMd - mixed| in BPC
    side: str  # "below" / "above" PPMd
    size_share: Num  # mixed file / PPMd's
    exact: Int  # round trips that gave the text back
    rows: Int
    mixed_compress_s: Num
    mixed_decompress_s: Num
    ppmd_compress_s: Num
    slower: Num  # the mixed file's compress time over PPMd's
    weights_kb: Int
    train_chars: Int
    rung_large: Num  # the mixed rung on the large file, and its interval
    rung_low: Num
    rung_high: Num
    rungs_above: Int  # rungs of the ladder scoring more on the large file
    rungs: Int  # the ladder's other rungs
    low_order: Int


def compression_facts(sizes: FileSizes, rung: ladder.Rung, frame: pd.DataFrame) -> CompressionFacts:
    """:class:`CompressionFacts` of :func:`~charlm.studies.compression.file_sizes`,
    :func:`~charlm.studies.compression.mixed_rung` and the ladder ``frame`` it joins."""
    others = frame[frame.name != rung.name][TEST_LARGE_FILE]
    mixed, dyn, static, ppmd = (sizes.row(n) for n in (MIXED, DYNAMIC, STATIC, PPMD))
    over = mixed["bytes"] - mixed["predicted BPC"] * sizes.chars / 8
    seconds = lambda x: num(x, ".0f") if x >= 10 else num(x, ".1f")  # noqa: E731
    low, high = rung.interval[TEST_LARGE_FILE]
    context = ContextSettings()
    return CompressionFacts(
        chars=count(sizes.chars), ppm_order=count(context.max_order),
        match_min=count(context.match_min), segment=count(CODER_DYNAMIC.segment),
        mixed_bytes=count(mixed["bytes"]), mixed_file=bits(mixed["file BPC"]),
        mixed_predicted=bits(mixed["predicted BPC"]), mixed_over=count(round(over)),
        static_file=bits(static["file BPC"]), dynamic_file=bits(dyn["file BPC"]),
        mixer_gain=bits(dyn["file BPC"] - mixed["file BPC"]),
        ppmd_bytes=count(ppmd["bytes"]), ppmd_bpc=bits(ppmd["file BPC"]),
        lead=bits(abs(ppmd["file BPC"] - mixed["file BPC"])),
        side=below_or_above(mixed["file BPC"], ppmd["file BPC"]),
        size_share=share(mixed["bytes"] / ppmd["bytes"]),
        exact=count(sum(bool(r["exact"]) for r in sizes.rows)), rows=count(len(sizes.rows)),
        mixed_compress_s=seconds(mixed["compress s"]),
        mixed_decompress_s=seconds(mixed["decompress s"]),
        ppmd_compress_s=seconds(ppmd["compress s"]),
        slower=num(mixed["compress s"] / max(ppmd["compress s"], 1e-9), ".0f"),
        weights_kb=count(round(sizes.weights_bytes / 1024)), train_chars=count(sizes.train_chars),
        rung_large=bits(rung.bpc[TEST_LARGE_FILE]), rung_low=bits(low), rung_high=bits(high),
        rungs_above=count(int((others > rung.bpc[TEST_LARGE_FILE]).sum())),
        rungs=count(len(others)), low_order=count(context.low_order))


__all__ = ["CompressionFacts", "PPMD", "compression_facts"]
