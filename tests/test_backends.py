"""Appendix F's facts and table (charlm.studies.backends, charlm.report.sections.scaling) on
hand-made comparisons: no training, no cluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charlm.report.sections import scaling
from charlm.studies.backends import COMPARED, BackendComparison, backend_facts, cost_phrase


def comparison(differing=(), pool_seconds=7.1, cluster_seconds=8.6) -> BackendComparison:
    log = pd.DataFrame({"key": ["a", "b"], "n_epochs": [300, 300], "hidden_size": [64, 64],
                        "status": ["ok", "ok"], "wall_time_s": [3.0, 4.0]})
    return BackendComparison(2, pool_seconds, 0.8, cluster_seconds, log, log.copy(), list(differing))


@pytest.mark.parametrize("extra, phrase", [(1.5, "1.5 s more"), (-0.4, "0.4 s less"),
                                           (0.02, "about the same"), (-0.04, "about the same")])
def test_cost_phrase(extra, phrase):
    assert cost_phrase(extra) == phrase


@pytest.mark.parametrize("differing, identical", [((), True), (("status",), False)])
def test_backend_facts(differing, identical):
    b = backend_facts(comparison(differing))
    assert b.identical is identical and b.compared == len([c for c in COMPARED if c in ("key", "status")])
    assert (b.agreement, b.changes) == (("identical", "does not change") if identical
                                        else ("not identical", "changes"))
    assert b.differing == (", ".join(differing) or "none")
    assert (repr(b.pool_seconds), repr(b.cluster_seconds), repr(b.start_seconds)) == ("7.1", "8.6", "0.8")
    assert b.cost == "1.5 s more" and repr(b.run_seconds) == "3.5" and b.runs == 2 and b.workers == 2


def test_backend_table():
    df = scaling.timings(comparison())
    assert list(df.backend) == ["process pool", "Dask LocalCluster"] and list(df.processes) == [2, 2]
    assert np.isnan(df.loc[0, "start-up (s)"]) and list(df.runs) == [2, 2]
    assert "8.6" in scaling.backend_table(comparison()).data
