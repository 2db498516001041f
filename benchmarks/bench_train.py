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

Each is warmed up, then timed ``--repeats`` times, interleaved so that a busy machine slows
all of them alike; the best repeat counts (noise only ever adds time).

    python benchmarks/bench_train.py              # the table (under a minute on 2 cores)
    python benchmarks/bench_train.py --threads 1  # with one torch thread
    python benchmarks/bench_train.py --full       # also a full 3000-iteration default run
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch
import torch.nn.functional as F
from torch import nn

from charlm import TrainConfig, build_model, train
from charlm.corpora import TRAIN_FILE, corpus
from charlm.data import VOCAB_SIZE, random_chunks


def time_charlm(cfg: TrainConfig, data: torch.Tensor, n: int, warmup: int) -> float:
    """Seconds per iteration of the real ``charlm.train`` over ``n`` iterations."""
    train(cfg.replace(n_epochs=warmup, print_every=warmup + 1), data, verbose=False,
          progress=False)
    result = train(cfg.replace(n_epochs=n, print_every=n + 1), data, verbose=False,
                   progress=False)
    return result.wall_time / n  # the loop only: building the model is not counted


def time_lean(cfg: TrainConfig, data: torch.Tensor, n: int, warmup: int) -> float:
    """Seconds per iteration of the leanest whole-chunk loop with plain PyTorch modules."""
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
            start = time.perf_counter()
        out, _ = lstm(embed(inputs))  # (batch, chunk, hidden)
        loss = F.cross_entropy(head(out).reshape(-1, VOCAB_SIZE), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / n


def time_per_character(cfg: TrainConfig, data: torch.Tensor, n: int, warmup: int) -> float:
    """Seconds per iteration of the coursework's loop: one model call per character."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    for i in range(warmup + n):
        if i == warmup:
            start = time.perf_counter()
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
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--iters", type=int, default=300,
                        help="timed iterations of charlm and of the lean loop (default 300)")
    parser.add_argument("--naive_iters", type=int, default=20,
                        help="timed iterations of the per-character loop (default 20)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed iterations first")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each; best counts")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--full", action="store_true", help="also time a full default run")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    cfg = TrainConfig()
    data = corpus(TRAIN_FILE)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"torch threads, torch {torch.__version__}, python {platform.python_version()}")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cores:
        print(f"note: load average {load:.1f} on {cores} cores; other work slows every timing "
              f"(with {torch.get_num_threads()} torch threads contending, many times over: "
              f"try --threads 1)")
    print(f"setting: batch {cfg.batch_size}, chunk {cfg.chunk_len}, hidden {cfg.hidden_size}, "
          f"{cfg.n_layers} layers, {cfg.cell}, Adam lr {cfg.lr}; best of {args.repeats}")
    runs = {  # name -> (timer, timed iterations, warm-up iterations)
        "charlm.train": (time_charlm, args.iters, args.warmup),
        "lean nn.LSTM loop": (time_lean, args.iters, args.warmup),
        "per-character loop": (time_per_character, args.naive_iters, min(args.warmup, 2)),
    }
    best = {name: float("inf") for name in runs}
    for _ in range(args.repeats):
        for name, (timer, n, warmup) in runs.items():
            best[name] = min(best[name], timer(cfg, data, n, warmup))

    lean, ours = best["lean nn.LSTM loop"], best["charlm.train"]
    print(f"\n{'implementation':<20} {'ms/iter':>9} {f'min/{cfg.n_epochs} it':>12} "
          f"{'x lean':>8} {'x charlm':>9}")
    for name, sec in best.items():
        print(f"{name:<20} {sec * 1000:>9.2f} {sec * cfg.n_epochs / 60:>12.2f} "
              f"{sec / lean:>8.2f} {sec / ours:>9.2f}")
    if args.full:
        result = train(cfg, data, verbose=False, progress=False)
        print(f"\nfull default run (train(), samples every {cfg.print_every} iterations "
              f"included): {result.wall_time:.1f} s, final smoothed loss {result.final_loss:.4f}")


if __name__ == "__main__":
    main()
