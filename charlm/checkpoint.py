"""The one checkpoint format: weights + config + vocabulary + loss history + run metadata, and,
for a run that was interrupted, what it needs to go on (optimiser, random states, position).

Saved atomically; loaded with ``torch.load(weights_only=True)`` so a file can never run code
while it is read, and with ``map_location`` so a GPU checkpoint loads on the CPU. Every way a
file can be wrong (missing, a folder, empty, truncated, random bytes, text, a pickle that
tries to run code, another program's checkpoint, another vocabulary or architecture) gives a
:class:`~charlm.errors.CheckpointError` with one line saying so.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_write
from .config import TrainConfig
from .data import VOCAB
from .errors import CharlmError, CheckpointError
from .errors import warn as _warn
from .model import CharRNN, Ensemble, build_model

FORMAT = "charlm.checkpoint"
# 2: version 1 and, optionally, the ``resume`` state of an interrupted run and, in the meta, the
# ``init_from`` of a fine-tuned one. Version 1 files load as they are (they hold neither).
VERSION = 2
READS = (1, 2)


@dataclass
class Checkpoint:
    """A loaded (or about to be saved) model with everything needed to reuse it."""

    model: CharRNN | Ensemble
    config: TrainConfig
    history: list[float] = field(default_factory=list)  # average loss every plot_every iterations
    meta: dict[str, Any] = field(default_factory=dict)  # status, iterations, timings, versions...
    # an interrupted run's state, to go on from (charlm.train.TrainResult.resume); None for a
    # finished run. Tensors and plain data only, like the rest of the file
    resume: dict[str, Any] | None = None


def weights_sha256(model: torch.nn.Module) -> str:
    """The SHA-256 of ``model``'s weights (names, dtypes, shapes and values, in state-dict order):
    the identity of the model a run starts from, the same before a save and after a load."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _on_cpu(value: Any) -> Any:
    """``value`` (tensors in dicts, lists and tuples) with every tensor detached on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


def save_checkpoint(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write ``ckpt`` to ``path`` atomically (temporary file + rename). Returns the path."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "vocab": VOCAB,
        "config": ckpt.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in ckpt.model.state_dict().items()},
        "history": [float(x) for x in ckpt.history],
        "meta": dict(ckpt.meta),
    }
    if ckpt.resume is not None:
        payload["resume"] = _on_cpu(ckpt.resume)
    with atomic_write(path) as fh:  # the raw path: atomic_write refuses "folder/" itself
        torch.save(payload, fh)
    return Path(path)


def save_checkpoint_or_fallback(
    path: str | Path, ckpt: Checkpoint, fallback_dir: str | Path,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Save ``ckpt`` to ``path``; if that fails, to a new file in ``fallback_dir``. Returns where.

    For the end of a long run: a write that fails then (a full disk, a folder removed or made
    read-only meanwhile) must not lose what was computed. On an ``OSError`` the checkpoint goes
    to ``fallback_dir/rescued-<YYYYmmdd-HHMMSS>.pt`` (``-2``, ``-3``... if taken; an existing
    file is never overwritten) and ``warn`` gets one line, ``could not write X (reason); saved
    the checkpoint to Y instead`` (default: ``charlm: warning: ...`` on stderr). When the
    fallback fails too, a :class:`CheckpointError` names both reasons.
    """
    try:
        return save_checkpoint(path, ckpt)
    except OSError as exc:
        reason = exc.strerror or str(exc)
    rescue = None
    try:
        rescue = fresh_file(Path(fallback_dir), f"rescued-{time.strftime('%Y%m%d-%H%M%S')}", ".pt")
        save_checkpoint(rescue, ckpt)
    except OSError as exc2:
        if rescue is not None:
            with contextlib.suppress(OSError):
                rescue.unlink()  # the empty placeholder
        raise CheckpointError(
            f"could not write the checkpoint to {path} ({reason}) nor to {fallback_dir} "
            f"({exc2.strerror or exc2})"
        ) from None
    message = f"could not write {path} ({reason}); saved the checkpoint to {rescue} instead"
    _warn(message, warn)
    return rescue


