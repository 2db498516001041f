"""The same study on the local process pool and on a Dask cluster, timed (issue 5, part 5).

:func:`charlm.studies.runner.run_study` runs a study's runs one per process on this machine by
default, and on a Dask cluster when given a scheduler address. :func:`compare_backends` runs
one study both ways from scratch, each with an empty run cache, so that both really train
every run, and reports the wall times and whether the two logs agree.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..config import TrainConfig
from ..errors import ConfigError
from .runner import run_study
from ..paths import environ

# Columns that must agree between backends: everything a run computes (wall times and the
# machine's load may differ; the numbers may not).
COMPARED = ("key", "status", "iterations", "diverged_at", "min_loss", "final_loss", "bpc_valid",
            "bpc_test", "n_params", "threads", "torch_version", "data_sha256")


@dataclass
class BackendComparison:
    """Result of :func:`compare_backends` (times in seconds)."""

    workers: int
    pool_seconds: float  # the study on the local pool, pool start-up included
    cluster_start_seconds: float  # starting the LocalCluster (scheduler + worker processes)
    cluster_seconds: float  # the study on the cluster, once it was up
    pool: Any = None  # the study's DataFrame from the pool
    cluster: Any = None  # ... and from the cluster
    differing: list[str] = field(default_factory=list)  # compared columns that differ

    @property
    def identical(self) -> bool:
        return not self.differing

    @property
    def compared(self) -> list[str]:
        """The columns of :data:`COMPARED` that the logs have (those that were compared)."""
        return [c for c in COMPARED if self.pool is not None and c in self.pool]

    @property
    def mean_run_seconds(self) -> float:
        """The mean training time of one run on the pool (``wall_time_s`` of its log)."""
        return float(self.pool["wall_time_s"].mean())


def compare_backends(configs: Sequence[TrainConfig], workers: int = 2) -> BackendComparison:
    """Train ``configs`` as one study on a local pool of ``workers`` processes, then again on a
    fresh ``distributed.LocalCluster`` of ``workers`` single-threaded worker processes.

    Each backend gets its own empty temporary run cache (``CHARLM_RUNS_DIR``, inherited by the
    pool and the worker processes) and its own log, so both train every run. The worker
    processes write to one cache and send each checkpoint back into another (the client's),
    as on a real cluster. Needs the ``distributed`` package.
    """
    try:
        import distributed  # lazy: heavy optional dependency (the dist extra)
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise ConfigError("comparing backends needs the 'distributed' package") from None
    configs = list(configs)
    with tempfile.TemporaryDirectory(prefix="charlm-backends-") as tmp:
        tmp_path = Path(tmp)
        with environ({"CHARLM_RUNS_DIR": str(tmp_path / "pool_runs")}):
            t0 = time.perf_counter()
            pool = run_study(configs, tmp_path / "pool.csv", "pool", workers=workers,
                             progress=False, say=None)
            pool_seconds = time.perf_counter() - t0
        with environ({"CHARLM_RUNS_DIR": str(tmp_path / "worker_runs")}):
            t0 = time.perf_counter()
            with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                          dashboard_address=None, local_directory=tmp,
                                          silence_logs=logging.ERROR) as cluster:
                start_seconds = time.perf_counter() - t0
                with environ({"CHARLM_RUNS_DIR": str(tmp_path / "client_runs")}):
                    t0 = time.perf_counter()
                    on_cluster = run_study(configs, tmp_path / "cluster.csv", "cluster",
                                           scheduler=cluster.scheduler_address, progress=False,
                                           say=None)
                    cluster_seconds = time.perf_counter() - t0
    differing = [c for c in COMPARED if c in pool and not pool[c].equals(on_cluster[c])]
    return BackendComparison(workers, pool_seconds, start_seconds, cluster_seconds, pool,
                             on_cluster, differing)


__all__ = ["COMPARED", "BackendComparison", "compare_backends"]
