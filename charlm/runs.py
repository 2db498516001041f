"""Cached training runs: a run is keyed by its settings, the corpus checksum and the seed.

A run trained once is saved under ``runs/cache/<key>.pt`` (the ordinary checkpoint format)
and reused by every later caller with the same settings: the CLI, the studies and the
notebooks. Re-running the report after a prose edit therefore trains nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from . import paths
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .config import NON_TRAINING_FIELDS, TrainConfig
from .data import encode, read_text
from .errors import CheckpointError
from .fetch import corpus_path, expected_sums
from .train import train

TRAIN_FILE = "dickens_train.txt"
TEST_FILE = "dickens_test.txt"
TEST_LARGE_FILE = "dickens_test_large.txt"

_corpus_cache: dict[str, torch.Tensor] = {}


def corpus(name: str = TRAIN_FILE) -> torch.Tensor:
    """The encoded corpus file ``name`` (verified against its checksum; memoised)."""
    if name not in _corpus_cache:
        _corpus_cache[name] = encode(read_text(corpus_path(name)), what=name)
    return _corpus_cache[name]


def corpus_text(name: str) -> str:
    """The normalised text of corpus file ``name``."""
    return read_text(corpus_path(name))


def run_key(cfg: TrainConfig, data_sha: str | None = None) -> str:
    """A stable 16-hex-digit key for the weights ``cfg`` produces on the training corpus."""
    data_sha = data_sha or expected_sums()[TRAIN_FILE]
    settings = {k: v for k, v in cfg.to_dict().items() if k not in NON_TRAINING_FIELDS}
    blob = json.dumps({"settings": settings, "data": data_sha}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_path(cfg: TrainConfig) -> Path:
    """Where the cached checkpoint of ``cfg`` lives."""
    return paths.runs_dir() / "cache" / f"{run_key(cfg)}.pt"


def cached_run(
    cfg: TrainConfig, verbose: bool = False, progress: bool | None = None, retrain: bool = False
) -> Checkpoint:
    """The trained model for ``cfg``: loaded from the cache, or trained and cached.

    Interrupted runs are not cached (they would masquerade as finished ones); diverged runs
    are, with their status, so a study does not retry them forever.
    """
    path = cache_path(cfg)
    if path.is_file() and not retrain:
        try:
            return load_checkpoint(path, map_location=cfg.device)
        except CheckpointError:
            pass  # a damaged cache entry is simply retrained and replaced
    result = train(cfg, corpus(TRAIN_FILE), verbose=verbose, progress=progress)
    meta = result.meta() | {"key": run_key(cfg), "data_sha256": expected_sums()[TRAIN_FILE]}
    ckpt = Checkpoint(result.model, cfg, result.history, meta)
    if result.interrupted:
        raise KeyboardInterrupt
    save_checkpoint(path, ckpt)
    return ckpt
