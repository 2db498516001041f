"""Derived results computed once and kept: scores, intervals, yardsticks, dynamic-evaluation
grids, recordings of states, samples and their measures.

    @memo
    def scores(cfg: TrainConfig, texts: tuple[str, ...]) -> Scores: ...

A call of a decorated function looks its result up under a key made of exactly what the result
depends on:

- the function: its module and name;
- its arguments, each in a canonical form (:func:`canonical`): a :class:`~charlm.config.TrainConfig`
  by its run key (its settings, the checksum of its corpus and the training code's version), a
  model by the digest of its weights, a long text by its SHA-256, numbers and short strings as
  they are, dataclasses and containers field by field;
- the code: the digest of the function's module and of every charlm module it imports,
  directly or not (:mod:`charlm.codegraph`). A change in the maths recomputes the result; a
  change in a module it does not use (a sentence of the report) does not. No version number to
  bump by hand;
- the data: the committed checksums of the Dickens files (``data/SHA256SUMS``), so a function
  may take a corpus by its name;
- the torch version and the number of torch threads, since either can move the last bits.

Entries live in ``runs/results/<module>.<function>/``: ``<key>.pkl`` holds the result and
``<key>.json`` what went into the key and how long the result took (readable with any text
viewer; ``python -m charlm.memo`` lists them). They are this project's own files, written here:
never point ``CHARLM_RUNS_DIR`` at pickles from elsewhere. An entry that does not load is set
aside as ``<key>.pkl.damaged`` (never deleted) with one warning, and computed again, as the run
cache does. Two processes that ask for the same result at once (two notebooks executing
side by side) compute it once: the first holds ``<key>.lock`` while it computes, the second
waits for it and reads its entry.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import math
import os
import pickle
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
import torch

from . import codegraph, paths
from .atomic import atomic_write, file_lock
from .checkpoint import Checkpoint, fresh_file, weights_sha256
from .config import TrainConfig
from .errors import warn as _warn
from .runs import run_key

F = TypeVar("F", bound=Callable[..., Any])
SHORT = 200  # strings up to this length go into the key as they are; longer ones by digest


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data that identifies it: what a key is made of.

    Raises TypeError for a type that has no canonical form here, rather than keying it by
    something (an address, a repr) that would not identify it."""
    if value is None or isinstance(value, (bool, int, str)):
        if isinstance(value, str) and len(value) > SHORT:
            return {"sha256": hashlib.sha256(value.encode()).hexdigest()}
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, TrainConfig):
        return {"run": run_key(value)}
    if isinstance(value, Checkpoint):
        return {"run": value.meta.get("key") or weights_sha256(value.model)[:32]}
    if isinstance(value, torch.nn.Module):
        return {"weights": weights_sha256(value)[:32]}
    if isinstance(value, (torch.Tensor, np.ndarray)):
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
        arr = np.ascontiguousarray(arr)
        return {"array": hashlib.sha256(arr.tobytes()).hexdigest(), "shape": list(arr.shape),
                "dtype": str(arr.dtype)}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return canonical(value.item())
    if isinstance(value, Path):
        return {"path": str(value)}
    if isinstance(value, range):
        return {"range": [value.start, value.stop, value.step]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__qualname__,
                **{f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {"mapping": {k: canonical(v) for k, v in value.items()}}
        return {"mapping": [[canonical(k), canonical(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    raise TypeError(f"memo: no canonical form for an argument of type {type(value).__name__}")


@functools.cache
def _code(module: str) -> str:
    # Once per process: the code that runs is the code that was imported.
    return codegraph.module_digest(module)


def results_dir() -> Path:
    """Where the entries live: ``results/`` of :func:`charlm.paths.runs_dir`."""
    return paths.runs_dir() / "results"


def _describe(fn: Callable, args: tuple, kwargs: dict) -> dict[str, Any]:
    # bound to the parameters, defaults filled in: f(x), f(x=x) and f() with x the default agree
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    return {"function": f"{fn.__module__}.{fn.__qualname__}",
            "arguments": canonical(dict(bound.arguments)),
            "code": _code(fn.__module__), "data": _data(),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def _data() -> str:
    sums = paths.SUMS_FILE
    return hashlib.sha256(sums.read_bytes()).hexdigest()[:16] if sums.is_file() else ""


def key_of(fn: Callable, args: tuple, kwargs: dict) -> tuple[str, dict[str, Any]]:
    """The key of ``fn(*args, **kwargs)`` and the description it is the digest of."""
    described = _describe(fn, args, kwargs)
    blob = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24], described


def _load(path: Path, warn: Callable[[str], None] | None) -> tuple[bool, Any]:
    try:
        with open(path, "rb") as fh:
            return True, pickle.load(fh)
    except FileNotFoundError:
        return False, None
    except Exception as exc:  # truncated, overwritten, a class that no longer exists...
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    aside = fresh_file(path.parent, f"{path.name}.damaged", "")
    os.replace(path, aside)
    _warn(f"damaged result set aside as {aside}: {reason}; computing it again", warn)
    return False, None


def memo(fn: F) -> F:
    """Keep the results of ``fn`` on disk, keyed as the module says; ``fn.uncached`` is the
    function itself, ``fn.entry(*args, **kwargs)`` the path its result is (or would be) at."""

    folder_name = f"{fn.__module__}.{fn.__qualname__}"

    def entry(*args, **kwargs) -> Path:
        return results_dir() / folder_name / f"{key_of(fn, args, kwargs)[0]}.pkl"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        key, described = key_of(fn, args, kwargs)
        path = results_dir() / folder_name / f"{key}.pkl"
        found, value = _load(path, None)
        if found:
            return value
        with file_lock(path.with_suffix(".lock")):
            found, value = _load(path, None)  # computed meanwhile by the holder of the lock
            if found:
                return value
            start = time.perf_counter()
            value = fn(*args, **kwargs)
            seconds = time.perf_counter() - start
            with atomic_write(path) as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            note = described | {"seconds": round(seconds, 3), "written": time.strftime("%Y-%m-%d %H:%M:%S")}
            with atomic_write(path.with_suffix(".json"), "w") as fh:
                json.dump(note, fh, indent=1, sort_keys=True)
        return value

    wrapper.uncached = fn  # type: ignore[attr-defined]
    wrapper.entry = entry  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def entries(folder: Path | None = None) -> list[dict[str, Any]]:
    """What every kept result says of itself (its ``.json``), with its path and size."""
    folder = folder or results_dir()
    out = []
    for note in sorted(folder.glob("*/*.json")):
        try:
            info = json.loads(note.read_text())
        except (OSError, ValueError):
            continue
        pkl = note.with_suffix(".pkl")
        info.update(path=str(pkl), bytes=pkl.stat().st_size if pkl.is_file() else 0)
        out.append(info)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m charlm.memo``: one line per kept result (function, seconds, size, when)."""
    rows = entries()
    for r in rows:
        print(f"{r['function']:<60} {r.get('seconds', 0):8.1f} s {r['bytes'] / 1e6:8.2f} MB  "
              f"{r.get('written', '')}")
    total = sum(r.get("seconds", 0) for r in rows)
    print(f"{len(rows)} results in {results_dir()}, {total / 60:.1f} min of computing kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["SHORT", "canonical", "entries", "key_of", "memo", "results_dir"]
