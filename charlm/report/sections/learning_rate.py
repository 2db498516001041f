"""4.3, the learning rate (notebook 03): what the rates of the grid are expected to do, the
curves of the study, their statistics, and the discussion of what they show."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ...config import TrainConfig
from ...runs import run_key
from ...studies.summary import curve_stats
from ..display import plural, table

# a rate that would need at least this many same-direction steps to move a weight by its
# initial range is expected to learn slowly
SLOW_STEPS = 100
STATS_CAPTION = ("Per learning rate: losses in nats per character, BPC in bits per character on "
                 "dickens_test.txt")
STATS_COLUMNS = {"lr": "lr", "status": "status", "start": "first loss", "early": "loss at 1/4 (smoothed)",
                 "final": "final loss", "min_smoothed": "lowest (smoothed)", "rise": "largest climb",
                 "roughness": "jumpiness", "bpc": "BPC (test)"}


def step_scale(hidden_size: int, lrs: Sequence[float], slow_steps: int = SLOW_STEPS) -> str:
    """What the rates of the grid are expected to do, from the size of the initial weights.

    PyTorch starts the LSTM's weights uniformly within +-1/sqrt(hidden_size); a typical Adam
    step is of the order of ``lr``. The largest rate is compared with that range, and the
    smallest by how many same-direction steps it needs to cross it.
    """
    scale = 1 / math.sqrt(hidden_size)
    rates = sorted(float(v) for v in lrs)
    text = f"With hidden_size = {hidden_size} the LSTM's weights start within ±{scale:.2f}."
    if not rates:
        return text
    large, small = rates[-1], rates[0]
    ratio = large / scale
    if ratio >= 2:
        size, then = "several times as large as a weight itself", "overshoot"
    elif ratio >= 0.5:
        size, then = "about as large as a weight itself", "overshoot"
    else:
        size, then = "a modest fraction of a weight", None
    text += f" The largest rate here, lr = {large:g} ({ratio:.1f} times that range), takes steps {size}"
    text += (", so its updates can be expected to overshoot and the loss to jump up and down instead "
             "of settling." if then else ", so no rate here is expected to overshoot badly.")
    if len(rates) == 1:
        return text
    steps = scale / small
    if steps >= slow_steps:
        text += (f" The smallest, lr = {small:g}, would need about {steps:,.0f} steps, all in the same "
                 "direction, to move a weight by that much, so that model should learn slowly and "
                 "still be far from done when training stops.")
    else:
        text += (f" The smallest, lr = {small:g}, moves a weight by that much in about {steps:,.0f} "
                 "steps, so no rate here is expected to be too slow.")
    return text


def curves(configs: Sequence[TrainConfig], study: pd.DataFrame,
           histories: Mapping[str, Sequence[float]],
           key: Callable[[TrainConfig], str] = run_key) -> list[dict[str, Any]]:
    """One loss curve per learning rate, for :func:`~charlm.report.plots.plot_loss_curves`.

    ``study``: the frame :func:`~charlm.studies.runner.run_study` returned for ``configs`` (one
    row per config, in the same order); ``histories``: loss histories by ``key(config)`` (a
    run not cached gets an empty curve). Besides ``label``, ``history``, ``plot_every`` and
    ``diverged_at``, each curve carries ``lr``, ``status``, ``n_epochs`` and ``bpc`` (test).
    """
    if len(configs) != len(study):
        raise ValueError(f"{len(configs)} configs but {len(study)} rows in the study")
    out = []
    for cfg, row in zip(configs, study.itertuples()):
        diverged = None if pd.isna(row.diverged_at) else int(row.diverged_at)
        out.append({"label": f"lr={cfg.lr:g}", "history": list(histories.get(key(cfg), [])),
                    "plot_every": cfg.plot_every, "diverged_at": diverged, "lr": cfg.lr,
                    "status": row.status, "n_epochs": cfg.n_epochs, "bpc": row.bpc_test})
    return out


def study_stats(runs: Sequence[Mapping[str, Any]], smooth_window: int) -> list[dict[str, Any]]:
    """:func:`~charlm.studies.summary.curve_stats` of each curve of :func:`curves`, with its
    ``lr``, ``status``, ``n_epochs`` and ``bpc`` (the input of
    :func:`~charlm.report.claims.lr_checks`)."""
    return [dict(curve_stats(r["history"], r["plot_every"], smooth_window), lr=r["lr"],
                 status=r["status"], n_epochs=r["n_epochs"], bpc=r["bpc"]) for r in runs]


def smoothed_intro(smooth_window: int, plot_every: int) -> str:
    """The sentence above the smoothed, zoomed chart."""
    if smooth_window <= 1:
        return "The same curves, unsmoothed, with the y axis cut to the range where they differ:"
    return (f"The same curves as a moving average over {smooth_window} points "
            f"({smooth_window * plot_every} iterations), with the y axis cut to the range where "
            "they differ:")


def stats_frame(stats: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The table of :func:`study_stats`: one row per learning rate, columns named for readers."""
    frame = pd.DataFrame([{label: s[key] for key, label in STATS_COLUMNS.items()} for s in stats],
                         columns=list(STATS_COLUMNS.values()))
    frame["lr"] = [f"{v:g}" for v in frame["lr"]]
    return frame


