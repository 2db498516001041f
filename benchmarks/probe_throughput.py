"""How many training characters per second charlm.train reaches, by width, batch and precision.

For each setting the real training function runs a few warm-up iterations, then a timed run;
characters per second = iterations x batch_size x chunk_len / training seconds. Results go to a
CSV (default results/throughput.csv) with the CPU and thread count they were measured on.

    python benchmarks/probe_throughput.py                       # the default grid, 2 threads
    python benchmarks/probe_throughput.py --hidden 192,256 --batch 16 --precision fp32,bf16
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

from charlm import TrainConfig, train
from charlm.corpora import TRAIN_FILE, corpus
from charlm.machine import cpu_model
from charlm.runs import torch_threads
from charlm.train import bf16_supported

FIELDS = ("hidden_size", "batch_size", "chunk_len", "precision", "threads", "iterations",
          "seconds", "chars_per_s", "ms_per_iteration", "cpu", "torch")


def probe(cfg: TrainConfig, data: torch.Tensor, iterations: int, warmup: int) -> dict:
    """Time ``iterations`` training iterations of ``cfg`` (after ``warmup`` untimed ones)."""
    train(cfg.replace(n_epochs=warmup), data, verbose=False, progress=False)
    result = train(cfg.replace(n_epochs=iterations), data, verbose=False, progress=False)
    chars = result.iterations * cfg.batch_size * cfg.chunk_len
    return {"iterations": result.iterations, "seconds": round(result.wall_time, 3),
            "chars_per_s": round(chars / result.wall_time),
            "ms_per_iteration": round(1000 * result.wall_time / result.iterations, 2)}


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--hidden", default="128,192,256,320,384,512", help="hidden sizes")
    p.add_argument("--batch", default="16,32", help="parallel streams per iteration")
    p.add_argument("--chunk_len", type=int, default=100)
    p.add_argument("--precision", default="fp32,bf16" if bf16_supported() else "fp32")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: one per core)")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--out", default="results/throughput.csv")
    args = p.parse_args()
    data = corpus(TRAIN_FILE)
    rows = []
    with torch_threads(args.threads) as threads:
        print(f"{cpu_model()}, {threads} torch threads, torch {torch.__version__}, "
              f"native bf16: {bf16_supported()}")
        print(f"{'hidden':>6} {'batch':>5} {'precision':>9} {'chars/s':>9} {'ms/it':>8}")
        for hidden in _ints(args.hidden):
            for batch in _ints(args.batch):
                for precision in args.precision.split(","):
                    cfg = TrainConfig(hidden_size=hidden, batch_size=batch, chunk_len=args.chunk_len,
                                      precision=precision, carry_state=True, clip=1.0,
                                      print_every=10**6)
                    row = {"hidden_size": hidden, "batch_size": batch, "chunk_len": args.chunk_len,
                           "precision": precision, "threads": threads, "cpu": cpu_model(),
                           "torch": str(torch.__version__),
                           **probe(cfg, data, args.iterations, args.warmup)}
                    rows.append(row)
                    print(f"{hidden:>6} {batch:>5} {precision:>9} {row['chars_per_s']:>9,} "
                          f"{row['ms_per_iteration']:>8.1f}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out} ({time.strftime('%Y-%m-%d')})")


if __name__ == "__main__":
    main()
