"""Cached training runs.

A run is keyed by its settings, the checksum of its training corpus and its seed. A run trained
once is saved under ``runs/cache/<key>.pt`` (the ordinary checkpoint format) and reused by every
later caller with the same settings: the CLI, the studies and the notebooks. Re-running the
report after a prose edit therefore trains nothing.

"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import torch

from . import paths
from .checkpoint import Checkpoint, fresh_file, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .corpora import corpus, corpus_sha
from .data import split_corpus
from .errors import CheckpointError
from .errors import warn as _warn
from .machine import check_trainable
from .train import TrainResult, resolve_device, train

# Raised whenever the code would train the same settings into other weights (or another
# checkpoint layout): every entry cached before is then simply trained again, under a new key.
KEY_VERSION = 2


def run_key(cfg: TrainConfig) -> str:
    """A stable 16-hex-digit key for the weights ``cfg`` produces on its corpus with this
    version of the training code (:data:`KEY_VERSION`)."""
    blob = json.dumps({"settings": cfg.training_settings(), "data": corpus_sha(cfg.corpus),
                       "version": KEY_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_path(cfg: TrainConfig) -> Path:
    """Where the cached checkpoint of ``cfg`` lives."""
    return paths.runs_dir() / "cache" / f"{run_key(cfg)}.pt"


def train_run(cfg: TrainConfig, verbose: bool = False, progress: bool | None = None
              ) -> tuple[TrainResult, Checkpoint]:
    """Train ``cfg`` on its corpus; returns the result and the checkpoint to save. A device or a
    size this machine cannot serve is refused first (:func:`~charlm.machine.check_trainable`)."""
    resolve_device(cfg.device)
    check_trainable(cfg)
    train_data, valid_data = split_corpus(corpus(cfg.corpus), cfg.valid_frac)
    result = train(cfg, train_data, valid_data, verbose=verbose, progress=progress)
    meta = result.meta() | {"key": run_key(cfg), "data_sha256": corpus_sha(cfg.corpus)}
    return result, Checkpoint(result.model, result.config, result.history, meta)


@contextmanager
def torch_threads(n: int | None = None) -> Iterator[int]:
    """Use ``n`` torch threads inside the block (0 or None: one per CPU core), then restore.

    The report's kernels start with one thread (so that a study's parallel runs do not fight
    over the cores); a single large run trains faster on all of them.
    """
    before = torch.get_num_threads()
    n = n or os.cpu_count() or 1
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def load_cached(cfg: TrainConfig, warn: Callable[[str], None] | None = None) -> Checkpoint | None:
    """The cached checkpoint of ``cfg``, or None when there is none or it is damaged.

    A cache is a cache: an entry that does not load (truncated, overwritten, another program's
    file) is moved aside to ``<key>.pt.damaged`` (``.damaged-2``... if taken; never deleted),
    ``warn`` gets one line (default: ``charlm: warning: ...`` on stderr), and the caller
    retrains it. The device is checked first, so that a bad ``device`` never looks like a
    damaged file.
    """
    resolve_device(cfg.device)
    path = cache_path(cfg)
    if not path.is_file():
        return None
    try:
        return load_checkpoint(path, map_location=cfg.device)
    except CheckpointError as exc:
        reason = str(exc)
    aside = fresh_file(path.parent, f"{path.name}.damaged", "")  # a name of its own, then moved
    os.replace(path, aside)
    message = f"damaged cache entry set aside as {aside}: {reason}; training it again"
    _warn(message, warn)
    return None


def cached_run(
    cfg: TrainConfig, verbose: bool = False, progress: bool | None = None, retrain: bool = False
) -> Checkpoint:
    """The trained model for ``cfg``: loaded from the cache, or trained and cached.

    Interrupted runs are not cached (they would masquerade as finished ones; the
    KeyboardInterrupt propagates); diverged runs are, with their status, so that a study does
    not retry them forever.
    """
    path = cache_path(cfg)
    cached = None if retrain else load_cached(cfg)
    if cached is not None:
        return cached
    result, ckpt = train_run(cfg, verbose=verbose, progress=progress)
    if result.interrupted:
        raise KeyboardInterrupt
    save_checkpoint(path, ckpt)
    return ckpt