def fresh_file(folder: Path, stem: str, suffix: str) -> Path:
    """Create and return an empty file ``folder/stem<suffix>`` (or ``stem-2``...) that did not exist."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free name {stem}-N{suffix} in {folder}")


def _torch_load(path: Path, map_location, zip_start: bool) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": noise for users
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types on garbage; all mean "not readable"
        text = str(exc)
        if "GLOBAL" in text or "Unsupported global" in text:
            raise CheckpointError(
                f"checkpoint {path} refers to Python objects other than tensors and plain data "
                f"(refused: loading it could run code)"
            ) from None
        reason = "truncated or corrupt torch file" if zip_start else "not a torch file"
        raise CheckpointError(f"checkpoint {path} is not a charlm checkpoint ({reason})") from None


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu", expect: dict[str, Any] | None = None
) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`.

    ``expect`` optionally names config fields the caller needs (e.g. ``{"hidden_size": 128}``);
    a mismatch is a :class:`CheckpointError`.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a directory, not a file")
    try:
        with open(path, "rb") as fh:  # opened once: a file that cannot be read says so here
            if os.fstat(fh.fileno()).st_size == 0:
                raise CheckpointError(f"checkpoint {path} is empty")
            zip_start = fh.read(4) == b"PK\x03\x04"  # torch files are zip archives
    except OSError as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc.strerror or exc})") from None
    payload = _torch_load(path, map_location, zip_start)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a torch file but not a charlm checkpoint")
    if payload.get("version") not in READS:
        raise CheckpointError(
            f"checkpoint {path} has format version {payload.get('version')!r}; this charlm reads "
            f"{' and '.join(map(str, READS))}"
        )
    if payload.get("vocab") != VOCAB:
        raise CheckpointError(
            f"checkpoint {path} was trained with a different vocabulary "
            f"({len(payload.get('vocab') or '')} symbols); this charlm uses string.printable (100)"
        )
    try:
        config = TrainConfig.from_dict(payload["config"], what=f"checkpoint {path} config")
    except (KeyError, CharlmError) as exc:
        raise CheckpointError(f"checkpoint {path} has an invalid config: {exc}") from None
    for key, want in (expect or {}).items():
        have = getattr(config, key)
        if have != want:
            raise CheckpointError(f"checkpoint {path} has {key}={have!r}, but {want!r} was asked for")
    model = build_model(config)
    try:
        model.load_state_dict(_one_layout(payload["state_dict"]))
    except (KeyError, RuntimeError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()]
        detail = lines[0].rstrip(".") if lines else str(exc).splitlines()[0]
        raise CheckpointError(
            f"checkpoint {path} weights do not match its architecture ({detail})"
        ) from None
    model.to(map_location)
    resume = payload.get("resume")
    if resume is not None and not (isinstance(resume, dict)
                                   and {"config", "members", "loop"} <= resume.keys()):
        raise CheckpointError(f"checkpoint {path} has a damaged resume state")
    return Checkpoint(model, config, list(payload.get("history", [])), dict(payload.get("meta", {})),
                      resume)


# Checkpoints written before the model had one parameter layout named a regularised model's
# layers ``rnn.layers.<i>.<weight>_l0``; the fused layout names them ``rnn.<weight>_l<i>``.
_LAYER_KEY = re.compile(r"^(.*)rnn\.layers\.(\d+)\.(\w+)_l0$")


def _one_layout(state_dict: dict[str, Any]) -> dict[str, Any]:
    """``state_dict`` with any layer-by-layer names of older checkpoints in the fused layout."""
    return {_LAYER_KEY.sub(r"\1rnn.\3_l\2", k): v for k, v in state_dict.items()}
