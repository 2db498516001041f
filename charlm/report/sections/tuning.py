"""Section 4.2, tuning hyperparameters: the sentences about a one-parameter-at-a-time study and
about choosing its best setting on validation rather than on the test text.

Every function takes computed results (the study's log frame from
:func:`~charlm.studies.runner.run_study`, :func:`~charlm.studies.summary.param_effects`, a
:class:`~charlm.studies.selection.SelectionAnalysis`) and returns markdown, or a table ready
to show; the numbers in the prose (validation share, block sizes, bootstrap counts) come from
those results and their parameters.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ...config import TrainConfig
from ...corpora import TEST_FILE, TRAIN_FILE
from ...data import SPLIT_BLOCK
from ...studies.selection import Optimism, SelectionAnalysis
from ...studies.summary import best_row, format_value, study_table, varied_label
from ..display import bullets, table

CHANCE = 0.03  # a gain below this many bits per character may be chance (one seed per run)
NEGLIGIBLE = 0.01  # an optimism below this many bits per character is negligible

RUN_FORMATS = {"min loss": "{:.3f}", "final loss": "{:.3f}", "BPC (valid)": "{:.3f}",
               "BPC (test)": "{:.3f}", "minutes": "{:.1f}"}


# ---------------------------------------------------------------- the study


def tried_values(configs: Sequence[TrainConfig], params: Sequence[str]) -> dict[str, list[Any]]:
    """The sorted values of each of ``params`` over ``configs``."""
    return {p: sorted({getattr(c, p) for c in configs}) for p in params}


def study_description(configs: Sequence[TrainConfig], base: TrainConfig, varied: Sequence[str],
                      settings: str) -> str:
    """What the study runs: the base, the values tried (read from ``settings``), the size of the
    full grid over the same values, and the validation split the runs hold out."""
    tried = tried_values(configs, varied)
    values = "; ".join(f"`{p}` in {v}" for p, v in tried.items())
    full_grid = math.prod(len(v) for v in tried.values())
    text = (f"This study has **{len(configs)} runs**: the base (hidden_size {base.hidden_size}, "
            f"{base.n_layers} layers, lr {base.lr:g}, {base.n_epochs} iterations) and one run for "
            f"each other value of {values}, read from `{settings}`. A full grid over the same "
            f"values would take {full_grid} runs.")
    if base.valid_frac:
        return text + (f" Each run holds out {base.valid_frac:.0%} of {TRAIN_FILE} for validation, "
                       f"in blocks of {SPLIT_BLOCK:,} characters.")
    return text + (" No run holds out a validation split (`valid_frac` is 0), so the choice is made "
                   "on the test file, as in the coursework.")


def runs_caption(df: pd.DataFrame, log: str) -> str:
    """The caption of :func:`runs_table`."""
    valid = (f"BPC (valid) is over the held-out validation part of {TRAIN_FILE}, "
             if df["bpc_valid"].notna().any() else "")
    return (f"All runs of the study (also in {log}). Losses are in nats per character (on the "
            "training chunks); 'final loss' is the last point of the history (the mean of the last "
            f"plot_every iterations); {valid}BPC (test) over the whole of {TEST_FILE}; "
            "minutes of training, one torch thread per run.")


def runs_table(df: pd.DataFrame, base: TrainConfig, varied: Sequence[str], log: str):
    """Every run of the study (:func:`~charlm.studies.summary.study_table`) as a table."""
    return table(study_table(df, base.to_dict(), varied), formats=RUN_FORMATS,
                 caption=runs_caption(df, log))


def chosen_setting(df: pd.DataFrame, configs: Sequence[TrainConfig], base: TrainConfig,
                   varied: Sequence[str], metric: str) -> str:
    """The setting with the lowest ``metric`` (``bpc_valid`` or ``bpc_test``), and how much
    better it is than the base setting."""
    best = best_row(df, metric)
    if best is None:
        return "**No run of this study finished**, so there is no best setting; see the status column."
    on = "validation" if metric == "bpc_valid" else "test"
    text = (f"Chosen on {on} BPC, the best setting of the study is "
            f"**{varied_label(best, base.to_dict(), varied)}**, with {on} BPC **{best[metric]:.3f}**")
    if metric != "bpc_test":
        text += f" (and {best['bpc_test']:.3f} on {TEST_FILE})"
    base_row = df.iloc[list(configs).index(base)] if base in configs else None
    if base_row is not None and base_row["status"] == "ok":
        text += (f"; the base setting scores {base_row[metric]:.3f}, "
                 f"{base_row[metric] - best[metric]:.3f} bits per character more")
    return text + "."


# ---------------------------------------------------------------- the effects


def describe_trend(effects: Sequence[tuple[Any, ...]], name: str) -> str:
    """A sentence on how BPC moves with one parameter (``effects``: (value, BPC, ...) tuples,
    sorted by value): falls, rises, or is lowest in between; and the spread."""
    pairs = [(e[0], e[1]) for e in effects]
    if len(pairs) < 2:
        return f"**{name}**: only {len(pairs)} finished run(s), no trend to read."
    values = ", ".join(f"{format_value(v)} -> {b:.3f}" for v, b in pairs)
    bpcs = [b for _, b in pairs]
    best_v = pairs[int(np.argmin(bpcs))][0]
    diffs = np.diff(bpcs)
    if np.all(diffs < 0):
        trend = "BPC falls as it grows"
    elif np.all(diffs > 0):
        trend = "BPC rises as it grows"
    else:
        trend = f"BPC is lowest at {format_value(best_v)}"
    spread = max(bpcs) - min(bpcs)
    return f"**{name}** (value -> BPC: {values}): {trend}; the spread is {spread:.3f} bits per character."


def trends(effects: Mapping[str, Sequence[tuple[Any, float, float]]], varied: Sequence[str]) -> str:
    """Bullets: the trend of BPC with each parameter, then training time against it."""
    lines = [describe_trend(effects[p], p) for p in varied]
    lines += [f"Training time against `{p}`: " + ", ".join(f"{v:g} -> {m:.1f} min" for v, _, m in effects[p])
              for p in varied if len(effects[p]) > 1]
    return bullets(lines)


def _best_value(runs: Sequence[tuple[Any, float, float]]) -> Any:
    return min(runs, key=lambda e: e[1])[0]


def lessons(effects: Mapping[str, Sequence[tuple[Any, float, float]]], base: TrainConfig,
            varied: Sequence[str], chance: float = CHANCE) -> str:
    """Bullets: for each parameter, whether its base value is the best tried or what the best
    value gains over it (flagged as possibly chance below ``chance`` bits); and, when several
    parameters improve on the base, that their combination is untested."""
    lines = []
    for p in varied:
        runs_p = effects[p]
        if len(runs_p) < 2:
            continue
        best_v, base_v = _best_value(runs_p), getattr(base, p)
        at_base = [b for v, b, _ in runs_p if v == base_v]
        if best_v == base_v:
            lines.append(f"For `{p}` the base value ({base_v:g}) is already the best value tried.")
        elif at_base:
            gain = at_base[0] - min(b for _, b, _ in runs_p)
            maybe = " (a difference this small may be chance: one seed per run)" if gain < chance else ""
            lines.append(f"For `{p}`, {best_v:g} beats the base value {base_v:g} by {gain:.3f} "
                         f"bits per character{maybe}.")
        else:
            lines.append(f"For `{p}`, {best_v:g} is the best value tried; the base run did not "
                         "finish, so there is no gain over it to measure.")
    winners = [p for p in varied if len(effects[p]) > 1 and _best_value(effects[p]) != getattr(base, p)]
    if len(winners) > 1:
        lines.append("These improvements were each measured alone: one parameter at a time cannot say "
                     "whether they add up, so the combination ("
                     + ", ".join(f"{p} = {_best_value(effects[p]):g}" for p in winners)
                     + ") would need its own run before being recommended.")
    if not lines:
        return "No parameter has two finished runs to compare, so nothing was learned about it."
    return bullets(lines)


# ---------------------------------------------------------------- choosing on validation


def _kb(chars: int) -> str:
    return f"{chars / 1000:.0f} KB"


def _bits(x: float) -> str:
    """A difference in bits to three decimals, never ``-0.000``."""
    return f"{round(x, 3) + 0.0:.3f}"


def scores_frame(sel: SelectionAnalysis) -> pd.DataFrame:
    """:attr:`SelectionAnalysis.scores` with the report's column names and the intervals as text."""
    s, level = sel.scores, f"{sel.level:.0%}"
    return pd.DataFrame({
        "setting": s["setting"], "BPC (valid)": s["bpc_valid"], "BPC (test)": s["bpc_test"],
        f"{level} interval (test)": [f"{lo:.3f} - {hi:.3f}" for lo, hi in zip(s["test_low"], s["test_high"])],
        "BPC (large test)": s["bpc_large"],
        f"{level} interval (large)": [f"{lo:.3f} - {hi:.3f}" for lo, hi in zip(s["large_low"], s["large_high"])],
    })


