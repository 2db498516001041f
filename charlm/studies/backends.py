"""The same study on the local process pool and on a Dask cluster, timed (issue 5, part 5).

:func:`charlm.studies.runner.run_study` runs a study's runs one per process on this machine by
default, and on a Dask cluster when given a scheduler address. :func:`compare_backends` runs
one study both ways from scratch, each with an empty run cache, so that both really train
every run, and reports the wall times and whether the two logs agree. :func:`backend_study`
is Appendix F's comparison, kept (:mod:`charlm.memo`); :func:`backend_facts` the facts its
text states.
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
from ..facts import Int, Num, count, num
from ..memo import memo
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


@memo
def backend_study(n_runs: int, n_epochs: int, hidden_size: int, workers: int) -> BackendComparison:
    """:func:`compare_backends` of ``n_runs`` runs of the coursework's settings with
    ``n_epochs`` iterations and ``hidden_size`` units, differing only in their seed (1 to
    ``n_runs``), on ``workers`` processes."""
    configs = [TrainConfig(n_epochs=n_epochs, hidden_size=hidden_size, seed=s)
               for s in range(1, n_runs + 1)]
    return compare_backends(configs, workers=workers)


def cost_phrase(extra_seconds: float) -> str:
    """What the cluster cost against the pool, at the tenth of a second shown: ``"1.5 s
    more"``, ``"0.4 s less"`` or ``"about the same"``."""
    if round(extra_seconds, 1) == 0:
        return "about the same"
    return f"{abs(extra_seconds):.1f} s {'more' if extra_seconds > 0 else 'less'}"


@dataclass(frozen=True)
class BackendFacts:
    """What Appendix F says of a :class:`BackendComparison`."""

    runs: Int
    workers: Int
    identical: bool
    agreement: str  # "identical" or "not identical"
    changes: str  # where a run trains "does not change" or "changes" what it computes
    compared: Int  # columns compared
    differing: str  # the columns that differ, "none" when none do
    pool_seconds: Num
    cluster_seconds: Num
    start_seconds: Num
    cost: str  # "1.5 s more", "0.4 s less" or "about the same"
    run_seconds: Num  # mean training time of one run on the pool


def backend_facts(cmp: BackendComparison) -> BackendFacts:
    """The facts of ``cmp``."""
    extra = cmp.cluster_seconds - cmp.pool_seconds
    return BackendFacts(
        runs=count(len(cmp.pool)), workers=count(cmp.workers), identical=cmp.identical,
        agreement="identical" if cmp.identical else "not identical",
        changes="does not change" if cmp.identical else "changes",
        compared=count(len(cmp.compared)), differing=", ".join(cmp.differing) or "none",
        pool_seconds=num(cmp.pool_seconds, ".1f"), cluster_seconds=num(cmp.cluster_seconds, ".1f"),
        start_seconds=num(cmp.cluster_start_seconds, ".1f"), cost=cost_phrase(extra),
        run_seconds=num(cmp.mean_run_seconds, ".1f"))


__all__ = ["COMPARED", "BackendComparison", "BackendFacts", "backend_facts", "backend_study",
           "compare_backends", "cost_phrase"]
