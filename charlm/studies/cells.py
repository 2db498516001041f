"""LSTM, GRU and plain RNN compared at equal parameter count and at equal training time.

:func:`hidden_for_params` finds the hidden size that gives a GRU or a plain RNN about the
parameter count of a given LSTM; :func:`cell_comparison_configs` makes one config per cell with
that size and otherwise identical settings, in particular the same ``n_epochs`` (each iteration
is one batch of random chunks, so every cell sees the same characters). At equal parameter count
the cells also do about the same arithmetic per character (an LSTM layer costs ~8h^2
multiply-adds per character for 8h^2 weights, a GRU ~6h^2 for 6h^2, an RNN ~2h^2 for 2h^2; the
embedding and decoder are the same few percent), so equal ``n_epochs`` would be about equal time
*if the kernels were equally good*. On the CPU they are not (PyTorch runs the LSTM as a fused
oneDNN kernel and the recurrence of the other two step by step; the report measures the
difference with :func:`iteration_times` and explains it with :func:`operator_calls`). So there
are two fair comparisons: equal data (:func:`cell_comparison_configs`, which compares the
architectures) and equal time (:func:`equal_time_configs`, which compares what each cell
achieves on this software and hardware in the LSTM's time).

:func:`iteration_times` measures the time per iteration once per config and machine and keeps
it under ``runs/timings/``, so the equal-time runs keep their iteration counts, and so their
cache keys, from one report build to the next. :func:`compare_cells` gathers what the report
shows of the runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from .. import paths
from ..atomic import atomic_write_text
from ..config import CELLS, TrainConfig
from ..corpora import corpus
from ..errors import ConfigError
from ..machine import cpu_model
from ..model import CharRNN
from ..runs import run_key, torch_threads
from ..train import train

# ---------------------------------------------------------------------------------------------
# LSTM vs GRU vs RNN at equal parameter count


def n_params(cell: str, hidden_size: int, n_layers: int) -> int:
    """Trainable parameters of ``CharRNN(hidden_size, n_layers, cell)``."""
    return CharRNN(hidden_size, n_layers, cell).n_params()


def hidden_for_params(cell: str, target_params: int, n_layers: int) -> int:
    """The hidden size whose ``cell`` model has the parameter count closest to ``target_params``.

    Binary search on :meth:`CharRNN.n_params` (which grows strictly with the hidden size) for the
    smallest size reaching the target, then whichever of it and the size below is closer (the
    smaller on a tie).
    """
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if target_params < 1 or n_layers < 1:
        raise ConfigError("target_params and n_layers must be positive")
    lo, hi = 1, 2
    while n_params(cell, hi, n_layers) < target_params:
        lo, hi = hi, hi * 2
    while lo < hi:  # invariant: n_params(hi) >= target (or hi is the upper start)
        mid = (lo + hi) // 2
        if n_params(cell, mid, n_layers) >= target_params:
            hi = mid
        else:
            lo = mid + 1
    if hi > 1 and (target_params - n_params(cell, hi - 1, n_layers)
                   <= n_params(cell, hi, n_layers) - target_params):
        return hi - 1
    return hi


def cell_comparison_configs(base: TrainConfig | None = None,
                            cells: Sequence[str] = CELLS) -> list[TrainConfig]:
    """One config per cell at the parameter count of ``base`` (default: the coursework's LSTM).

    The hidden size of each cell comes from :func:`hidden_for_params`; everything else (layers,
    ``n_epochs``, learning rate, chunk length, batch, seed...) is ``base``'s, so the runs differ
    only in the cell and its width. Returns the configs in the order of ``cells``.
    """
    base = base or TrainConfig()
    target = n_params(base.cell, base.hidden_size, base.n_layers)
    return [base.replace(cell=cell, hidden_size=hidden_for_params(cell, target, base.n_layers))
            for cell in cells]


def time_per_iteration(cfg: TrainConfig, n: int = 20, threads: int = 1) -> float:
    """Seconds per training iteration of ``cfg`` on this machine.

    Trains ``n`` iterations (on the training corpus of ``cfg``) with ``threads`` torch threads,
    as a study runs each run with one, and returns the loop's wall time over ``n``.
    """
    with torch_threads(threads):
        probe = cfg.replace(n_epochs=n, print_every=10**9, plot_every=min(cfg.plot_every, n))
        result = train(probe, data=corpus(cfg.corpus), verbose=False, progress=False)
    return result.wall_time / max(1, result.iterations)


def equal_time_configs(base: TrainConfig | None = None, cells: Sequence[str] = CELLS,
                       seconds_per_iteration: dict[str, float] | None = None,
                       n: int = 20) -> list[TrainConfig]:
    """:func:`cell_comparison_configs` with ``n_epochs`` scaled to equal training time.

    The first cell keeps ``base.n_epochs``; every other cell gets the iterations that take the
    same time by ``seconds_per_iteration`` (per cell; measured with :func:`time_per_iteration`
    when not given), rounded to two significant digits and to a multiple of ``plot_every``.
    Measured times depend on the machine, so print the resulting ``n_epochs`` and pin them
    (e.g. as notebook parameters) when the runs must be found in the cache again.
    """
    cfgs = cell_comparison_configs(base, cells)
    if seconds_per_iteration is None:
        seconds_per_iteration = {c.cell: time_per_iteration(c, n) for c in cfgs}
    budget = cfgs[0].n_epochs * seconds_per_iteration[cfgs[0].cell]
    out = [cfgs[0]]
    for cfg in cfgs[1:]:
        iters = float(f"{budget / seconds_per_iteration[cfg.cell]:.2g}")
        iters = max(cfg.plot_every, round(iters / cfg.plot_every) * cfg.plot_every)
        out.append(cfg.replace(n_epochs=iters))
    return out


TIMINGS_DIR = "timings"  # under runs/: measured seconds per iteration, one JSON file per config


def timing_path(cfg: TrainConfig, n: int = 20, threads: int = 1) -> Path:
    """Where :func:`iteration_times` keeps the measurement of ``cfg`` (under ``runs/timings``)."""
    return paths.runs_dir() / TIMINGS_DIR / f"{run_key(cfg)}_n{n}_t{threads}.json"


def _machine() -> dict[str, str]:
    """What a timing depends on besides the config: torch, the CPU and its core count."""
    return {"torch_version": str(torch.__version__), "cpu": cpu_model(),
            "cpu_count": str(os.cpu_count())}


def iteration_times(configs: Sequence[TrainConfig], n: int = 20, threads: int = 1,
                    refresh: bool = False) -> dict[str, float]:
    """Seconds per training iteration of each config (keyed by its cell), measured once.

    Each config is timed with :func:`time_per_iteration` the first time and the result kept in
    ``runs/timings/<run key>_n<n>_t<threads>.json`` with the torch version and the CPU it was
    measured on; later calls on the same software and CPU read it back (``refresh=True``
    measures again). Timings vary from one measurement to the next, and the iteration counts
    of :func:`equal_time_configs` come from them: without this, rebuilding the report after a
    prose edit could give the GRU 370 iterations instead of 380, a new run key, and a
    retrained run. The cells of ``configs`` must differ.
    """
    cells = [c.cell for c in configs]
    if len(set(cells)) != len(cells):
        raise ConfigError(f"iteration_times needs one config per cell, got cells {cells}")
    machine = _machine()
    out = {}
    for cfg in configs:
        path = timing_path(cfg, n, threads)
        record = None
        if path.is_file() and not refresh:
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                record = None  # a damaged file is measured again
            if not isinstance(record, dict) or any(record.get(k) != v for k, v in machine.items()):
                record = None
        if record is None or not isinstance(record.get("seconds_per_iteration"), (int, float)):
            record = {"seconds_per_iteration": time_per_iteration(cfg, n, threads),
                      "n": n, "threads": threads, "cell": cfg.cell,
                      "hidden_size": cfg.hidden_size, **machine}
            atomic_write_text(path, json.dumps(record, indent=1) + "\n")
        out[cfg.cell] = float(record["seconds_per_iteration"])
    return out


def operator_calls(cfg: TrainConfig) -> dict[str, int]:
    """How many times each torch operator runs in one forward and backward pass of ``cfg``.

    One chunk of ``chunk_len`` characters through the model of ``cfg`` (random weights and
    characters: the count does not depend on them), then ``backward``; the optimiser step is
    left out. Keys are ATen operator names (``"aten.addmm"``...). A cell that PyTorch runs as
    one fused kernel per layer shows a few dozen calls in all (the LSTM on the CPU:
    ``aten.mkldnn_rnn_layer``); a cell computed step by step shows several per character.
    Counted with a ``TorchDispatchMode``, which sees every operator below autograd.
    """
    calls: dict[str, int] = {}

    class _Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func.overloadpacket)
            calls[name] = calls.get(name, 0) + 1
            return func(*args, **(kwargs or {}))

    model = CharRNN(cfg.hidden_size, cfg.n_layers, cfg.cell)
    x = torch.randint(0, model.vocab_size, (cfg.batch_size, cfg.chunk_len),
                      generator=torch.Generator().manual_seed(0))
    with _Count():
        logits, _ = model(x)
        logits.sum().backward()
    return calls




__all__ = ["cell_comparison_configs", "equal_time_configs", "hidden_for_params", "iteration_times",
           "n_params", "operator_calls", "time_per_iteration", "timing_path"]
