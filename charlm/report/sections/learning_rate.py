"""4.3, the learning rate (notebook 03): what the rates of the grid are expected to do, the
curves of the study, their statistics, and the discussion of what they show."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ...config import TrainConfig
from ...runs import run_key
from ...corpora import TEST_FILE
from ...studies.summary import curve_stats, tied_end
from ..claims import Check
from ..display import plural, table

# a rate that would need at least this many same-direction steps to move a weight by its
# initial range is expected to learn slowly
SLOW_STEPS = 100
STATS_COLUMNS = {"lr": "lr", "status": "status", "start": "first loss", "early": "loss at 1/4 (smoothed)",
                 "final": "final loss", "min_smoothed": "lowest (smoothed)", "rise": "largest climb",
                 "roughness": "jumpiness", "bpc": "BPC (test)"}
# the columns of the main text's table (status is added when some run did not finish)
MAIN_STATS = ("lr", "early", "final", "rise", "roughness", "bpc")


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


def curves_caption(plot_every: int) -> str:
    """The caption of the chart of the raw training-loss curves."""
    return ("Figure {#fig-43-loss-by-lr}: Training loss (nats per character) against iteration, "
            f"one curve per learning rate; each point is the mean loss of {plot_every} iterations.")


def smoothed_caption(smooth_window: int, plot_every: int) -> str:
    """The caption of the smoothed, zoomed chart."""
    how = ("The same curves, unsmoothed" if smooth_window <= 1 else
           f"The same curves as a moving average over {smooth_window} points "
           f"({smooth_window * plot_every} iterations)")
    return ("Figure {#fig-43-loss-by-lr-smoothed}: " + how + ", with the loss axis cut to the "
            "range where they differ.")


def stats_frame(stats: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = None) -> pd.DataFrame:
    """The table of :func:`study_stats`: one row per learning rate, columns named for readers
    (``keys``: the :data:`STATS_COLUMNS` to show, all by default)."""
    keys = list(keys or STATS_COLUMNS)
    frame = pd.DataFrame([{STATS_COLUMNS[k]: s[k] for k in keys} for s in stats],
                         columns=[STATS_COLUMNS[k] for k in keys])
    frame["lr"] = [f"{v:g}" for v in frame["lr"]]
    return frame


def stats_table(stats: Sequence[Mapping[str, Any]]):
    """The main text's columns of :func:`stats_frame` (:data:`MAIN_STATS`, with the status when
    some run did not finish) as a table, three decimals."""
    keys = list(MAIN_STATS)
    if any(s["status"] != "ok" for s in stats):
        keys.insert(1, "status")
    return table(stats_frame(stats, keys), floatfmt="{:.3f}")


def answer(stats: Sequence[Mapping[str, Any]]) -> str:
    """The answer of 4.3, from :func:`study_stats`: which rate learns slowest, which is the most
    unstable, which end lowest and highest (a tie when the gap is below the curves' own
    jumpiness, :func:`~charlm.studies.summary.tied_end`); runs that did not finish normally are
    left out, and counted."""
    ok = [s for s in stats if s["status"] == "ok"]
    rates = sorted(float(s["lr"]) for s in stats)
    text = (f"**Answer.** {plural(len(stats), 'model')}, the same but for the learning rate "
            f"({', '.join(f'{v:g}' for v in rates)}), trained {stats[0]['n_epochs']:,} iterations each"
            if stats else "**Answer.** This study has no runs")
    if len(ok) < 2:
        text += (". Fewer than two finished normally, so there is nothing to compare; see the "
                 "status of each run below.")
        return text
    slow, fast = max(ok, key=lambda s: s["early"]), min(ok, key=lambda s: s["early"])
    swing, rough = max(ok, key=lambda s: s["rise"]), max(ok, key=lambda s: s["roughness"])
    text += (f". The slowest to learn is **lr = {slow['lr']:g}**: a quarter of the way in, its "
             f"smoothed loss is {slow['early']:.2f} nats, against {fast['early']:.2f} for lr = "
             f"{fast['lr']:g}. The least stable is **lr = {swing['lr']:g}**: after the first quarter "
             f"its smoothed loss climbs back {swing['rise']:.2f} nats")
    text += (f", and its curve is the jumpiest ({rough['roughness']:.3f} nats from point to point)."
             if rough is swing else f"; the jumpiest curve is lr = {rough['lr']:g}'s "
             f"({rough['roughness']:.3f} nats from point to point).")
    text += " " + _end(ok, highest=False) + " " + _end(ok, highest=True)
    failed = len(stats) - len(ok)
    if failed:
        text += f" **{plural(failed, 'run')} did not finish normally** (see the status column)."
    return text


def _end(ok: Sequence[Mapping[str, Any]], highest: bool) -> str:
    """Which rate ends lowest (with its test BPC) or highest, or the two that tie for it."""
    where = "highest" if highest else "lowest"
    tie = tied_end(ok, highest)
    if tie:
        a, b, gap, jump = tie
        return (f"lr = {a['lr']:g} and {b['lr']:g} end {where} in a tie ({a['final']:.2f} and "
                f"{b['final']:.2f} nats: {gap:.3f} apart, less than their curves' jumpiness, "
                f"{jump:.3f}){_bpcs((a, b), highest)}.")
    end = max(ok, key=lambda s: s["final"]) if highest else min(ok, key=lambda s: s["final"])
    return f"**lr = {end['lr']:g}** ends {where} ({end['final']:.2f} nats{_bpcs((end,), highest)})."


def _bpcs(ends: Sequence[Mapping[str, Any]], highest: bool) -> str:
    """The test BPC of the runs that end lowest (nothing for the highest)."""
    if highest:
        return ""
    if len(ends) == 1:
        return f", BPC {ends[0]['bpc']:.3f} on {TEST_FILE}"
    return "; BPC " + " and ".join(f"{e['bpc']:.3f}" for e in ends) + f" on {TEST_FILE}"


def checks_summary(checks: Sequence[Check]) -> str:
    """One sentence on the claims of :func:`~charlm.report.claims.lr_checks`: how many hold, and
    which do not or cannot be decided (a tie), with what was found instead."""
    known = [c for c in checks if c.agrees is not None]
    held = [c for c in known if c.agrees]
    text = (f"Of the {plural(len(checks), 'claim')} of the coursework and the reference write-up "
            f"checked against these curves, {len(held)} "
            f"{'holds' if len(held) == 1 else 'hold'}")
    failed = [c for c in known if not c.agrees]
    if failed:
        text += "; these do not: " + "; ".join(f"{_short(c.claim)} (here: {c.observed})" for c in failed)
    undecided = [c for c in checks if c.agrees is None]
    if undecided:
        text += "; undecided: " + "; ".join(
            f"{_short(c.claim)} ({'a tie here' if c.observed.startswith('a tie') else c.observed})"
            for c in undecided)
    return text + "."


def _short(claim: str) -> str:
    """A claim without its rule: ``"the reference: lr 0.0001 ended highest"``."""
    return "“" + claim.split(" (")[0].split("; agreement")[0] + "”"


__all__ = ["MAIN_STATS", "SLOW_STEPS", "STATS_COLUMNS", "answer", "checks_summary", "curves",
           "curves_caption", "smoothed_caption", "stats_frame", "stats_table", "step_scale",
           "study_stats"]