def scores_caption(sel: SelectionAnalysis) -> str:
    """The caption of :func:`scores_table`: the texts, their sizes and the bootstrap."""
    (small, large), (n_small, n_large) = sel.texts, sel.chars
    return (f"Every finished run of the study on the three texts: the validation split "
            f"({sel.valid_frac:.0%} of {TRAIN_FILE}), {small} ({n_small:,} characters) and {large} "
            f"({n_large:,} characters). The intervals are {sel.level:.0%} block bootstraps: the "
            f"per-character bits are cut into {sel.block}-character blocks, which are resampled "
            f"{sel.n_boot:,} times.")


def scores_table(sel: SelectionAnalysis):
    """Every finished run's BPC, with intervals, on the validation split and the two test texts."""
    return table(scores_frame(sel), floatfmt="{:.3f}", caption=scores_caption(sel))


def choices(sel: SelectionAnalysis) -> str:
    """Bullets: the run chosen on the small test text, the run chosen on validation, and how well
    each small text's ranking predicts the ranking on the large one."""
    s, small = sel.scores, sel.texts[0]
    t = sel.by_test
    lines = [f"**Choosing on {small}** would pick **{s['setting'][t]}** and report "
             f"{s['bpc_test'][t]:.3f}; on the {_kb(sel.chars[1])} file the same model scores "
             f"{s['bpc_large'][t]:.3f}."]
    v = sel.by_valid
    if v is None:
        lines.append("Not every run has a validation BPC (`valid_frac` is 0), so there is no choice on "
                     "validation to compare.")
        return bullets(lines)
    same = " (the same setting)" if v == t else ""
    lines.append(f"**Choosing on validation** picks **{s['setting'][v]}**{same}: validation "
                 f"{s['bpc_valid'][v]:.3f}, test {s['bpc_test'][v]:.3f}, large test {s['bpc_large'][v]:.3f}.")
    lines.append(f"How well each small text predicts the ranking on the large one (Spearman rank "
                 f"correlation over the {len(s)} runs): validation {sel.rho_valid:.2f}, "
                 f"{small} {sel.rho_test:.2f}.")
    return bullets(lines)


