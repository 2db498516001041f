"""Section 4.5 and Appendix D, the cells: the tables of the two comparisons (the sentences are
the notebooks' markdown)."""

from __future__ import annotations

import pandas as pd

from ...studies.cells import CellComparison, Ranking
from ..display import table

BPC_FORMATS = {"final loss": "{:.3f}", "BPC (test)": "{:.3f}", "BPC (test_large)": "{:.3f}"}


def _gaps(r: Ranking) -> list[str]:
    """Each cell's gap to the best on the large test file with its 95% interval ("best" for
    the best), in the order of ``r.rows``."""
    return ["best" if cell == r.best else
            f"{r.gaps[cell][0]:+.3f} ({r.gaps[cell][1]:+.3f} to {r.gaps[cell][2]:+.3f})"
            for cell in r.rows.index]


def equal_data_table(runs: CellComparison):
    """The equal-data runs: width, parameters, final loss, BPC on both test files and the gap
    to the best cell on the large one."""
    df = runs.table(runs.equal_data)[["cell", "hidden size", "parameters", "final loss",
                                      "BPC (test)", "BPC (test_large)"]]
    df["gap to the best (95% interval)"] = _gaps(runs.equal_data_ranking)
    return table(df, formats={"parameters": "{:,}", **BPC_FORMATS})


def equal_time_table(runs: CellComparison):
    """The equal-time runs: the training time each took, the iterations it reached in it, the
    time per iteration, final loss, BPC and the gap to the best cell."""
    df = runs.table(runs.equal_time)[["cell", "hidden size", "seconds", "iterations",
                                      "characters read", "ms per iteration", "final loss",
                                      "BPC (test)", "BPC (test_large)", "status"]]
    df["gap to the best (95% interval)"] = _gaps(runs.equal_time_ranking)
    return table(pd.DataFrame(df), formats={
        "seconds": "{:.1f}", "iterations": "{:,}", "characters read": "{:,}",
        "ms per iteration": "{:.1f}", **BPC_FORMATS})


__all__ = ["equal_data_table", "equal_time_table"]
