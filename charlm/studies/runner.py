"""Studies: several training runs, in parallel, logged to a CSV that survives interruption.

Each run trains in its own process with ONE torch thread, so a study gives the same numbers
whether it runs serially (``workers=1``), on a local process pool (the default, one worker
per core) or on a Dask cluster (``scheduler="tcp://host:8786"``). After every finished run
the CSV log is rewritten atomically; a study that is interrupted (Ctrl-C, SIGTERM, even
``kill -9``) keeps every finished run, and running it again trains only what is missing.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import math
import multiprocessing as mp
import os
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from ..atomic import atomic_write
from ..checkpoint import Checkpoint, load_checkpoint
from ..config import TrainConfig
from ..errors import ConfigError
from ..evaluate import bpc
from ..progress import progress_enabled
from ..corpora import TEST_FILE, corpus
from ..runs import cache_path, cached_run, run_key, torch_threads

HYPERPARAMETERS = ("cell", "hidden_size", "n_layers", "lr", "n_epochs", "chunk_len",
                   "batch_size", "clip", "dropout", "plot_every", "seed", "corpus", "valid_frac",
                   "carry_state", "lr_schedule")
COLUMNS = ("key", *HYPERPARAMETERS, "status", "iterations", "diverged_at",
           "min_loss", "final_loss", "bpc_valid", "bpc_test", "wall_time_s", "n_params",
           "torch_version", "threads", "data_sha256")


def evaluate_row(ckpt: Checkpoint) -> dict[str, Any]:
    """A log row for a trained run: its hyperparameters, outcome and BPC on the test file."""
    cfg, meta = ckpt.config, ckpt.meta
    test_bpc = bpc(ckpt.model, corpus(TEST_FILE)) if meta.get("status") == "ok" else math.nan
    row = {name: getattr(cfg, name) for name in HYPERPARAMETERS}
    row.update(
        key=run_key(cfg), status=meta.get("status"),
        iterations=meta.get("iterations"), diverged_at=meta.get("diverged_at"),
        min_loss=meta.get("min_loss"), final_loss=meta.get("final_loss"),
        bpc_valid=meta.get("valid_bpc", math.nan), bpc_test=test_bpc,
        wall_time_s=meta.get("wall_time"), n_params=meta.get("n_params"),
        torch_version=meta.get("torch_version"), threads=meta.get("threads"),
        data_sha256=meta.get("data_sha256"),
    )
    return row


def _run_one(cfg_dict: dict[str, Any]) -> dict[str, Any]:
    """Train (or load) one run with a single torch thread and return its log row.

    Module-level so process pools and Dask workers can import it.
    """
    with torch_threads(1):  # one thread per run: identical numbers serial or parallel
        ckpt = cached_run(TrainConfig.from_dict(cfg_dict), verbose=False, progress=False)
        return evaluate_row(ckpt)


# Environment variables that tell a run where its data and outputs live.
ENV_VARS = ("CHARLM_DATA_DIR", "CHARLM_RUNS_DIR", "CHARLM_FIGURES_DIR")


def _init_worker(study_pid: int, env: dict[str, str | None]) -> None:
    """Pool-worker initializer: take the study's charlm environment, and die with the study.

    Workers fork from the forkserver, which keeps the environment of the moment it started (the
    first study of this process), not the one the study runs with now.
    """
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _exit_with_parent(study_pid)


def _exit_with_parent(study_pid: int) -> None:
    """Pool-worker initializer: quit when the study process dies, even by ``kill -9``.

    Without this, orphaned workers would wait for work forever, keeping the forkserver and the
    study's output pipes alive. (Their parent is the forkserver, which itself only exits once
    every worker has, so the study process is watched directly.)
    """

    def watch() -> None:
        while not _process_gone(study_pid):
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _process_gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie awaiting its parent's wait() counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def read_log(path: str | Path) -> list[dict[str, str]]:
    """Rows of a CSV log (as strings); empty when the file does not exist or is empty.

    A file that is not an experiment log (its header lacks ``key`` and ``status``) raises
    :class:`ConfigError`: the log is rewritten after every run, and a file the project did
    not write must never be replaced.
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error):
        header, rows = ["?"], []
    if header is not None and not {"key", "status"} <= set(header):
        raise ConfigError(f"{path} exists and is not an experiment log (no key and status "
                          f"columns); it will not be overwritten (remove it or choose another --log)")
    return rows