def optimism(sel: SelectionAnalysis) -> str:
    """Bullets: the optimism of choosing and reporting on the small test text, measured among all
    runs and among all but the winner."""
    opt, small = sel.optimism, sel.texts[0]
    lines = [f"**Measured over {opt.n_splits:,} random splits** of the {opt.block}-character blocks of "
             f"{small} into two halves: on the half it was chosen on, the winner looks "
             f"**{_bits(opt.mean)} bits per character better** on average than on the half it was not "
             f"({opt.level:.0%} of splits between {opt.low:.3f} and {opt.high:.3f}), and the two halves "
             f"pick the same winner in {opt.agreement:.0%} of the splits (halves of about "
             f"{opt.half_chars:,.0f} characters; for the whole file the bias is roughly "
             f"{_bits(opt.mean / np.sqrt(2))}). The margin between the two best runs is {sel.margin:.3f}."]
    rest = sel.optimism_rest
    if rest is not None:
        others = sel.scores["bpc_test"].drop(index=sel.by_test)
        lines.append(f"Without the winner, choosing among the other {len(others)} runs (test BPC from "
                     f"{others.min():.3f} to {others.max():.3f}): the chosen run looks {_bits(rest.mean)} "
                     f"bits better on the half it was chosen on, and the halves agree on it in "
                     f"{rest.agreement:.0%} of the splits.")
    return bullets(lines)


def _biases(sel: SelectionAnalysis) -> list[float]:
    return [o.mean for o in (sel.optimism, sel.optimism_rest) if isinstance(o, Optimism)]


def optimism_verdict(sel: SelectionAnalysis, negligible: float = NEGLIGIBLE) -> str:
    """Whether choosing on the test file would have flattered the chosen run: negligible when
    every measured optimism is below ``negligible`` bits, else by how much on the whole file."""
    biases = _biases(sel)
    if max(abs(b) for b in biases) < negligible:
        return (f"So **here the flattery is negligible** (under {negligible:g} bits per character): "
                "these settings differ by more than the noise of "
                "comparing two models on the same text, which is far smaller than each BPC's own "
                "interval (the two models find the same passages hard; see the paired difference "
                "below). It would not stay negligible with settings closer together, with more "
                "settings tried, or with a smaller text; choosing on a separate validation split "
                "makes the reported test number honest without having to check each time.")
    return (f"So choosing on the test file would have flattered the chosen run by about "
            f"{max(biases) / np.sqrt(2):.3f} bits per character on the whole file.")


def uncertainty(sel: SelectionAnalysis) -> str:
    """How wide the runs' intervals are on each test text, and how many times narrower on the
    large one."""
    (small, large), (n_small, n_large) = sel.texts, sel.chars
    return (f"**Uncertainty.** The {sel.level:.0%} interval of a run's BPC is on average "
            f"{sel.width_test:.3f} bits wide on the {_kb(n_small)} {small} and {sel.width_large:.3f} "
            f"wide on the {_kb(n_large)} {large}, {sel.width_test / sel.width_large:.0f} times "
            "narrower. That is how precisely one file measures one model; comparing two models on "
            "the same file is much more precise (below).")


def paired_difference(sel: SelectionAnalysis) -> str:
    """The chosen setting minus the base on each test text, with paired intervals."""
    if sel.base is None:
        return "The base setting has no finished run, so there is no difference to measure."
    if sel.paired is None:
        return "The chosen setting is the base setting, so there is no difference to measure."
    label = sel.scores["setting"][sel.chosen]
    return (f"Resampling the same blocks for both models, the chosen setting ({label}) minus the "
            f"base scores "
            + "; ".join(f"{d:+.3f} bits on {name} ({sel.level:.0%} interval {lo:+.3f} to {hi:+.3f})"
                        for name, (d, lo, hi) in zip(sel.texts, sel.paired)) + ".")


__all__ = ["CHANCE", "NEGLIGIBLE", "RUN_FORMATS", "chosen_setting", "choices", "describe_trend",
           "lessons", "optimism", "optimism_verdict", "paired_difference", "runs_caption",
           "runs_table", "scores_caption", "scores_frame", "scores_table", "study_description",
           "trends", "tried_values", "uncertainty"]
