import pytest
import pandas as pd

from charlm import TrainConfig
from charlm.studies.runner import read_log, run_study
from charlm.studies.settings import one_at_a_time
from charlm.runs import cache_path, cached_run

BASE = TrainConfig(n_epochs=20, hidden_size=16, n_layers=1, chunk_len=50, print_every=10)


def test_one_at_a_time_lists_the_base_once():
    cfgs = one_at_a_time(BASE, {"hidden_size": [8, 16], "lr": [0.001, 0.005]})
    assert [(c.hidden_size, c.lr) for c in cfgs] == [(8, 0.005), (16, 0.005), (16, 0.001)]


def test_diverging_run_is_recorded_and_study_carries_on(tmp_path):
    cfgs = [BASE.replace(lr=1e3), BASE.replace(lr=0.01)]
    df = run_study(cfgs, tmp_path / "log.csv", workers=1, say=None)
    assert list(df.status) == ["diverged", "ok"]
    assert df.diverged_at.iloc[0] >= 1 and pd.isna(df.bpc_test.iloc[0])
    assert df.bpc_test.iloc[1] > 0


@pytest.mark.slow
def test_parallel_equals_serial_and_resume_trains_only_missing(tmp_path, monkeypatch):
    cfgs = [BASE.replace(hidden_size=h) for h in (8, 12, 16)]
    serial = run_study(cfgs, tmp_path / "serial.csv", workers=1, say=None)
    monkeypatch.setenv("CHARLM_RUNS_DIR", str(tmp_path / "other_runs"))
    parallel = run_study(cfgs, tmp_path / "parallel.csv", workers=2, say=None)
    cols = ["key", "min_loss", "final_loss", "bpc_test", "iterations"]
    pd.testing.assert_frame_equal(serial[cols], parallel[cols])

    # lose the last row as if the study had been killed before logging it: only it is retrained
    log = tmp_path / "parallel.csv"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-1]) + "\n")
    said = []
    again = run_study(cfgs, log, workers=2, say=said.append)
    assert said[0].startswith("study: 2 of 3 runs already")
    assert len(read_log(log)) == 3
    pd.testing.assert_frame_equal(again[cols], parallel[cols])


def test_cached_run_reuses_the_checkpoint():
    first = cached_run(BASE, progress=False)
    stamp = cache_path(BASE).stat().st_mtime_ns
    second = cached_run(BASE, progress=False)
    assert cache_path(BASE).stat().st_mtime_ns == stamp
    assert second.history == first.history and second.meta["log"] == first.meta["log"]
