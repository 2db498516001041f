"""Appendix F (notebook 15): the table of the same study on the local pool and on a Dask
cluster (:mod:`charlm.studies.backends`); its caption and sentences are in the markdown."""

from __future__ import annotations

import pandas as pd

from ...studies.backends import BackendComparison
from ..display import table


def timings(cmp: BackendComparison) -> pd.DataFrame:
    """One row per backend: processes, start-up seconds (the pool's are inside its study time),
    study seconds and runs."""
    return pd.DataFrame([
        {"backend": "process pool", "processes": cmp.workers, "start-up (s)": float("nan"),
         "study (s)": cmp.pool_seconds, "runs": len(cmp.pool)},
        {"backend": "Dask LocalCluster", "processes": cmp.workers,
         "start-up (s)": cmp.cluster_start_seconds, "study (s)": cmp.cluster_seconds,
         "runs": len(cmp.cluster)},
    ])


def backend_table(cmp: BackendComparison):
    """:func:`timings` as a table."""
    return table(timings(cmp), floatfmt="{:.1f}")


__all__ = ["backend_table", "timings"]
