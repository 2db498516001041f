"""Studies: several training runs, in parallel, logged to a CSV that survives interruption.

Each run trains in its own process with ONE torch thread, so a study gives the same numbers
whether it runs serially (``workers=1``), on a local process pool (the default, one worker
per core) or on a Dask cluster (``scheduler="tcp://host:8786"``). After every finished run
the CSV log is re-read, merged and rewritten atomically under a lock (:func:`log_lock`), so
studies sharing one log keep each other's rows; a study that is interrupted (Ctrl-C, SIGTERM,
even ``kill -9``) keeps every finished run, and running it again trains only what is missing.
Damaged rows (a line cut off, a key cut short, text in a numeric column) are set aside in
``LOG.damaged`` with one warning, and their runs logged again.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import math
import multiprocessing as mp
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
from tqdm.auto import tqdm

from .. import cores as _cores
from ..atomic import atomic_write, file_lock
from ..checkpoint import Checkpoint
from ..config import TrainConfig, logged_fields
from ..errors import CharlmError, ConfigError
from ..errors import warn as _warn
from ..evaluate import bpc
from ..machine import check_trainable
from ..progress import progress_enabled
from ..train import resolve_device
from ..corpora import TEST_FILE, corpus
from ..runs import cache_path, cached_run, load_cached, run_key, torch_threads
from .settings import distinct_runs

HYPERPARAMETERS = logged_fields()  # the settings declared ``logged``
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


INT_COLUMNS = (*logged_fields(int), "iterations", "n_params", "threads")
FLOAT_COLUMNS = (*logged_fields(float), "min_loss", "final_loss", "bpc_valid", "bpc_test",
                 "wall_time_s", "diverged_at")
_KEY = re.compile(r"[0-9a-f]{16}")


@dataclass
class DamagedRow:
    """A line of a log that is not a whole row (see :func:`read_log_rows`)."""

    line: int  # 1-based line number in the file
    text: str  # the line as it was, end of line included when it had one
    reason: str


def read_log(path: str | Path) -> list[dict[str, str]]:
    """Rows of a CSV log (as strings); empty when the file does not exist or is empty.

    A file that is not an experiment log (its header lacks ``key`` and ``status``) raises
    :class:`ConfigError`: the log is rewritten after every run, and a file the project did
    not write must never be replaced. Damaged rows are left out (see :func:`read_log_rows`).
    """
    return read_log_rows(path)[0]


def read_log_rows(path: str | Path) -> tuple[list[dict[str, str]], list[DamagedRow]]:
    """The whole rows of a CSV log, and the damaged ones.

    Damaged: a last line cut off (every row the project writes ends with a newline, so a line
    without one is what a crash or a full disk in the middle of a write leaves), a row with
    more or fewer fields than the header, a key that is not a run key (cut short), or a value
    that is not a number in a numeric column.
    """
    path = Path(path)
    if not path.is_file():
        return [], []
    try:
        with open(path, newline="") as fh:
            lines = fh.read().splitlines(keepends=True)
    except OSError as exc:
        raise ConfigError(f"log {path} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        lines = ["?\n"]
    try:
        header = next(csv.reader(lines[:1]), None)
    except csv.Error:
        header = ["?"]
    if header is not None and not {"key", "status"} <= set(header):
        raise ConfigError(f"{path} exists and is not an experiment log (no key and status "
                          f"columns); it will not be overwritten (remove it or choose another --log)")
    rows, damaged = [], []
    for number, text in enumerate(lines[1:], 2):
        if not text.strip():
            continue
        try:
            values = next(csv.reader([text]), [])
        except csv.Error:
            values = []
        row = dict(zip(header, values))
        reason = _damage(text, values, header, row)
        if reason:
            damaged.append(DamagedRow(number, text, reason))
        else:
            rows.append(row)
    return rows, damaged


def _damage(text: str, values: list[str], header: list[str], row: dict[str, str]) -> str | None:
    """Why a log line is not a whole row (None: it is one)."""
    if not text.endswith(("\n", "\r")):
        return "cut off (no end of line)"
    if len(values) != len(header):
        return f"{len(values)} fields where the header has {len(header)}"
    if not _KEY.fullmatch(row["key"]):
        return f"key {row['key']!r} is not a run key"
    for col in (*INT_COLUMNS, *FLOAT_COLUMNS):
        value = row.get(col, "")
        try:
            value and float(value)
        except ValueError:
            return f"{col} is {value!r}, not a number"
    return None


def write_log(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite the CSV log atomically (temporary file + rename)."""
    with atomic_write(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in COLUMNS})


@contextlib.contextmanager
def log_lock(path: str | Path) -> Iterator[None]:
    """Hold the lock of the log ``path`` (``.NAME.lock`` beside it) while its rows are read,
    merged and written: two studies on one log take turns, so neither loses the other's rows."""
    path = Path(path)
    with file_lock(path.with_name(f".{path.name}.lock")):
        yield


