"""Time charlm's real training loop against PyTorch's floor and the coursework's loop.

Three ways to run the default setting (batch 1, chunk 200, embedding -> 2-layer LSTM with
hidden 128 -> linear, Adam lr 0.005, cross-entropy), in one process on the same machine:

- charlm: the real :func:`charlm.train.train`, the one the CLI, the studies and the notebooks
  call (print_every beyond the run, so no samples are generated or printed);
- the leanest whole-chunk loop PyTorch allows: ``nn.Embedding`` -> ``nn.LSTM`` ->
  ``nn.Linear`` in five lines, chunks drawn before the clock starts; how close charlm comes to
  it is the question;
- the coursework's loop: the model called once per character, carrying the state, the loss
  summed over the chunk.

Each is warmed up, then timed ``--repeats`` times, alternately (charlm then the lean loop, then
the other way round), so that a busy machine slows both alike. The table gives the median of
each's timings and, for charlm against the lean loop, the median of the ratios of the repeats
(the target: at most 1.10). With one thread the CPU time of each is given too: it counts only
the time the process computed, so another busy process disturbs it far less than the wall clock.
The torch threads are the command line's choice for the default model
(:func:`charlm.machine.choose_threads`) unless ``--threads`` says otherwise.

    python benchmarks/bench_train.py              # the table (under a minute on 2 cores)
    python benchmarks/bench_train.py --threads 2  # with two torch threads
    python benchmarks/bench_train.py --full       # also a full 3000-iteration default run
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from charlm import TrainConfig, build_model, train
from charlm.corpora import TRAIN_FILE, corpus
from charlm.data import VOCAB_SIZE, random_chunks
from charlm.machine import choose_threads


def time_charlm(cfg: TrainConfig, data: torch.Tensor, n: int, warmup: int) -> tuple[float, float]:
    """Seconds per iteration of the real ``charlm.train`` over ``n`` iterations: wall clock (the
    loop only: building the model is not counted) and this thread's CPU time (building the
    model included: a few milliseconds)."""
    train(cfg.replace(n_epochs=warmup, print_every=warmup + 1), data, verbose=False,
          progress=False)
    cpu = time.thread_time()
    result = train(cfg.replace(n_epochs=n, print_every=n + 1), data, verbose=False,
                   progress=False)
    return result.wall_time / n, (time.thread_time() - cpu) / n


def time_lean(cfg: TrainConfig, data: torch.Tensor, n: int, warmup: int) -> tuple[float, float]:
    """Seconds per iteration of the leanest whole-chunk loop with plain PyTorch modules (wall
    clock and CPU time)."""
    torch.manual_seed(cfg.seed)
    embed = nn.Embedding(VOCAB_SIZE, cfg.hidden_size)
    lstm = nn.LSTM(cfg.hidden_size, cfg.hidden_size, cfg.n_layers, batch_first=True)
    head = nn.Linear(cfg.hidden_size, VOCAB_SIZE)
    params = [*embed.parameters(), *lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    chunks = [random_chunks(data, cfg.chunk_len, cfg.batch_size, gen) for _ in range(warmup + n)]
    for i, (inputs, targets) in enumerate(chunks):
        if i == warmup:
            start, cpu = time.perf_counter(), time.thread_time()
        out, _ = lstm(embed(inputs))  # (batch, chunk, hidden)
        loss = F.cross_entropy(head(out).reshape(-1, VOCAB_SIZE), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / n, (time.thread_time() - cpu) / n


def time_per_character(cfg: TrainConfig, data: torch.Tensor, n: int, warmup: int
                       ) -> tuple[float, float]:
    """Seconds per iteration of the coursework's loop: one model call per character (wall
    clock and CPU time)."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    for i in range(warmup + n):
        if i == warmup:
            start, cpu = time.perf_counter(), time.thread_time()
        inputs, targets = random_chunks(data, cfg.chunk_len, cfg.batch_size, gen)
        state = None
        loss = 0.0
        optimizer.zero_grad()
        for t in range(inputs.shape[1]):
            logits, state = model(inputs[:, t:t + 1], state)
            loss = loss + F.cross_entropy(logits[:, 0], targets[:, t])
        loss.backward()
        optimizer.step()
        loss.item()
    return (time.perf_counter() - start) / n, (time.thread_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--iters", type=int, default=300,
                        help="timed iterations of charlm and of the lean loop (default 300)")
    parser.add_argument("--naive_iters", type=int, default=20,
                        help="timed iterations of the per-character loop (default 20)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed iterations first")
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternating timings of each; the median counts")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: the command line's choice)")
    parser.add_argument("--full", action="store_true", help="also time a full default run")
    args = parser.parse_args()

    cfg = TrainConfig()
    threads, why = choose_threads(cfg, args.threads)
    torch.set_num_threads(threads)
    data = corpus(TRAIN_FILE)
    print(f"machine: {platform.processor() or platform.machine()}, {threads} torch threads "
          f"({why.split(';')[0]}), torch {torch.__version__}, python {platform.python_version()}")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cores:
        print(f"note: load average {load:.1f} on {cores} cores at the start; other work slows "
              f"every wall-clock timing (the CPU times, with one thread, far less)")
    print(f"setting: batch {cfg.batch_size}, chunk {cfg.chunk_len}, hidden {cfg.hidden_size}, "
          f"{cfg.n_layers} layers, {cfg.cell}, Adam lr {cfg.lr}; median of {args.repeats} "
          f"alternating timings")
    runs = {  # name -> (timer, timed iterations, warm-up iterations)
        "charlm.train": (time_charlm, args.iters, args.warmup),
        "lean nn.LSTM loop": (time_lean, args.iters, args.warmup),
        "per-character loop": (time_per_character, args.naive_iters, min(args.warmup, 2)),
    }
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.repeats):
        names = list(runs) if r % 2 == 0 else ["lean nn.LSTM loop", "charlm.train",
                                               "per-character loop"]
        for name in names:
            timer, n, warmup = runs[name]
            seconds, cpu_seconds = timer(cfg, data, n, warmup)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)

    def ratio(times: dict[str, list[float]], name: str) -> float:
        """The median over the repeats of ``name``'s time over the lean loop's."""
        return statistics.median(a / b for a, b in zip(times[name], times["lean nn.LSTM loop"]))

    print(f"\n{'implementation':<20} {'ms/iter':>9} {f'min/{cfg.n_epochs} it':>12} {'x lean':>8}"
          + (f" {'cpu ms/iter':>12} {'x lean':>8}" if threads == 1 else ""))
    for name in runs:
        sec = statistics.median(wall[name])
        print(f"{name:<20} {sec * 1000:>9.2f} {sec * cfg.n_epochs / 60:>12.2f} "
              f"{ratio(wall, name):>8.2f}"
              + (f" {statistics.median(cpu[name]) * 1000:>12.2f} {ratio(cpu, name):>8.2f}"
                 if threads == 1 else ""))
    print(f"\ncharlm.train against the lean loop: {ratio(wall, 'charlm.train'):.3f}x (median of "
          f"the {args.repeats} alternating ratios; target at most 1.10; the repeats: "
          + ", ".join(f"{a / b:.3f}" for a, b in zip(wall["charlm.train"],
                                                     wall["lean nn.LSTM loop"])) + ")")
    if args.full:
        result = train(cfg, data, verbose=False, progress=False)
        print(f"\nfull default run (train(), samples every {cfg.print_every} iterations "
              f"included): {result.wall_time:.1f} s, final smoothed loss {result.final_loss:.4f}")


if __name__ == "__main__":
    main()
