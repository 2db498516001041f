"""Peak memory of ``charlm bpc`` on a long text (a benchmark, not a timed test).

    python benchmarks/bench_bpc_memory.py                  # a 50 MB text, the default architecture
    python benchmarks/bench_bpc_memory.py --mb 2 --mb 50   # several sizes
    python benchmarks/bench_bpc_memory.py --mb 2 --charlm /tmp/old   # another checkout's charlm

Writes a text of the given size (``dickens_train.txt`` repeated) and a checkpoint of the default
architecture (the cached default run when there is one, else untrained weights: the memory is
the same) to a temporary folder, runs ``python -m charlm bpc`` on it in a child process with one
torch thread, and prints the size, the child's peak resident memory (``ru_maxrss``), its wall
time and the BPC it printed. ``--charlm DIR`` runs the ``charlm`` package found in ``DIR``
instead of this checkout's (to measure a version before a change). The target of issue 20:
under 1 GB for 50 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from charlm import TrainConfig, build_model, load_checkpoint, paths, save_checkpoint
from charlm.checkpoint import Checkpoint
from charlm.corpora import TRAIN_FILE
from charlm.runs import cache_path


def write_text(path: Path, mb: float) -> int:
    """``path`` filled with the training text repeated to ``mb`` megabytes; returns its size."""
    unit = (paths.data_dir() / TRAIN_FILE).read_bytes()
    size = int(mb * 1e6)
    with open(path, "wb") as fh:
        for _ in range(size // len(unit)):
            fh.write(unit)
        fh.write(unit[: size % len(unit)])
    return size


def measure(checkpoint: Path, text: Path, charlm_dir: Path) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, printed BPC) of ``charlm bpc`` in a child process."""
    env = os.environ | {"OMP_NUM_THREADS": "1", "CHARLM_PROGRESS": "0",
                        "PYTHONPATH": str(charlm_dir)}
    start = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "charlm", "bpc", "--checkpoint", str(checkpoint),
                             str(text)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=charlm_dir, env=env)
    out = proc.stdout.read().decode().strip()
    err = proc.stderr.read().decode().strip()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.time() - start
    if status != 0:
        out = f"failed (status {status}): {err.splitlines()[-1] if err else ''}"
    return usage.ru_maxrss / 1024, seconds, out  # ru_maxrss is in KiB on Linux


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=float, action="append", help="text size in MB (repeatable; default 50)")
    p.add_argument("--charlm", default=str(paths.ROOT), help="folder holding the charlm package to run")
    args = p.parse_args()
    cfg = TrainConfig()
    with tempfile.TemporaryDirectory(prefix="charlm-bpc-bench-") as tmp:
        checkpoint = Path(tmp) / "model.pt"
        if cache_path(cfg).is_file():
            save_checkpoint(checkpoint, load_checkpoint(cache_path(cfg)))
        else:
            save_checkpoint(checkpoint, Checkpoint(build_model(cfg), cfg))
        print(f"charlm from {args.charlm}; default architecture (hidden 128 x 2 layers), 1 thread")
        print(f"{'text MB':>8} {'peak RSS MB':>12} {'seconds':>8}  BPC")
        for mb in args.mb or [50.0]:
            text = Path(tmp) / f"text-{mb:g}MB.txt"
            write_text(text, mb)
            rss, seconds, out = measure(checkpoint, text, Path(args.charlm))
            print(f"{mb:>8g} {rss:>12,.0f} {seconds:>8.1f}  {out}", flush=True)
            text.unlink()


if __name__ == "__main__":
    main()
