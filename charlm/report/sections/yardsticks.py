"""The ladder's tables (:mod:`charlm.studies.ladder`): the rungs, the validation table of the
n-gram orders, and the dynamic-evaluation grid."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ...baselines import KNOWS_SHORT, NgramChoice
from ...dynamic import DynamicTuning
from ..display import table


def ladder_table(frame: pd.DataFrame, tests: Sequence[str], compact: bool = False):
    """One row per rung, worst first: BPC (and 95% interval) on each test file, what it knows
    and the seconds it took; ``compact`` keeps only the model and its scores (the ladder's
    figure shows what each knows). A rung's note (``"order not chosen"``) follows its name.
    The caption is the notebook's markdown."""
    notes = frame.note if "note" in frame else pd.Series([""] * len(frame))
    shown = {"model": [f"{n} ({note})" if note else n for n, note in zip(frame.name, notes)]}
    if not compact:
        shown["knows"] = frame.knows.map(KNOWS_SHORT)
    for t in tests:
        shown[t] = [f"{b:.3f}" if math.isnan(lo) else f"{b:.3f} ({lo:.3f}-{hi:.3f})"
                    for b, lo, hi in zip(frame[t], frame[f"{t} low"], frame[f"{t} high"])]
    if not compact:
        shown["seconds"] = frame.seconds.map(lambda s: f"{s:.1f}")
    return table(pd.DataFrame(shown))


def order_table(choice: NgramChoice):
    """The validation BPC of every n-gram order tried, the chosen one marked."""
    return table(pd.DataFrame({"order": list(choice.valid_bpc),
                               "validation BPC": list(choice.valid_bpc.values()),
                               "chosen": ["yes" if k == choice.order else "" for k in choice.valid_bpc]}))


def tuning_table(tuning: DynamicTuning, top: int = 6):
    """The validation grid of the dynamic evaluation, best first (``top`` rows) and the static
    score."""
    rows = [{"segment": "static", "step": "", "decay": "", "validation BPC": tuning.static_bpc}]
    rows += [{"segment": st.segment, "step": f"{st.step:g}", "decay": f"{st.decay:g}",
              "validation BPC": b} for st, b in sorted(tuning.grid, key=lambda r: r[1])[:top]]
    return table(pd.DataFrame(rows), floatfmt="{:.4f}")


__all__ = ["ladder_table", "order_table", "tuning_table"]
