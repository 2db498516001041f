"""Studies on a real Dask cluster give the same rows as on the local process pool."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.studies.runner import run_study
from charlm.runs import run_key

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow  # a real LocalCluster: seconds to start, processes to train

BASE = TrainConfig(n_epochs=20, hidden_size=16, n_layers=1, chunk_len=50, print_every=10,
                   plot_every=5)
COLS = ["key", "status", "iterations", "min_loss", "final_loss", "bpc_test", "n_params",
        "threads"]


def _cached_keys(runs_dir):
    return sorted(p.stem for p in (runs_dir / "cache").glob("*.pt"))


def test_local_cluster_gives_the_same_rows_as_the_local_pool(tmp_path, monkeypatch):
    cfgs = [BASE.replace(hidden_size=12), BASE.replace(cell="gru", lr=0.01),
            BASE.replace(n_layers=2, seed=3)]
    pool = run_study(cfgs, tmp_path / "pool.csv", workers=2, say=None)

    # A real cluster: a scheduler and two worker processes of one thread each. Worker processes
    # inherit os.environ when they start (CHARLM_RUNS_DIR, and OMP_NUM_THREADS=1 from conftest),
    # so they get a fresh cache (they train every run rather than load the pool's) ...
    monkeypatch.setenv("CHARLM_RUNS_DIR", str(tmp_path / "worker_runs"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, local_directory=str(tmp_path),
                                  silence_logs=40) as cluster:
        # ... and this process another one, so that the runs found there were trained there.
        monkeypatch.setenv("CHARLM_RUNS_DIR", str(tmp_path / "client_runs"))
        said = []
        on_dask = run_study(cfgs, tmp_path / "dask.csv", scheduler=cluster.scheduler_address,
                            say=said.append)
        # CHARLM_SCHEDULER sends a study to the cluster when no scheduler argument is given
        monkeypatch.setenv("CHARLM_SCHEDULER", cluster.scheduler_address)
        by_env = run_study([BASE.replace(n_epochs=10)], tmp_path / "env.csv", say=None)

    assert list(on_dask.key) == [run_key(c) for c in cfgs]
    assert (on_dask.status == "ok").all() and len(said) == len(cfgs)
    pd.testing.assert_frame_equal(pool[COLS], on_dask[COLS])
    assert by_env.status.tolist() == ["ok"]
    # the workers trained every run: only they write to worker_runs
    assert _cached_keys(tmp_path / "worker_runs") == sorted([*on_dask.key, *by_env.key])
    # ... and sent each checkpoint back, so the client's cache holds every run too
    assert _cached_keys(tmp_path / "client_runs") == sorted([*on_dask.key, *by_env.key])


def test_bad_scheduler_address_is_one_clear_error(tmp_path):
    from charlm import CharlmError

    with pytest.raises(CharlmError, match="cannot use the Dask scheduler 'nonsense'"):
        run_study([BASE], tmp_path / "x.csv", scheduler="nonsense", say=None)


def test_compare_backends_trains_both_ways_and_finds_identical_rows(tmp_path):
    # In a process of its own, as a notebook kernel runs it: a second LocalCluster in the
    # process of the test above can fail to start its event loop (distributed's LoopRunner).
    script = f"""
import json, os
from charlm import TrainConfig
from charlm.studies.backends import compare_backends
from charlm.runs import run_key
cfgs = [TrainConfig(n_epochs=20, hidden_size=16, n_layers=1, chunk_len=50, print_every=10,
                    plot_every=5, seed=s) for s in (1, 2)]
cmp = compare_backends(cfgs, workers=2)
print(json.dumps({{"identical": cmp.identical, "differing": cmp.differing,
                  "pool": list(cmp.pool.key), "cluster": list(cmp.cluster.key),
                  "keys": [run_key(c) for c in cfgs], "status": list(cmp.pool.status),
                  "times": [cmp.pool_seconds, cmp.cluster_start_seconds, cmp.cluster_seconds],
                  "mine": os.path.exists({str(tmp_path / "mine")!r})}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=240, env=os.environ | {"CHARLM_RUNS_DIR": str(tmp_path / "mine")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["identical"] and out["differing"] == []
    assert out["pool"] == out["cluster"] == out["keys"] and out["status"] == ["ok", "ok"]
    assert min(out["times"]) > 0
    assert not out["mine"]  # both backends trained in temporary folders, not the caller's cache