def stats_table(stats: Sequence[Mapping[str, Any]], caption: str = STATS_CAPTION):
    """:func:`stats_frame` as a table, three decimals."""
    return table(stats_frame(stats), floatfmt="{:.3f}", caption=caption)


def discussion(stats: Sequence[Mapping[str, Any]]) -> str:
    """Which rate ended lowest and highest, which swung back up most and which was jumpiest
    (runs that did not finish normally are left out, and counted)."""
    ok = [s for s in stats if s["status"] == "ok"]
    if not ok:
        return "No run of this study finished normally; see the status column."
    if len(ok) == 1:
        s = ok[0]
        text = (f"Only **lr = {s['lr']:g}** finished normally ({s['final']:.2f} nats, BPC "
                f"{s['bpc']:.3f}), so there is nothing to rank.")
    else:
        best, worst = min(ok, key=lambda s: s["final"]), max(ok, key=lambda s: s["final"])
        rough = max(ok, key=lambda s: s["roughness"])
        swing = max(ok, key=lambda s: s["rise"])
        text = (f"In this run the lowest final loss came from **lr = {best['lr']:g}** ({best['final']:.2f} "
                f"nats, BPC {best['bpc']:.3f}) and the highest from **lr = {worst['lr']:g}** "
                f"({worst['final']:.2f} nats){_tie(worst, ok)}. The curve that swung back up the most is "
                f"lr = {swing['lr']:g} (its smoothed loss climbed {swing['rise']:.2f} nats above its "
                f"lowest point so far), and the jumpiest second half belongs to lr = {rough['lr']:g} "
                f"(point-to-point spread {rough['roughness']:.3f}).")
    failed = len(stats) - len(ok)
    if failed:
        text += (f" **{plural(failed, 'run')} did not finish normally** (see the "
                 "status column).")
    return text


def _tie(worst: Mapping[str, Any], ok: Sequence[Mapping[str, Any]]) -> str:
    """``, tied with ...`` when the runner-up ends closer to the highest than either curve's own
    point-to-point spread, else ``""``."""
    rest = [s for s in ok if s is not worst]
    if not rest:
        return ""
    second = max(rest, key=lambda s: s["final"])
    gap, jump = worst["final"] - second["final"], max(worst["roughness"], second["roughness"])
    if gap >= jump:
        return ""
    return (f", in a tie with lr = {second['lr']:g} ({second['final']:.2f}): {gap:.3f} nats apart, "
            f"less than their curves' spread from point to point ({jump:.3f})")


__all__ = ["SLOW_STEPS", "STATS_CAPTION", "STATS_COLUMNS", "curves", "discussion", "smoothed_intro",
           "stats_frame", "stats_table", "step_scale", "study_stats"]
