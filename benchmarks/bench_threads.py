"""How many torch threads serve a model, and what a busy neighbour costs (issue 29).

Two measurements of the real :func:`charlm.train`, each in this process:

- ``scaling``: milliseconds per training step with 1 and with 2 torch threads, for the default
  model, the preset ``best`` (bfloat16 where the CPU has it) and a wider one (hidden 512),
  timed alternately; the step's work (:func:`charlm.machine.step_work`) beside it. This is the
  measurement behind :func:`charlm.machine.choose_threads`: run it on an idle machine.
- ``neighbour``: twenty iterations of the default model with the thread count the command line
  chooses, alone and next to one busy process (a Python loop spinning on one core), and the
  same with torch's default count (one thread per core). The command line's choice must cost
  at most 1.5 times its idle time; torch's default can cost many times more, because its
  threads spin while they wait for each other.

    python benchmarks/bench_threads.py              # both (a minute or two on 2 cores)
    python benchmarks/bench_threads.py --only neighbour
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

from charlm import TrainConfig, train
from charlm.corpora import TRAIN_FILE, corpus
from charlm.machine import choose_threads, cpu_model, step_work, usable_cores
from charlm.presets import preset

NEIGHBOUR_LIMIT = 1.5  # the most a busy neighbour may slow the command line's choice


def seconds_per_step(cfg: TrainConfig, data: torch.Tensor, threads: int, n: int) -> float:
    """Seconds per iteration of ``cfg`` over ``n`` iterations with ``threads`` torch threads
    (after two untimed ones)."""
    torch.set_num_threads(threads)
    quiet = dict(verbose=False, progress=False)
    train(cfg.replace(n_epochs=2, print_every=10**6), data, **quiet)
    return train(cfg.replace(n_epochs=n, print_every=10**6), data, **quiet).wall_time / n


def scaling(data: torch.Tensor, repeats: int) -> None:
    settings = {
        "default": (TrainConfig(), 60),
        "best": (preset("best", budget_minutes=0.0, valid_frac=0.0, eval_every=0), 8),
        "hidden 512": (preset("best", budget_minutes=0.0, valid_frac=0.0, eval_every=0,
                              hidden_size=512), 4),
    }
    print(f"{'setting':<12} {'G mult-adds':>11} {'1 thread ms':>12} {'2 threads ms':>13} "
          f"{'speed-up':>9}  chosen")
    for name, (cfg, n) in settings.items():
        times: dict[int, list[float]] = {1: [], 2: []}
        for r in range(repeats):
            for threads in ((1, 2) if r % 2 == 0 else (2, 1)):  # alternately
                times[threads].append(seconds_per_step(cfg, data, threads, n))
        one, two = (statistics.median(times[t]) * 1000 for t in (1, 2))
        chosen, _ = choose_threads(cfg)
        print(f"{name:<12} {step_work(cfg) / 1e9:>11.2f} {one:>12.1f} {two:>13.1f} "
              f"{one / two:>9.2f}  {chosen}")


def neighbour(data: torch.Tensor, repeats: int) -> bool:
    cfg = TrainConfig()
    chosen, why = choose_threads(cfg)
    default = usable_cores()
    print(f"twenty iterations of the default model; the command line chooses {chosen} "
          f"({why.split(';')[0]}), torch's default is {default}")
    rows = {}
    for threads in dict.fromkeys((chosen, default)):
        idle = statistics.median(seconds_per_step(cfg, data, threads, 20) * 20
                                 for _ in range(repeats))
        busy_proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)  # let it take its core
            busy = statistics.median(seconds_per_step(cfg, data, threads, 20) * 20
                                     for _ in range(repeats))
        finally:
            busy_proc.kill()
            busy_proc.wait()
        rows[threads] = (idle, busy)
        print(f"  {threads} thread(s): {idle:.2f} s alone, {busy:.2f} s next to a busy process "
              f"({busy / idle:.1f}x)")
    idle, busy = rows[chosen]
    ok = busy / idle <= NEIGHBOUR_LIMIT
    print(f"the command line's choice: {busy / idle:.2f}x its idle time "
          f"({'within' if ok else 'OVER'} the limit of {NEIGHBOUR_LIMIT}x)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--only", choices=("scaling", "neighbour"), default=None)
    parser.add_argument("--repeats", type=int, default=3, help="timings of each; median counts")
    args = parser.parse_args()
    os.environ.pop("OMP_NUM_THREADS", None)  # the rule itself, not the environment's choice
    data = corpus(TRAIN_FILE)
    load = os.getloadavg()[0]
    print(f"machine: {cpu_model()}, {usable_cores()} usable cores, torch {torch.__version__}, "
          f"load average {load:.1f} at the start")
    ok = True
    if args.only in (None, "scaling"):
        scaling(data, args.repeats)
    if args.only in (None, "neighbour"):
        ok = neighbour(data, args.repeats)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
