"""The table of 4.3, from :func:`~charlm.studies.learning_rates.lr_study` (the prose, with its
captions, is in the notebook's markdown)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...studies.learning_rates import LrStudy
from ..display import table

STATS_COLUMNS = {"lr": "lr", "status": "status", "start": "first loss", "early": "loss at 1/4 (smoothed)",
                 "final": "final loss", "min_smoothed": "lowest (smoothed)", "rise": "largest climb",
                 "roughness": "jumpiness", "bpc": "BPC (test)"}
# the columns of the main text's table (status is added when some run did not finish)
MAIN_STATS = ("lr", "early", "final", "rise", "roughness", "bpc")


def stats_frame(stats: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per learning rate, columns named for readers (``keys``: the
    :data:`STATS_COLUMNS` to show, all by default)."""
    keys = list(keys or STATS_COLUMNS)
    frame = pd.DataFrame([{STATS_COLUMNS[k]: s[k] for k in keys} for s in stats],
                         columns=[STATS_COLUMNS[k] for k in keys])
    frame["lr"] = [f"{v:g}" for v in frame["lr"]]
    return frame


def stats_table(study: LrStudy):
    """:data:`MAIN_STATS` of each curve (with the status when some run did not finish), three
    decimals."""
    keys = list(MAIN_STATS)
    if any(s["status"] != "ok" for s in study.stats):
        keys.insert(1, "status")
    return table(stats_frame(study.stats, keys), floatfmt="{:.3f}")


__all__ = ["MAIN_STATS", "STATS_COLUMNS", "stats_frame", "stats_table"]
