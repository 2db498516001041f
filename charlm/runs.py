"""Cached training runs.

A run is keyed by its settings, the checksum of its training corpus and its seed, and, for a
run that started from a saved model's weights (fine-tuning), the digest of those weights. A run
trained once is saved under ``runs/cache/<key>.pt`` (the ordinary checkpoint format) and reused by
every later caller with the same settings: the CLI, the studies and the notebooks. Re-running the
report after a prose edit therefore trains nothing. Only finished runs are cached: an interrupted
one never is, and an entry that holds one is not used.

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
from .atomic import file_lock
from .checkpoint import Checkpoint, fresh_file, load_checkpoint, save_checkpoint, weights_sha256
from .config import TrainConfig, check_shape
from .corpora import corpus, corpus_sha
from .data import split_corpus
from .errors import CheckpointError, ConfigError
from .errors import warn as _warn
from .machine import check_trainable
from .model import check_finite
from .train import TrainResult, resolve_device, train

# Raised whenever the code would train the same settings into other weights (or another
# checkpoint layout): every entry cached before is then simply trained again, under a new key.
KEY_VERSION = 2


def run_key(cfg: TrainConfig, init_from: str | None = None) -> str:
    """A stable 16-hex-digit key for the weights ``cfg`` produces on its corpus with this
    version of the training code (:data:`KEY_VERSION`), starting from the weights whose
    :func:`~charlm.checkpoint.weights_sha256` is ``init_from`` (None: a random initialisation)."""
    blob = {"settings": cfg.training_settings(), "data": corpus_sha(cfg.corpus),
            "version": KEY_VERSION}
    if init_from is not None:  # absent otherwise, so that every other key stays as it was
        blob["init_from"] = init_from
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


def cache_path(cfg: TrainConfig, init_from: str | None = None) -> Path:
    """Where the cached checkpoint of ``cfg`` (started from the weights ``init_from``) lives."""
    return paths.runs_dir() / "cache" / f"{run_key(cfg, init_from)}.pt"


def origin(source: Checkpoint) -> dict:
    """What a fine-tuned run's meta records of the checkpoint it started from (``init_from``):
    the digest of its weights, its config and its run key (when it had one)."""
    return {"sha256": weights_sha256(source.model), "config": source.config.to_dict(),
            "key": source.meta.get("key")}


def train_run(cfg: TrainConfig, verbose: bool = False, progress: bool | None = None,
              init_from: Checkpoint | None = None, resume: Checkpoint | None = None
              ) -> tuple[TrainResult, Checkpoint]:
    """Train ``cfg`` on its corpus; returns the result and the checkpoint to save. A device or a
    size this machine cannot serve is refused first (:func:`~charlm.machine.check_trainable`).

    ``init_from``: a checkpoint whose weights the run starts from (fine-tuning; ``cfg`` must
    have its shape, :func:`~charlm.config.check_shape`); the meta then records its
    :func:`origin`. ``resume``: the checkpoint of an interrupted run of ``cfg``, which goes on
    from where it stopped (its corpus must be the one it started on)."""
    resolve_device(cfg.device)
    check_trainable(cfg)
    data_sha = corpus_sha(cfg.corpus)
    start = None
    if resume is not None:
        check_resumable_checkpoint(resume)
        if resume.meta.get("data_sha256", data_sha) != data_sha:
            raise ConfigError(f"the corpus {cfg.corpus} has changed since the run started "
                              f"(sha256 {resume.meta['data_sha256'][:12]}..., now "
                              f"{data_sha[:12]}...); it cannot be resumed on other text")
        start = resume.meta.get("init_from")
    elif init_from is not None:
        check_shape(cfg, init_from.config)
        check_finite(init_from.model, "the model to start from")
        start = origin(init_from)
    train_data, valid_data = split_corpus(corpus(cfg.corpus), cfg.valid_frac)
    result = train(cfg, train_data, valid_data, verbose=verbose, progress=progress,
                   init_from=init_from.model.state_dict() if init_from is not None else None,
                   resume=resume.resume if resume is not None else None)
    meta = result.meta() | {"key": run_key(cfg, start and start["sha256"]),
                            "data_sha256": data_sha}
    if start is not None:
        meta["init_from"] = start
    return result, Checkpoint(result.model, result.config, result.history, meta, result.resume)


def check_resumable_checkpoint(ckpt: Checkpoint, path: str | Path = "the checkpoint") -> None:
    """A :class:`~charlm.errors.CheckpointError` unless ``ckpt`` holds an interrupted run's
    state to go on from."""
    if ckpt.resume is None:
        status = ckpt.meta.get("status", "unknown")
        why = {"ok": "its run finished", "diverged": "its run diverged",
               "interrupted": "its run was stopped in the middle of a step"}.get(status, "")
        raise CheckpointError(f"{path} holds no state to resume from"
                              + (f" ({why}; --init_from starts a new run from its weights)"
                                 if why else ""))


def save_cached(ckpt: Checkpoint) -> Path:
    """Save a finished (or diverged) run's checkpoint as its cache entry (the key in its meta);
    an interrupted run is refused: a cache entry must never pass for a finished run."""
    if ckpt.resume is not None or ckpt.meta.get("status") not in ("ok", "diverged"):
        raise CheckpointError(f"an unfinished run (status {ckpt.meta.get('status')!r}) is not "
                              f"cached")
    return save_checkpoint(paths.runs_dir() / "cache" / f"{ckpt.meta['key']}.pt", ckpt)


@contextmanager
def torch_threads(n: int | None = None) -> Iterator[int]:
    """Use ``n`` torch threads inside the block (0 or None: one per CPU core), then restore.

    The report's kernels start with one thread (so that a study's parallel runs do not fight
    over the cores). More threads pay only for a large step on cores nothing else uses: next
    to a busy process they spin while they wait (:func:`charlm.machine.choose_threads`).
    """
    before = torch.get_num_threads()
    n = n or os.cpu_count() or 1
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def load_cached(cfg: TrainConfig, warn: Callable[[str], None] | None = None,
                init_from: str | None = None) -> Checkpoint | None:
    """The cached checkpoint of ``cfg`` (started from the weights ``init_from``, a
    :func:`~charlm.checkpoint.weights_sha256`), or None when there is none or it is damaged.

    A cache is a cache: an entry that does not load (truncated, overwritten, another program's
    file), or that holds an unfinished run, is moved aside to ``<key>.pt.damaged``
    (``.damaged-2``... if taken; never deleted), ``warn`` gets one line (default:
    ``charlm: warning: ...`` on stderr), and the caller retrains it. The device is checked
    first, so that a bad ``device`` never looks like a damaged file.
    """
    resolve_device(cfg.device)
    path = cache_path(cfg, init_from)
    if not path.is_file():
        return None
    try:
        ckpt = load_checkpoint(path, map_location=cfg.device)
        if ckpt.resume is None and ckpt.meta.get("status") in ("ok", "diverged"):
            return ckpt
        reason = f"it holds an unfinished run (status {ckpt.meta.get('status')!r})"
    except CheckpointError as exc:
        reason = str(exc)
    aside = fresh_file(path.parent, f"{path.name}.damaged", "")  # a name of its own, then moved
    os.replace(path, aside)
    message = f"damaged cache entry set aside as {aside}: {reason}; training it again"
    _warn(message, warn)
    return None


def cached_run(
    cfg: TrainConfig, verbose: bool = False, progress: bool | None = None, retrain: bool = False,
    init_from: Checkpoint | TrainConfig | None = None,
) -> Checkpoint:
    """The trained model for ``cfg``: loaded from the cache, or trained and cached.

    Interrupted runs are not cached (they would masquerade as finished ones; the
    KeyboardInterrupt propagates); diverged runs are, with their status, so that a study does
    not retry them forever.

    ``init_from`` fine-tunes: the run starts from the weights of that checkpoint, or of the
    cached run of that config (trained first if need be), with a fresh optimiser and schedule;
    ``cfg`` must have the model's shape (:func:`~charlm.config.check_shape`) and names the
    corpus and settings to train on. The cache key includes the digest of those weights, so a
    fine-tuned run is never mistaken for one from scratch, nor for one from other weights.
    """
    source = (cached_run(init_from, progress=progress) if isinstance(init_from, TrainConfig)
              else init_from)
    if source is not None:
        check_shape(cfg, source.config)
    digest = weights_sha256(source.model) if source is not None else None
    cached = None if retrain else load_cached(cfg, init_from=digest)
    if cached is not None:
        return cached
    # two processes asking for the same run at once (notebooks side by side) train it once:
    # the second waits for the first and loads what it saved
    with file_lock(cache_path(cfg, init_from=digest).with_suffix(".lock")):
        cached = None if retrain else load_cached(cfg, init_from=digest)
        if cached is not None:
            return cached
        result, ckpt = train_run(cfg, verbose=verbose, progress=progress, init_from=source)
        if result.interrupted:
            raise KeyboardInterrupt
        save_cached(ckpt)
    return ckpt
