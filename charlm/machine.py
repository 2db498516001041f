"""What machine and code a result came from: CPU, versions, commit, threads."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy
import pandas
import torch

from . import __version__, paths
from .data import VOCAB_SIZE
from .errors import ConfigError


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else :func:`platform.processor`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """Short commit of the repository, with ``+changes`` when the tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.ROOT,
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown (not a git checkout)"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=paths.ROOT, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + (" +changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict[str, str]:
    """What this report ran on: versions, CPU, cores and torch threads."""
    return {
        "charlm": f"{__version__} (commit {git_commit()})",
        "Python": platform.python_version(),
        "torch": str(torch.__version__),
        "numpy / pandas": f"{numpy.__version__} / {pandas.__version__}",
        "OS": platform.platform(),
        "CPU": cpu_model(),
        "logical CPUs": str(os.cpu_count()),
        "torch threads in this kernel": str(torch.get_num_threads()),
        "CUDA available": str(torch.cuda.is_available()),
        "interpreter": sys.executable,
    }


def available_memory() -> int:
    """Bytes of memory this process can still get: the kernel's ``MemAvailable``, lowered to
    what a cgroup limit (a container) leaves; without /proc, the free physical pages."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            found.append(max(0, int(limit) - int(used)))
    except OSError:
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError):
            return 1 << 62  # unknown: do not refuse anything
    return min(found)


GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # weight blocks per recurrent layer


def parameter_count(cfg) -> int:
    """The parameters of the model ``cfg`` describes, counted in Python integers without building
    it (no size overflows, nothing allocated): embedding, ``n_layers`` recurrent layers of
    :data:`GATES` blocks (input and hidden weights, two biases), decoder; ``ensemble`` times.
    ``tests/test_failure_paths.py`` checks it against the built model."""
    h, gates = cfg.hidden_size, GATES[cfg.cell]
    layer = gates * h * (h + h) + 2 * gates * h
    return cfg.ensemble * (VOCAB_SIZE * h + cfg.n_layers * layer + h * VOCAB_SIZE + VOCAB_SIZE)


def training_bytes(cfg) -> int:
    """A lower bound on the memory training ``cfg`` takes, in bytes: the parameters
    (:func:`parameter_count`) held four times in float32 (weights, gradients, Adam's two
    moments), and for each of the ``batch_size x chunk_len`` positions its layers' gates and
    states and its scores, kept for the backward pass."""
    positions = cfg.batch_size * cfg.chunk_len
    return 4 * (4 * parameter_count(cfg)
                + positions * (8 * cfg.hidden_size * cfg.n_layers + 3 * VOCAB_SIZE))


def check_memory(needed: int, what: str) -> None:
    """:class:`ConfigError` (one line, both figures) when ``needed`` bytes exceed
    :func:`available_memory`: better refused at once than reaching the allocator, or the
    kernel's out-of-memory killer, after minutes of work."""
    have = available_memory()
    if needed > have:
        raise ConfigError(f"{what} needs at least {_gb(needed)} of memory; this machine has "
                          f"{_gb(have)} available (make it smaller)")


def check_trainable(cfg) -> None:
    """``cfg`` can be trained on this machine: its memory (:func:`training_bytes`) fits."""
    models = f"{cfg.ensemble} models of " if cfg.ensemble > 1 else ""
    check_memory(training_bytes(cfg), f"training {models}hidden_size {cfg.hidden_size} x n_layers "
                 f"{cfg.n_layers} on batch_size {cfg.batch_size} x chunk_len {cfg.chunk_len}")


# Multiply-adds of the recurrent layers per training step from which a second torch thread may
# pay, on free cores (see choose_threads). A cautious guess above the preset best (3.4 G), not yet
# an idle measurement: benchmarks/bench_threads.py measures it (7 Dec 2026, two busy cores: two
# threads made every setting's step 10 to 40 times slower).
MULTI_THREAD_WORK = 5e9


def step_work(cfg) -> int:
    """Multiply-adds of the recurrent layers in one training step of ``cfg``, forward: each of
    the ``batch_size x chunk_len`` positions multiplies, in each layer, the input and the state
    by :data:`GATES` blocks of ``hidden_size x hidden_size`` weights. The backward pass costs
    about twice that again; the rest of a step (embedding, decoder, optimiser) is small beside
    it for any but the narrowest models."""
    h = cfg.hidden_size
    return cfg.batch_size * cfg.chunk_len * cfg.n_layers * GATES[cfg.cell] * 2 * h * h


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def two_cores_free() -> bool:
    """Whether two usable cores are free: the load average leaves them (at most cores - 1.5)."""
    cores = usable_cores()
    return cores >= 2 and os.getloadavg()[0] <= cores - 1.5


def choose_threads(cfg, given: int | None = None, resumed: int | None = None) -> tuple[int, str]:
    """The number of torch threads to train ``cfg`` with, and why (for one printed line).

    ``given`` (``--threads``) wins; then ``resumed``, the count an interrupted run had (a run
    goes on exactly only with the same count); then ``OMP_NUM_THREADS`` when set. Otherwise
    one thread, and two only for a step of at least :data:`MULTI_THREAD_WORK` multiply-adds
    (:func:`step_work`) when two cores are free (the load average leaves them). torch's threads
    spin while they wait for each other: a small step gains nothing from a second one, and next
    to any other busy process every step waits for a thread that is not running (20 iterations
    of the default model: 0.3 s with one thread, 3.4 s with one per core; a step of the preset
    ``best`` took 20 times as long with two threads as with one on a busy 2-core machine).
    More than two were never measured, so never chosen.
    """
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int) or given < 1:
            raise ConfigError(f"threads must be a positive integer, got {given!r}")
        return given, "--threads"
    if resumed:
        return resumed, "as the run being resumed had; --threads N overrides"
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env), "OMP_NUM_THREADS; --threads N overrides"
    work, cores = step_work(cfg), usable_cores()
    if work < MULTI_THREAD_WORK or cores < 2:
        return 1, (f"a step of this model ({work / 1e9:.2g} G multiply-adds) is too small to "
                   f"gain from a second thread, which would slow it down next to any busy "
                   f"process; --threads N overrides" if cores > 1 else "one core")
    if not two_cores_free():
        load = os.getloadavg()[0]
        return 1, (f"a step of this model ({work / 1e9:.2g} G multiply-adds) could use a second "
                   f"thread, but the cores are busy (load average {load:.1f} on {cores}) and "
                   f"waiting threads would spin; --threads N overrides")
    return 2, (f"a step of this model ({work / 1e9:.2g} G multiply-adds) is large enough to "
               f"gain from a second thread, and two cores are free; --threads N overrides")


def _gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB" if n < 1e15 else f"{n / 1e9:.2e} GB"


__all__ = ["two_cores_free", "available_memory", "check_memory", "check_trainable", "choose_threads", "cpu_model",
           "environment", "git_commit", "parameter_count", "step_work", "training_bytes",
           "usable_cores"]
