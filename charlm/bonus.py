"""The bonus (coursework part 4.5): other recurrent cells, and another kind of text.

Cells at equal size
    :func:`hidden_for_params` finds the hidden size that gives a GRU or a plain RNN about the
    parameter count of a given LSTM; :func:`cell_comparison_configs` makes one config per cell
    with that size and otherwise identical settings, in particular the same ``n_epochs`` (each
    iteration is one batch of random chunks, so every cell sees the same characters). At equal
    parameter count the cells also do about the same arithmetic per character (an LSTM layer
    costs ~8h^2 multiply-adds per character for 8h^2 weights, a GRU ~6h^2 for 6h^2, an RNN ~2h^2
    for 2h^2; the embedding and decoder are the same few percent), so equal ``n_epochs`` would
    be about equal time *if the kernels were equally good*. On the CPU they are not: PyTorch
    trains the LSTM with a fused oneDNN kernel, the GRU and the RNN step by step, and with torch
    2.13 on this 2-core machine (one thread, chunks of 200) a training iteration at the default
    size took 9 ms for the LSTM (hidden 128), 81 ms for the GRU (hidden 147) and 44 ms for the
    RNN (hidden 245). So there are two fair comparisons: equal data (same ``n_epochs``:
    :func:`cell_comparison_configs`, which compares the architectures) and equal time
    (:func:`equal_time_configs`, which compares what each cell achieves on this software and
    hardware in the LSTM's time). :func:`iteration_times` measures the time per iteration once
    per config and machine and keeps it under ``runs/timings/``, so the equal-time runs keep
    their iteration counts, and so their cache keys, from one report build to the next;
    :func:`charlm.plots.plot_loss_by_time` draws loss curves against training seconds.

Python source code
    :func:`python_corpus` writes a training corpus of Python source taken from the standard
    library of the running Python (present on every machine; no download) and a held-out part
    made of *other* files, for BPC. Both are plain-text files under
    ``runs/corpora/`` whose paths work as ``TrainConfig(corpus=path)`` / ``--corpus PATH``.

Vocabulary handling of the source corpus (the same rules as every charlm corpus, see
:mod:`charlm.data`): files are read as UTF-8 (PEP 3120) with universal newlines (``\\r\\n`` ->
``\\n``); non-ASCII characters (authors' names, a few string literals) are transliterated with
``unidecode``; tab, newline, vertical tab and form feed are in ``string.printable`` and kept.
A file that still holds any character outside ``string.printable`` afterwards (a control
character such as ESC written literally), or that is not valid UTF-8, is **skipped whole** --
never edited line by line, so every file in the corpus is the real source -- and counted in
the manifest. The written files are therefore pure ASCII in the vocabulary, and
:func:`charlm.data.read_text` reads them unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from unidecode import unidecode

from . import paths
from .atomic import atomic_write_text
from .config import CELLS, TrainConfig
from .data import VOCAB, normalise
from .errors import CharlmError, ConfigError, DataError
from .model import CharRNN

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
    from .runs import corpus, torch_threads
    from .train import train

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
    from .runs import run_key

    return paths.runs_dir() / TIMINGS_DIR / f"{run_key(cfg)}_n{n}_t{threads}.json"


def _machine() -> dict[str, str]:
    """What a timing depends on besides the config: torch, the CPU and its core count."""
    import torch

    from .display import cpu_model

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
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

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


# ---------------------------------------------------------------------------------------------
# a corpus of Python source from the standard library

TRAIN_BYTES = 1_000_000  # stop adding training files once this many characters are in
HELDOUT_BYTES = 100_000  # then the held-out part, from the next files in the same order
MAX_FILE_BYTES = 100_000  # larger files (typing.py, the pydoc topics) would dominate; skipped
# Folders whose files are not representative hand-written library code, or are machine-specific.
EXCLUDED_DIRS = frozenset({
    "test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__",
    "pydoc_data",  # one 750 KB string table
    "encodings",  # generated codec tables
})
EXCLUDED_PREFIXES = ("_sysconfigdata", "config-")  # build configuration of this installation
CORPUS_NAME = "python_stdlib"


@dataclass
class PythonCorpus:
    """What :func:`python_corpus` wrote: paths, the Python it came from, and sizes."""

    train_path: Path
    heldout_path: Path
    manifest_path: Path
    python_version: str  # e.g. "3.11.7"
    implementation: str  # e.g. "CPython"
    stdlib: str  # the folder the files were read from
    train_files: list[str] = field(default_factory=list)  # relative paths, in corpus order
    heldout_files: list[str] = field(default_factory=list)
    train_chars: int = 0  # characters (= bytes: the files are ASCII)
    heldout_chars: int = 0
    candidates: int = 0  # .py files eligible by folder, name and size
    skipped: dict[str, str] = field(default_factory=dict)  # relative path -> reason
    train_sha256: str = ""
    heldout_sha256: str = ""

    def summary(self) -> str:
        """One line for logs and the report."""
        return (f"Python {self.python_version} stdlib: {len(self.train_files)} files, "
                f"{self.train_chars:,} characters for training; {len(self.heldout_files)} other "
                f"files, {self.heldout_chars:,} characters held out; "
                f"{len(self.skipped)} files skipped")


def stdlib_dir() -> Path:
    """The standard library folder of the running Python (also when run from a venv)."""
    return Path(sysconfig.get_paths()["stdlib"])


def _order_key(rel: str) -> str:
    # Order by a hash of the relative path: a fixed shuffle, the same on every machine, that
    # mixes packages and modules (alphabetical order would start with asyncio and ctypes).
    return hashlib.sha256(rel.encode()).hexdigest()


def stdlib_files(root: str | Path | None = None, max_file_bytes: int = MAX_FILE_BYTES) -> list[str]:
    """Eligible ``.py`` files under ``root`` (default :func:`stdlib_dir`), in corpus order.

    Relative POSIX paths, ordered by the SHA-256 of the path (see ``_order_key``), leaving out
    the folders in :data:`EXCLUDED_DIRS`, build-configuration files and files larger than
    ``max_file_bytes``.
    """
    root = Path(root) if root is not None else stdlib_dir()
    out = []
    for folder, dirs, names in os.walk(root):
        # prune excluded folders (the test suite alone is 12,000 files)
        dirs[:] = [d for d in dirs
                   if d not in EXCLUDED_DIRS and not d.startswith(EXCLUDED_PREFIXES)]
        for name in names:
            if not name.endswith(".py") or name.startswith(EXCLUDED_PREFIXES):
                continue
            path = Path(folder, name)
            if path.is_file() and path.stat().st_size <= max_file_bytes:
                out.append(path.relative_to(root).as_posix())
    return sorted(out, key=_order_key)


def source_text(path: Path) -> str:
    """A source file as corpus text: UTF-8, universal newlines, unidecode, in the vocabulary.

    Raises :class:`SkipFile` with the reason for a file that cannot be used whole.
    """
    try:
        with open(path, encoding="utf-8", newline=None) as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise SkipFile("not UTF-8") from None
    try:
        return normalise(text, what=str(path))
    except DataError:
        bad = next(ch for ch in unidecode(text) if ch not in VOCAB)
        raise SkipFile(f"character {bad!r} (code {ord(bad)}) is not in string.printable "
                       f"after unidecode") from None


class SkipFile(CharlmError):
    """A standard-library file that cannot go into the corpus whole."""


def build_python_corpus(root: str | Path | None = None, train_bytes: int = TRAIN_BYTES,
                        heldout_bytes: int = HELDOUT_BYTES,
                        max_file_bytes: int = MAX_FILE_BYTES) -> tuple[str, str, dict]:
    """The training text, the held-out text and a manifest, without writing anything.

    Files are taken in :func:`stdlib_files` order; each is preceded by a comment line
    ``# file: <relative path>`` and followed by a blank line. Files go to the training text
    until it holds at least ``train_bytes`` characters, then to the held-out text until it
    holds ``heldout_bytes``; so no file is in both.
    """
    root = Path(root) if root is not None else stdlib_dir()
    files = stdlib_files(root, max_file_bytes)
    parts: dict[str, list[str]] = {"train": [], "heldout": []}
    names: dict[str, list[str]] = {"train": [], "heldout": []}
    sizes = {"train": 0, "heldout": 0}
    skipped: dict[str, str] = {}
    for rel in files:
        which = "train" if sizes["train"] < train_bytes else "heldout"
        if which == "heldout" and sizes["heldout"] >= heldout_bytes:
            break
        try:
            text = source_text(root / rel)
        except SkipFile as exc:
            skipped[rel] = str(exc)
            continue
        block = f"# file: {rel}\n{text.rstrip()}\n\n"
        parts[which].append(block)
        names[which].append(rel)
        sizes[which] += len(block)
    if sizes["train"] < train_bytes or sizes["heldout"] < heldout_bytes:
        raise DataError(
            f"the standard library at {root} gives only {sizes['train']:,} + "
            f"{sizes['heldout']:,} characters; {train_bytes:,} + {heldout_bytes:,} were asked for")
    manifest = {
        "python_version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "stdlib": str(root),
        "candidates": len(files),
        "train_files": names["train"],
        "heldout_files": names["heldout"],
        "skipped": skipped,
    }
    return "".join(parts["train"]), "".join(parts["heldout"]), manifest


def python_corpus(out_dir: str | Path | None = None, root: str | Path | None = None,
                  train_bytes: int = TRAIN_BYTES, heldout_bytes: int = HELDOUT_BYTES,
                  max_file_bytes: int = MAX_FILE_BYTES) -> PythonCorpus:
    """Write the Python-source corpus (see :func:`build_python_corpus`) and return its record.

    Writes ``python_stdlib.txt`` (training), ``python_stdlib_heldout.txt`` and
    ``python_stdlib.json`` (the manifest: Python version, file lists, sizes, checksums) into
    ``out_dir`` (default ``runs/corpora``), each atomically and only when its content changed
    (so the files' modification times, and charlm's memo of the encoded corpus, stay put).
    The same Python version with the same standard-library files gives byte-identical files
    on every machine; the manifest says what went in.
    """
    out_dir = Path(out_dir) if out_dir is not None else paths.runs_dir() / "corpora"
    train_text, heldout_text, manifest = build_python_corpus(
        root, train_bytes, heldout_bytes, max_file_bytes)
    rec = PythonCorpus(
        train_path=out_dir / f"{CORPUS_NAME}.txt",
        heldout_path=out_dir / f"{CORPUS_NAME}_heldout.txt",
        manifest_path=out_dir / f"{CORPUS_NAME}.json",
        python_version=manifest["python_version"],
        implementation=manifest["implementation"],
        stdlib=manifest["stdlib"],
        train_files=manifest["train_files"],
        heldout_files=manifest["heldout_files"],
        train_chars=len(train_text),
        heldout_chars=len(heldout_text),
        candidates=manifest["candidates"],
        skipped=manifest["skipped"],
        train_sha256=hashlib.sha256(train_text.encode()).hexdigest(),
        heldout_sha256=hashlib.sha256(heldout_text.encode()).hexdigest(),
    )
    record = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(rec).items()}
    record["python"] = sys.version
    for path, text in ((rec.train_path, train_text), (rec.heldout_path, heldout_text),
                       (rec.manifest_path, json.dumps(record, indent=1) + "\n")):
        if not path.is_file() or path.read_text(encoding="utf-8", errors="replace") != text:
            atomic_write_text(path, text)
    return rec


def python_corpus_config(base: TrainConfig | None = None, **corpus_kwargs) -> TrainConfig:
    """``base`` (default: the coursework defaults) trained on the Python corpus.

    Writes the corpus if needed (keyword arguments go to :func:`python_corpus`).
    """
    base = base or TrainConfig()
    return base.replace(corpus=str(python_corpus(**corpus_kwargs).train_path))


__all__ = ["EXCLUDED_DIRS", "PythonCorpus", "SkipFile", "build_python_corpus",
           "cell_comparison_configs", "equal_time_configs", "hidden_for_params", "iteration_times",
           "n_params", "operator_calls", "python_corpus", "python_corpus_config", "source_text",
           "stdlib_dir", "stdlib_files", "time_per_iteration", "timing_path"]