def settled_rows(path: str | Path, warn=None) -> tuple[list[dict[str, str]], list[DamagedRow]]:
    """The whole rows of the log ``path`` and the damaged ones (call it holding
    :func:`log_lock`). The damaged rows are appended, as they were, to ``PATH.damaged`` (never
    lost), and ``warn`` gets one line (default: ``charlm: warning: ...`` on stderr); the caller
    rewrites the log without them."""
    rows, damaged = read_log_rows(path)
    if damaged:
        aside = Path(f"{path}.damaged")
        with open(aside, "a", newline="") as fh:
            fh.writelines(d.text if d.text.endswith(("\n", "\r")) else d.text + "\n"
                          for d in damaged)
        more = f" and {len(damaged) - 1} more" if len(damaged) > 1 else ""
        message = (f"{path}: {len(damaged)} damaged row(s) set aside in {aside} (line "
                   f"{damaged[0].line}: {damaged[0].reason}{more}); their runs are logged again")
        _warn(message, warn)
    return rows, damaged


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
    keys = [run_key(c) for c in distinct_runs(configs, f"study {study}")]
    for cfg in configs:  # what the machine cannot serve is refused before any run starts
        resolve_device(cfg.device)
        check_trainable(cfg)
    with log_lock(log_path):
        rows, damaged = settled_rows(log_path)
        if damaged:  # set aside now, even if this study has nothing to train
            _write_or_keep(log_path, rows)
    old = {r["key"]: r for r in rows}
    fresh: dict[str, dict[str, Any]] = {}
    unwritten: list[str] = []  # why the log could not be written, if it could not
    todo = [(k, c) for k, c in zip(keys, configs) if k not in old]
    done_before = len(configs) - len(todo)
    if done_before and say:
        say(f"{study}: {done_before} of {len(configs)} runs already in {log_path.name}; "
            f"training {len(todo)}")

    def record(row: dict[str, Any]) -> None:
        fresh[row["key"]] = row
        with log_lock(log_path):  # another study may have logged runs meanwhile: merge, then write
            now = {r["key"]: r for r in settled_rows(log_path)[0]}
            merged = [r for k, r in now.items() if k not in keys]  # other studies' rows first
            merged += [fresh.get(k) or now.get(k) or old[k] for k in keys
                       if k in fresh or k in now or k in old]
            reason = _write_or_keep(log_path, merged)
        if reason and not unwritten:
            unwritten.append(reason)
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
    if unwritten:
        raise CharlmError(
            f"cannot write the log {log_path} ({unwritten[0]}); it holds what it held before, and "
            f"every run trained is kept in {cache_path(configs[0]).parent}: run the study again "
            f"once the log can be written and they are logged without training")
    rows = [fresh.get(k) or old[k] for k in keys]
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in INT_COLUMNS:
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    for col in FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col])
    df["carry_state"] = df["carry_state"].map(lambda v: v is True or str(v) == "True")
    return df


def _write_or_keep(path: Path, rows: list[dict[str, Any]]) -> str | None:
    """Rewrite the log; on an ``OSError`` (a full disk) the old log stays whole (the write is
    atomic) and the reason is returned, so that the study goes on training and caching."""
    try:
        write_log(path, rows)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def describe_run(row) -> str:
    """One line naming a run's cell, size, learning rate and iterations (a log row)."""
    return (f"{row['cell']} hidden={row['hidden_size']} layers={row['n_layers']} lr={row['lr']} "
            f"epochs={row['n_epochs']}")


def _execute(todo, workers, scheduler):
    """Yield ``(key, row)`` as runs finish: serially, on a process pool, or on a Dask cluster.

    ``workers`` fixes the pool's size; None sizes it to the cores free now and grows it as
    cores free up (:mod:`charlm.cores`)."""
    if not todo:
        return
    scheduler = scheduler or os.environ.get("CHARLM_SCHEDULER") or None
    if scheduler:
        yield from _execute_dask(todo, scheduler)
        return
    most = min(len(todo), workers or _cores.count())
    if most <= 1:
        for key, cfg in todo:
            yield key, _run_one(cfg.to_dict())
        return
    cores = _cores.Cores()
    # forkserver, not fork: forking a process whose OpenMP pool is running can deadlock the
    # child. The server imports charlm (and torch) once; workers fork from it cheaply.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["charlm.studies.runner"])
    pool = cf.ProcessPoolExecutor(max_workers=most, mp_context=ctx,
                                  initializer=_init_worker,
                                  initargs=(os.getpid(), {k: os.environ.get(k) for k in ENV_VARS}))
    waiting, running = list(todo), {}

    def fill() -> None:  # as many runs at once as the cores this process may use
        allowed = most
        if not workers:
            cores.take(most)
            allowed = min(most, cores.usable())
        while waiting and len(running) < allowed:
            key, cfg = waiting.pop(0)
            running[pool.submit(_run_one, cfg.to_dict())] = key

    try:
        fill()
        while running:
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                yield running.pop(fut), fut.result()
            fill()
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.terminate()  # finished runs are already cached and logged
        raise
    finally:
        cores.release()
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
    """Loss histories of cached runs, keyed by run key (runs not cached are left out; a damaged
    cache entry is set aside and trained again, as a study would: see
    :func:`~charlm.runs.load_cached`)."""
    out = {}
    for cfg in configs:
        if not cache_path(cfg).is_file():
            continue
        ckpt = load_cached(cfg)
        if ckpt is None:  # it was damaged
            _run_one(cfg.to_dict())
            ckpt = load_cached(cfg)
        out[run_key(cfg)] = ckpt.history
    return out


__all__ = ["COLUMNS", "DamagedRow", "describe_run", "evaluate_row", "load_histories", "log_lock",
           "read_log", "read_log_rows", "run_study", "settled_rows", "write_log"]
