"""Section "studies that outgrow one machine" (Appendix F, notebook 15): the same study on the local pool
and on a Dask cluster, from a :class:`~charlm.studies.backends.BackendComparison`."""

from __future__ import annotations

import pandas as pd

from ...studies.backends import BackendComparison
from ..claims import Check
from ..display import plural, table


def _values(pool: pd.DataFrame, column: str) -> str:
    """The distinct values of ``column`` in the log, as ``300`` or ``300/600``."""
    return "/".join(f"{v:g}" if isinstance(v, float) else str(v)
                    for v in sorted(pool[column].unique()))


def study_description(cmp: BackendComparison) -> str:
    """``4 runs of 300 iterations (hidden size 64)``, from the pool's log."""
    n = len(cmp.pool)
    return (f"{plural(n, 'run')} of {_values(cmp.pool, 'n_epochs')} iterations "
            f"(hidden size {_values(cmp.pool, 'hidden_size')})")


def timings(cmp: BackendComparison) -> pd.DataFrame:
    """One row per backend: start-up seconds (the pool's are inside its study time), study
    seconds and runs."""
    return pd.DataFrame([
        {"backend": f"local process pool ({cmp.workers} processes)", "start-up (s)": float("nan"),
         "study (s)": cmp.pool_seconds, "runs": len(cmp.pool)},
        {"backend": f"Dask LocalCluster ({cmp.workers} worker processes)",
         "start-up (s)": cmp.cluster_start_seconds, "study (s)": cmp.cluster_seconds,
         "runs": len(cmp.cluster)},
    ])


def backend_table(cmp: BackendComparison, caption: str | None = None):
    """:func:`timings` as a table, captioned with what the study was."""
    caption = caption or (f"{study_description(cmp)}; wall-clock seconds on this machine. The "
                          "pool's time includes starting its processes.")
    return table(timings(cmp), floatfmt="{:.1f}", caption=caption)


def backends_sentence(cmp: BackendComparison) -> tuple[str, Check]:
    """Whether the two logs agree, and what the cluster cost in time; the agreement as a
    :class:`Check`."""
    compared = cmp.compared
    if cmp.identical:
        same = ("**identical**: every one of " + ", ".join(f"`{c}`" for c in compared)
                + " agrees bit for bit")
        observed = f"identical in all {len(compared)} compared columns"
    else:
        same = "**not identical**: " + ", ".join(f"`{c}`" for c in cmp.differing) + " differ"
        observed = "differing in " + ", ".join(cmp.differing)
    overhead = cmp.cluster_seconds - cmp.pool_seconds
    if round(overhead, 1) == 0:
        cost = "about the same"
    else:
        cost = f"{abs(overhead):.1f} s {'more' if overhead > 0 else 'less'}"
    text = (f"The two logs are {same}. On the cluster the study took {cmp.cluster_seconds:.1f} s "
            f"once the cluster was up ({cmp.cluster_start_seconds:.1f} s to start), against "
            f"{cmp.pool_seconds:.1f} s on the pool: {cost}, for runs of "
            f"{cmp.mean_run_seconds:.1f} s each on average.")
    check = Check("on one machine, where a run trains does not change what it computes: the "
                  "pool's and the cluster's rows are identical (wall times aside)", observed,
                  cmp.identical)
    return text, check


__all__ = ["backend_table", "backends_sentence", "study_description", "timings"]
