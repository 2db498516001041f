"""The tables of 4.2 and Appendix C, from :func:`~charlm.studies.tuning.tuning_results` (the
prose, with its captions, is in the notebooks' markdown)."""

from __future__ import annotations

import pandas as pd

from ...studies.summary import format_value, study_table
from ...studies.tuning import TuningResults
from ..display import table

RUN_FORMATS = {"min loss": "{:.3f}", "final loss": "{:.3f}", "BPC (valid)": "{:.3f}",
               "BPC (test)": "{:.3f}", "BPC (large test)": "{:.3f}", "minutes": "{:.1f}"}
# the main text's columns
MAIN_COLUMNS = ("varied", "parameters", "BPC (valid)", "BPC (test)", "BPC (large test)", "minutes")


def _frame(r: TuningResults, final: bool) -> pd.DataFrame:
    frame = study_table(r.runs, r.base.to_dict(), r.varied, r.final if final else None)
    large = dict(zip(r.selection.scores["setting"], r.selection.scores["bpc_large"]))
    at = list(frame.columns).index("BPC (test)") + 1
    frame.insert(at, "BPC (large test)", frame["varied"].map(large))
    return frame


def runs_table(r: TuningResults):
    """The study's runs as the main text shows them (:data:`MAIN_COLUMNS`)."""
    frame = _frame(r, final=False)
    return table(frame[[c for c in MAIN_COLUMNS if c in frame]], formats=RUN_FORMATS)


def full_runs_table(r: TuningResults):
    """Every run of the study with its settings, outcome and losses (the report's final loss)."""
    return table(_frame(r, final=True), formats=RUN_FORMATS)


def effects_table(r: TuningResults):
    """One row per varied parameter: its values, the best, and the gap that makes it best."""
    on = "valid" if r.metric == "bpc_valid" else "test"
    return table(pd.DataFrame({
        "parameter": [e.param for e in r.effects],
        "values tried": [", ".join(map(format_value, e.values)) for e in r.effects],
        "BPC": [e.trend for e in r.effects],
        "best": [format_value(e.best_value) for e in r.effects],
        "next or base": [format_value(e.against) for e in r.effects],
        f"gap ({on})": [e.gap for e in r.effects],
        "gap (large test)": [e.gap_large for e in r.effects],
        "verdict": [e.verdict for e in r.effects],
    }), floatfmt="{:.3f}")


def seeds_table(r: TuningResults):
    """Every run of the settings trained with several seeds, and 4.1's model beside the base."""
    return table(r.seeds, floatfmt="{:.3f}")


def scores_table(r: TuningResults):
    """Every finished run's BPC, with intervals, on the validation split and the two test texts."""
    s, level = r.selection.scores, f"{r.selection.level:.0%}"
    return table(pd.DataFrame({
        "setting": s["setting"], "BPC (valid)": s["bpc_valid"], "BPC (test)": s["bpc_test"],
        f"{level} interval (test)": [f"{lo:.3f} - {hi:.3f}" for lo, hi in zip(s["test_low"], s["test_high"])],
        "BPC (large test)": s["bpc_large"],
        f"{level} interval (large)": [f"{lo:.3f} - {hi:.3f}" for lo, hi in zip(s["large_low"], s["large_high"])],
    }), floatfmt="{:.3f}")


__all__ = ["MAIN_COLUMNS", "RUN_FORMATS", "effects_table", "full_runs_table", "runs_table",
           "scores_table", "seeds_table"]
