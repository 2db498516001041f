"""The best model (notebook 06 and Appendix E): its tables and the learning curves' input.

The computation is in :mod:`charlm.studies.best`, :mod:`charlm.studies.search` and
:mod:`charlm.studies.sanity`; the captions and the sentences are in the notebooks' markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...checkpoint import Checkpoint
from ...studies.best import BASE, BEST, Scores
from ...studies.sanity import ONE_CHAR_PRIME, SANITY_SAMPLES
from ...studies.search import setting_label
from ..display import table


def changes_table(changes: pd.DataFrame):
    """:func:`charlm.studies.search.changed_settings` as a table, with whether the search
    varied each setting."""
    shown = changes.copy()
    if "varied" in shown:
        shown["varied in the search"] = shown.pop("varied").map({True: "yes", False: "no"})
    return table(shown)


def search_table(results: pd.DataFrame):
    """The recorded search (:func:`charlm.presets.search_results`), one row per run: its
    setting in words, the budget, the minutes, iterations and validation BPC it reached, its
    derailed samples where measured, and the one chosen."""
    return table(pd.DataFrame({
        "setting": [setting_label(row) for _, row in results.iterrows()],
        "budget (min)": results["budget_minutes"].map("{:g}".format),
        "minutes": results["train_minutes"], "iterations": results["iterations"],
        "validation BPC": results["valid_bpc"],
        "derailed samples": results["derailed"].map(
            lambda d: "not measured" if pd.isna(d) else f"{int(d)} of {SANITY_SAMPLES}"),
        "chosen": results["chosen"].map({True: "chosen", False: ""}),
    }), floatfmt="{:.3f}", formats={"minutes": "{:.1f}", "iterations": "{:,}"})


def results_table(scores: Scores):
    """:meth:`charlm.studies.best.Scores.table` as a table."""
    return table(scores.table(), floatfmt="{:.3f}", formats={"minutes": "{:.1f}"})


def curve_runs(best: Checkpoint, base: Checkpoint) -> list[dict[str, Any]]:
    """The two runs as :func:`charlm.report.plots.plot_valid_curves` takes them."""
    best_label = f"{BEST} ({best.config.hidden_size} hidden, batch {best.config.batch_size})"
    return [{"label": label, "curve": ck.meta["valid_curve"],
             "chars_per_iteration": ck.config.batch_size * ck.config.chunk_len,
             "members": ck.meta.get("member_iterations") or []}
            for label, ck in ((best_label, best), (BASE, base))]


def rails_table(summary: pd.DataFrame):
    """One row per model, kind of prime and temperature of
    :func:`charlm.studies.sanity.sanity_summary`: derailed samples, capital runs and the share
    of words the training text never uses."""
    return table(pd.DataFrame({
        "model": summary.model,
        "prime": [repr(ONE_CHAR_PRIME) if k == "one character" else "test text"
                  for k in summary.prime_kind],
        "T": summary.temperature.map("{:g}".format),
        "derailed": [f"{d} of {n}" for d, n in zip(summary.derailed, summary.samples)],
        "capital run": [f"{c} of {n}" for c, n in zip(summary.capital_runs, summary.samples)],
        "unknown words": summary.unknown_share,
    }), formats={"unknown words": "{:.0%}"})


__all__ = ["changes_table", "curve_runs", "rails_table", "results_table", "search_table"]
