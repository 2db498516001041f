"""``charlm compress`` as a compressor: file sizes against code lengths, times, round trips.

    python benchmarks/bench_compress.py                       # the best preset's cached model
    python benchmarks/bench_compress.py --checkpoint runs/x.pt --modes dynamic+mix

For each text and each coding mode (static, dynamic, mix, dynamic+mix), compresses with
:func:`charlm.codec.compress` and decompresses with :func:`charlm.codec.decompress`, in this
process, as the command line does, and records:

- the bits per character of the code length (the mean of ``code_lengths``' bits: characters
  2..N, as ``bpc`` scores them), the predicted size (code length in bytes, the first
  character included) and the real file size, with the bits per character the file implies;
- the seconds to compress and to decompress (wall clock; the load average before each is
  recorded, since another job on the machine slows both), and whether the round trip gave the
  text back byte for byte.

The texts: both test files; then, with ``--round-trips``, the first 100 KB of the training file
and a standard-library module (``textwrap.py``, normalised as charlm's Python corpus reads
source: UTF-8, universal newlines, unidecode), each in dynamic+mix only. Writes
``results/compress.yaml`` (a benchmark: not read by the tests).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
import yaml

from charlm import paths
from charlm.checkpoint import load_checkpoint
from charlm.codec import compress, decompress
from charlm.coding import CODER_DYNAMIC, CodingSettings, training_text
from charlm.corpora import corpus_text, source_text, stdlib_dir
from charlm.machine import environment
from charlm.mix import MixSettings
from charlm.presets import preset
from charlm.runs import cache_path

MODES = {"static": CodingSettings(), "dynamic": CodingSettings(CODER_DYNAMIC),
         "mix": CodingSettings(mix=MixSettings()),
         "dynamic+mix": CodingSettings(CODER_DYNAMIC, MixSettings())}
TESTS = ("dickens_test.txt", "dickens_test_large.txt")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(model, text: str, train, settings: CodingSettings) -> dict:
    before = load()
    start = time.perf_counter()
    packed = compress(model, text, train, settings)
    middle = time.perf_counter()
    load_middle = load()
    back = decompress(model, packed.data, train)
    end = time.perf_counter()
    n = len(text)
    return {
        "characters": n,
        "bpc": round(float(packed.bits.mean()), 4),
        "predicted_bytes": round(packed.predicted_bytes, 1),
        "file_bytes": len(packed.data),
        "file_bpc": round(8 * len(packed.data) / n, 4),
        "over_prediction_bytes": round(len(packed.data) - packed.predicted_bytes, 1),
        "compress_s": round(middle - start, 1),
        "decompress_s": round(end - middle, 1),
        "load_before_compress": before, "load_before_decompress": load_middle,
        "round_trip": back == text,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="checkpoint (default: the best preset's cached run)")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES))
    ap.add_argument("--files", default=",".join(TESTS), help="comma-separated test files")
    ap.add_argument("--round-trips", action="store_true",
                    help="also the training file's first 100 KB and a standard-library module")
    ap.add_argument("--out", default=str(paths.ROOT / "results" / "compress.yaml"))
    args = ap.parse_args()
    path = Path(args.checkpoint) if args.checkpoint else cache_path(preset("best"))
    ckpt = load_checkpoint(path)
    train = training_text(ckpt.config)
    texts = {name: corpus_text(name) for name in args.files.split(",") if name}
    jobs = [(name, mode) for name in texts for mode in args.modes.split(",")]
    if args.round_trips:
        texts["dickens_train.txt[:100000]"] = corpus_text("dickens_train.txt")[:100_000]
        texts["textwrap.py"] = source_text(stdlib_dir() / "textwrap.py")
        jobs += [(name, "dynamic+mix") for name in list(texts)[-2:]]
    results: dict = {}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name, mode in jobs:
        row = measure(ckpt.model, texts[name], train, MODES[mode])
        results.setdefault(name, {})[mode] = row
        print(f"{name:28} {mode:12} {row['bpc']:.4f} BPC, {row['file_bytes']:,} bytes "
              f"({row['file_bpc']:.4f}; predicted {row['predicted_bytes']:,.0f}), "
              f"{row['compress_s']} s + {row['decompress_s']} s, round trip "
              f"{'ok' if row['round_trip'] else 'FAILED'} (load {row['load_before_compress'][0]})",
              flush=True)
        summary = {"what": "charlm compress on test files (benchmarks/bench_compress.py)",
                   "checkpoint": str(path), "iterations": ckpt.meta.get("iterations"),
                   "settings": {m: s.to_dict() for m, s in MODES.items()},
                   "results": results, "machine": environment(),
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        out.write_text(yaml.safe_dump(summary, sort_keys=False))  # after each: a long run
    print(f"wrote {out}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
