"""Time charlm's training step against the coursework's straightforward implementation.

The straightforward version calls the model once per character in a Python loop, carrying the
state, and sums the loss over the chunk (as the coursework's `train` function does). charlm's
version runs the whole 200-character chunk through the LSTM in one call. Both use the same
model (embedding -> 2-layer LSTM, hidden 128 -> linear), the same Adam optimiser and batch size
1, in one process on the same machine.

    python benchmarks/bench_train.py            # seconds per iteration of each and the ratio
    python benchmarks/bench_train.py --full     # also time a full 3000-iteration default run
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F

from charlm import TrainConfig, build_model, train
from charlm.data import random_chunks
from charlm.runs import TRAIN_FILE, corpus


def step_per_character(model, optimizer, inputs, targets) -> float:
    """One coursework iteration: the model called once per character, loss summed."""
    state = None
    loss = 0.0
    optimizer.zero_grad()
    for t in range(inputs.shape[1]):
        logits, state = model(inputs[:, t:t + 1], state)
        loss = loss + F.cross_entropy(logits[:, 0], targets[:, t])
    loss.backward()
    optimizer.step()
    return loss.item() / inputs.shape[1]


def step_whole_chunk(model, optimizer, inputs, targets) -> float:
    """One charlm iteration: the whole chunk in one call, loss averaged."""
    logits, _ = model(inputs)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def time_steps(step, cfg: TrainConfig, data: torch.Tensor, n: int, warmup: int = 3) -> float:
    """Mean seconds per iteration of ``step`` over ``n`` iterations (after a warm-up)."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    for i in range(warmup + n):
        if i == warmup:
            start = time.perf_counter()
        step(model, optimizer, *random_chunks(data, cfg.chunk_len, cfg.batch_size, gen))
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive_iters", type=int, default=40)
    parser.add_argument("--fast_iters", type=int, default=300)
    parser.add_argument("--full", action="store_true", help="also time a full default run")
    args = parser.parse_args()

    cfg = TrainConfig()
    data = corpus(TRAIN_FILE)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"torch threads, torch {torch.__version__}, python {platform.python_version()}")
    print(f"setting: batch {cfg.batch_size}, chunk {cfg.chunk_len}, hidden {cfg.hidden_size}, "
          f"{cfg.n_layers} layers, {cfg.cell}")
    naive = time_steps(step_per_character, cfg, data, args.naive_iters)
    fast = time_steps(step_whole_chunk, cfg, data, args.fast_iters)
    print(f"per-character loop (coursework): {naive * 1000:8.1f} ms/iteration "
          f"-> {naive * cfg.n_epochs / 60:5.1f} min for {cfg.n_epochs} iterations")
    print(f"whole chunk per call (charlm):   {fast * 1000:8.1f} ms/iteration "
          f"-> {fast * cfg.n_epochs / 60:5.1f} min for {cfg.n_epochs} iterations")
    print(f"speed-up: {naive / fast:.1f}x")
    if args.full:
        result = train(cfg, data, verbose=False, progress=False)
        print(f"full default run (train(), with the printed samples): {result.wall_time:.1f} s, "
              f"final smoothed loss {result.final_loss:.4f}")


if __name__ == "__main__":
    main()