def write_log(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite the CSV log atomically (temporary file + rename)."""
    with atomic_write(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in COLUMNS})


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}" if abs(value) < 1e-3 else round(value, 6)
    return "" if value is None else value


def run_study(
    configs: list[TrainConfig],
    log_path: str | Path,
    study: str = "study",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    say=print,
):
    """Train every config (skipping those already logged), log each as it finishes.

    The log holds one row per distinct run (keyed by :func:`~charlm.runs.run_key`): a run that
    another study already trained (e.g. the default settings) is reused, not retrained. Returns a
    ``pandas.DataFrame`` with one row per config of THIS study, in the given order; rows of
    other studies already in the log are kept. ``study`` only labels messages and the bar.
    """
    log_path = Path(log_path)
    keys = [run_key(c) for c in configs]
    if len(set(keys)) != len(keys):
        raise ValueError("a study must not list the same settings twice")
    old = {r["key"]: r for r in read_log(log_path)}
    fresh: dict[str, dict[str, Any]] = {}
    todo = [(k, c) for k, c in zip(keys, configs) if k not in old]
    done_before = len(configs) - len(todo)
    if done_before and say:
        say(f"{study}: {done_before} of {len(configs)} runs already in {log_path.name}; "
            f"training {len(todo)}")

    def record(row: dict[str, Any]) -> None:
        fresh[row["key"]] = row
        merged = [r for k, r in old.items() if k not in keys]  # other studies' rows first
        merged += [fresh.get(k) or old[k] for k in keys if k in fresh or k in old]
        write_log(log_path, merged)
        if say:
            loss = row["final_loss"]
            say(f"{study}: {describe_run(row)} -> {row['status']}, final loss {float(loss):.4f}, "
                f"BPC {float(row['bpc_test'] or 'nan'):.4f}, {float(row['wall_time_s']):.0f} s")

    bar = tqdm(total=len(todo), desc=study, unit="run", disable=not progress_enabled(progress) or not todo)
    try:
        for key, row in _execute(todo, workers, scheduler):
            row["key"] = key  # the key submitted, even if a worker imported newer code
            record(row)
            bar.update(1)
    finally:
        bar.close()
    rows = [fresh.get(k) or old[k] for k in keys]
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("hidden_size", "n_layers", "n_epochs", "chunk_len", "batch_size", "plot_every",
                "seed", "iterations", "n_params", "threads"):
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    for col in ("lr", "clip", "dropout", "valid_frac", "min_loss", "final_loss", "bpc_valid",
                "bpc_test", "wall_time_s", "diverged_at"):
        df[col] = pd.to_numeric(df[col])
    df["carry_state"] = df["carry_state"].map(lambda v: v is True or str(v) == "True")
    return df


def describe_run(row) -> str:
    """One line naming a run's cell, size, learning rate and iterations (a log row)."""
    return (f"{row['cell']} hidden={row['hidden_size']} layers={row['n_layers']} lr={row['lr']} "
            f"epochs={row['n_epochs']}")


def _execute(todo, workers, scheduler):
    """Yield ``(key, row)`` as runs finish: serially, on a process pool, or on a Dask cluster."""
    if not todo:
        return
    scheduler = scheduler or os.environ.get("CHARLM_SCHEDULER") or None
    if scheduler:
        yield from _execute_dask(todo, scheduler)
        return
    workers = workers or min(len(todo), os.cpu_count() or 1)
    if workers <= 1:
        for key, cfg in todo:
            yield key, _run_one(cfg.to_dict())
        return
    # forkserver, not fork: forking a process whose OpenMP pool is running can deadlock the
    # child. The server imports charlm (and torch) once; workers fork from it cheaply.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["charlm.studies.runner"])
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                  initializer=_init_worker,
                                  initargs=(os.getpid(), {k: os.environ.get(k) for k in ENV_VARS}))
    try:
        futures = {pool.submit(_run_one, cfg.to_dict()): key for key, cfg in todo}
        for fut in cf.as_completed(futures):
            yield futures[fut], fut.result()
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.terminate()  # finished runs are already cached and logged
        raise
    pool.shutdown()


def _run_one_remote(cfg_dict: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """:func:`_run_one` on a Dask worker, returning the run's checkpoint file too.

    Workers on other machines cache runs on their own disks; the client stores the bytes in its
    own cache, so that loss curves (:func:`load_histories`) and later studies find every run.
    """
    row = _run_one(cfg_dict)
    return row, cache_path(TrainConfig.from_dict(cfg_dict)).read_bytes()


def _execute_dask(todo, scheduler):
    from distributed import Client, as_completed  # lazy: heavy optional dependency (the dist extra)

    try:
        client = Client(scheduler)
    except (OSError, ValueError, TypeError) as exc:  # unreachable, or not an address at all
        raise ConfigError(f"cannot use the Dask scheduler {scheduler!r}: {exc}") from None
    with client:
        futures = {client.submit(_run_one_remote, cfg.to_dict(), pure=False): (key, cfg)
                   for key, cfg in todo}
        try:
            for fut in as_completed(list(futures)):
                key, cfg = futures[fut]
                row, blob = fut.result()
                path = cache_path(cfg)
                if not path.is_file():  # else the worker shares this machine's cache folder
                    with atomic_write(path) as fh:
                        fh.write(blob)
                yield key, row
        except BaseException:
            client.cancel(list(futures))
            raise


def load_histories(configs: list[TrainConfig]) -> dict[str, list[float]]:
    """Loss histories of cached runs, keyed by run key (runs not cached are left out)."""
    out = {}
    for cfg in configs:
        path = cache_path(cfg)
        if path.is_file():
            out[run_key(cfg)] = load_checkpoint(path).history
    return out


__all__ = ["COLUMNS", "describe_run", "evaluate_row", "load_histories",
           "read_log", "run_study", "write_log"]
