"""The sentences and tables of the scaling study (charlm.report.sections.scaling: one study on
the local process pool and on a Dask cluster), on small hand-made inputs: no training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charlm.report.sections import scaling
from charlm.studies.backends import COMPARED, BackendComparison


def comparison(differing=(), pool_seconds=7.1, cluster_seconds=8.6) -> BackendComparison:
    log = pd.DataFrame({"key": ["a", "b"], "n_epochs": [300, 300], "hidden_size": [64, 64],
                        "status": ["ok", "ok"], "wall_time_s": [3.0, 4.0]})
    return BackendComparison(2, pool_seconds, 0.8, cluster_seconds, log, log.copy(), list(differing))


def test_backend_table_and_description():
    cmp = comparison()
    assert scaling.study_description(cmp) == "2 runs of 300 iterations (hidden size 64)"
    df = scaling.timings(cmp)
    assert list(df.backend) == ["local process pool (2 processes)", "Dask LocalCluster (2 worker processes)"]
    assert np.isnan(df.loc[0, "start-up (s)"]) and list(df.runs) == [2, 2]
    html = scaling.backend_table(cmp).data
    assert "2 runs of 300 iterations (hidden size 64); wall-clock seconds" in html and "8.6" in html
    cmp.pool.loc[1, "n_epochs"] = 600
    assert scaling.study_description(cmp).startswith("2 runs of 300/600 iterations")


@pytest.mark.parametrize("differing, pool, cluster, words", [
    ((), 7.1, 8.6, "**identical**: every one of `key`, `status` agrees bit for bit"),
    (("status",), 7.1, 8.6, "**not identical**: `status` differ"),
    ((), 9.0, 8.6, "against 9.0 s on the pool: 0.4 s less, for runs of 3.5 s each"),
    ((), 8.62, 8.6, "on the pool: about the same, for runs"),
])
def test_backends_sentence(differing, pool, cluster, words):
    cmp = comparison(differing, pool, cluster)
    assert cmp.compared == [c for c in COMPARED if c in ("key", "status")]
    text, check = scaling.backends_sentence(cmp)
    assert words in text and check.agrees is (not differing)
    assert "0.8 s to start" in text
    if not differing and pool < cluster:
        assert "1.5 s more" in text and check.observed == "identical in all 2 compared columns"
