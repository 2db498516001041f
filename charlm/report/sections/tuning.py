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
from ...studies.selection import Optimism, SeedSpread, SelectionAnalysis
from ...studies.summary import best_row, format_value, study_table, varied_label
from ..display import bullets, plural, table

CHANCE = 0.03  # a gain below this many bits per character may be chance (one seed per run)
NEGLIGIBLE = 0.01  # an optimism below this many bits per character is negligible

RUN_FORMATS = {"min loss": "{:.3f}", "final loss": "{:.3f}", "BPC (valid)": "{:.3f}",
               "BPC (test)": "{:.3f}", "minutes": "{:.1f}"}
MAIN_COLUMNS = ("varied", "parameters", "BPC (valid)", "BPC (test)", "minutes")  # of the main table
METRIC_TEXT = {"bpc_valid": "validation", "bpc_test": TEST_FILE}
# hyperparameters a study may leave at the base, as the report names them
UNTESTED = {"chunk_len": "chunk length", "batch_size": "batch size", "dropout": "dropout",
            "clip": "gradient clipping", "lr_schedule": "the learning-rate schedule",
            "cell": "the recurrent cell"}


# ---------------------------------------------------------------- the answer


def _row(df: pd.DataFrame, configs: Sequence[TrainConfig], cfg: TrainConfig | None):
    """The study's row of ``cfg`` when it finished, else None."""
    if cfg is None or cfg not in configs:
        return None
    row = df.iloc[list(configs).index(cfg)]
    return row if row["status"] == "ok" else None


def answer(df: pd.DataFrame, configs: Sequence[TrainConfig], base: TrainConfig,
           varied: Sequence[str], metric: str,
           effects: Mapping[str, Sequence[tuple[Any, float, float]]],
           seeds: SeedSpread | None = None) -> str:
    """The answer of 4.2: what the study compared, the setting it chose and by how much it beats
    the base (with the seed-to-seed spread when measured), and which base values stayed best."""
    on = METRIC_TEXT[metric]
    held = (f"the coursework's settings with {base.valid_frac:.0%} of {TRAIN_FILE} held out to "
            "choose on" if base.valid_frac else "the coursework's settings")
    text = (f"**Answer.** {len(configs)} runs, each changing one hyperparameter ("
            + ", ".join(varied) + f") of a base setting ({held}), were compared on {on} BPC.")
    best = best_row(df, metric)
    if best is None:
        return text + " **No run finished**, so nothing was chosen; see the status column."
    label = varied_label(best, base.to_dict(), varied)
    base_row = _row(df, configs, base)
    if label == "base" or base_row is None:
        text += f" The best is **{label}** ({on} BPC {best[metric]:.3f})."
    else:
        text += (f" The best is **{label}**: {best[metric]:.3f} against the base's "
                 f"{base_row[metric]:.3f} on {on}")
        if metric != "bpc_test":
            text += f", {best['bpc_test']:.3f} against {base_row['bpc_test']:.3f} on {TEST_FILE}"
        text += (f", with {best['n_params'] / base_row['n_params']:.1f} times the parameters and "
                 f"{best['wall_time_s'] / base_row['wall_time_s']:.1f} times the training time.")
    if seeds is not None and seeds.compared and label == seeds.chosen:
        n = int(seeds.table["seeds"].min())
        real = seeds.gain > seeds.spread
        text += (f" Over {n} seeds each, it beats the base by {seeds.gain:.3f} bits on average, "
                 + (f"{seeds.gain / seeds.spread:.0f} times the larger seed-to-seed range "
                    f"({seeds.spread:.3f}): not chance." if real else
                    f"less than the larger seed-to-seed range ({seeds.spread:.3f}): one cannot "
                    "tell them apart."))
    kept = [p for p in varied if len(effects[p]) > 1 and _best_value(effects[p]) == getattr(base, p)]
    if kept:
        text += (" The base's " + " and ".join(f"{p} ({format_value(getattr(base, p))})" for p in kept)
                 + (" was already the best value" if len(kept) == 1 else
                    " were already the best values") + " tried.")
    return text


def method(configs: Sequence[TrainConfig], base: TrainConfig, varied: Sequence[str]) -> str:
    """The study in plain words: the base (and what sets it apart from 4.1's model), the values
    tried, and the size of the full grid over them."""
    tried = tried_values(configs, varied)
    others = "; ".join(f"{p} " + ", ".join(format_value(v) for v in vals if v != getattr(base, p))
                       for p, vals in tried.items())
    text = (f"The base setting is the coursework's (hidden_size {base.hidden_size}, "
            f"{base.n_layers} layers, lr {base.lr:g}, {base.n_epochs:,} iterations)")
    text += (f" with {base.valid_frac:.0%} of {TRAIN_FILE} held out as validation text: it is "
             "not the model of 4.1, which trained on the whole file." if base.valid_frac else
             f", trained on the whole of {TRAIN_FILE} as in 4.1.")
    return text + (f" The other runs change one value each ({others}): {len(configs)} runs, where a "
                   f"full grid over the same values would take {math.prod(map(len, tried.values()))}.")


def untested(varied: Sequence[str]) -> str:
    """The hyperparameters the study left at the base's values (of :data:`UNTESTED`)."""
    kept = [name for field, name in UNTESTED.items() if field not in varied]
    if not kept:
        return "Only the values in [](#tab-42-runs) were tried."
    return ("Only the values in [](#tab-42-runs) were tried; " + ", ".join(kept[:-1])
            + (" and " if len(kept) > 1 else "") + kept[-1] + " stayed at the base's values.")


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


def runs_caption(df: pd.DataFrame) -> str:
    """The caption of :func:`runs_table` (placed after it)."""
    valid = "on the validation text and " if df["bpc_valid"].notna().any() else ""
    return ("Table {#tab-42-runs}: One row per run: what it changes from the base, its number of "
            f"parameters, its BPC {valid}on {TEST_FILE}, and its minutes of training.")


def runs_table(df: pd.DataFrame, base: TrainConfig, varied: Sequence[str]):
    """The study's runs as the main text shows them (:data:`MAIN_COLUMNS`)."""
    frame = study_table(df, base.to_dict(), varied)
    return table(frame[[c for c in MAIN_COLUMNS if c in frame]], formats=RUN_FORMATS)


def full_runs_caption(df: pd.DataFrame, log: str) -> str:
    """The caption of :func:`full_runs_table` (the appendix's table of every run)."""
    valid = (f"BPC (valid) is over the validation text held out of {TRAIN_FILE}; "
             if df["bpc_valid"].notna().any() else "")
    return ("Table {#tab-c-runs}: Every run of the study (also in " + log + "). Losses are in "
            "nats per character on the training chunks: min loss is the lowest point of the loss "
            "history, final loss the mean of its last tenth (the report's final loss); "
            f"{valid}BPC (test) is over the whole of {TEST_FILE}; minutes of training, one thread "
            "per run.")


def full_runs_table(df: pd.DataFrame, base: TrainConfig, varied: Sequence[str],
                    final: Sequence[float]):
    """Every run of the study with its losses (``final``: the report's final losses,
    :func:`~charlm.studies.summary.final_losses`)."""
    return table(study_table(df, base.to_dict(), varied, final), formats=RUN_FORMATS)


def figure_caption(metric: str) -> str:
    """The caption of the figure of BPC against each varied hyperparameter."""
    return ("Figure {#fig-42-bpc-by-param}: One panel per varied hyperparameter, the others at the "
            "base: BPC (bits per character) against its value"
            + (", on the validation text and on " + TEST_FILE if metric == "bpc_valid" else "")
            + f". Each panel's title names the best value on {METRIC_TEXT[metric]}.")


# ---------------------------------------------------------------- the effects


def _trend(bpcs: Sequence[float], values: Sequence[Any]) -> str:
    diffs = np.diff(bpcs)
    if np.all(diffs < 0):
        return "BPC falls as it grows"
    if np.all(diffs > 0):
        return "BPC rises as it grows"
    return f"BPC is lowest at {format_value(values[int(np.argmin(bpcs))])}"


def _best_value(runs: Sequence[tuple[Any, float, float]]) -> Any:
    return min(runs, key=lambda e: e[1])[0]


def _against(gap: float, noise: float | None, chance: float) -> str:
    """How a gap between two single-seed runs compares with the seed-to-seed range ``noise``
    (or, unmeasured, with ``chance``)."""
    if noise is None or math.isnan(noise):
        return " (a difference this small may be chance: one seed per run)" if gap < chance else ""
    if gap > noise:
        return f", more than the seed-to-seed range ({noise:.3f})"
    return f", within the seed-to-seed range ({noise:.3f}): a tie, not an order"


def learned(effects: Mapping[str, Sequence[tuple[Any, float, float]]], base: TrainConfig,
            varied: Sequence[str], noise: float | None = None, chance: float = CHANCE) -> str:
    """Bullets: for each parameter, how BPC moves with it and how its best value compares with
    the base value, against the seed-to-seed range ``noise`` (:class:`SeedSpread`'s
    ``spread``; None or NaN: unmeasured, and gains below ``chance`` are flagged); and, when several
    parameters improve on the base, that their combination is untested."""
    lines = []
    for p in varied:
        runs_p = effects[p]
        if len(runs_p) < 2:
            lines.append(f"**{p}**: only {len(runs_p)} finished run(s), nothing to compare.")
            continue
        values, bpcs = [v for v, _, _ in runs_p], [b for _, b, _ in runs_p]
        best_v, base_v = _best_value(runs_p), getattr(base, p)
        at_base = [b for v, b, _ in runs_p if v == base_v]
        trend = _trend(bpcs, values)
        line = f"**{p}**: " + ("" if best_v == base_v and trend.startswith("BPC is lowest") else
                              trend + "; ")
        if not at_base:
            line += "the base run did not finish, so there is no gain over it to measure."
        elif best_v == base_v:
            v2, b2, _ = sorted(runs_p, key=lambda e: e[1])[1]
            line += (f"the base value {format_value(base_v)} is the best tried, "
                     f"{b2 - at_base[0]:.3f} bits better than the next, {format_value(v2)}"
                     f"{_against(b2 - at_base[0], noise, chance)}.")
        else:
            gain = at_base[0] - min(bpcs)
            line += (f"{format_value(best_v)} beats the base value {format_value(base_v)} by "
                     f"{gain:.3f} bits{_against(gain, noise, chance)}.")
        lines.append(line)
    winners = [p for p in varied if len(effects[p]) > 1 and _best_value(effects[p]) != getattr(base, p)]
    if len(winners) > 1:
        lines.append("These improvements were each measured alone: one parameter at a time cannot say "
                     "whether they add up, so the combination ("
                     + ", ".join(f"{p} = {format_value(_best_value(effects[p]))}" for p in winners)
                     + ") would need its own run before being recommended.")
    return bullets(lines)


def seed_variation(seeds: SeedSpread) -> str:
    """The seed-to-seed spread of the base and the chosen setting, and what it says about the
    study's differences."""
    if not len(seeds.table):
        return "No setting was trained with more than one seed, so seed-to-seed variation is not measured."
    on, t = METRIC_TEXT[seeds.metric], seeds.table
    text = (f"Trained with {int(t['seeds'].min())} seeds each (the study's and "
            f"{int(t['seeds'].min()) - 1} more), "
            + " and ".join(f"{'the base' if r.setting == seeds.base else r.setting} scores from "
                           f"{r.low:.3f} to {r.high:.3f} on {on} (standard deviation {r.std:.3f})"
                           for r in t.itertuples()) + ".")
    if seeds.compared:
        text += (f" The chosen setting's gain, {seeds.gain_single:.3f} bits with one seed and "
                 f"{seeds.gain:.3f} on average over the seeds, "
                 + ("exceeds" if seeds.gain > seeds.spread else "does not exceed")
                 + f" the larger range ({seeds.spread:.3f}).")
    return text + (f" With {plural(int(t['seeds'].min()), 'seed')} per setting the measure is "
                   "rough, and the other settings were trained once: a difference between them "
                   "smaller than about this range is not an order.")


def seeds_caption(seeds: SeedSpread) -> str:
    """The caption of :func:`seeds_table`."""
    return ("Table {#tab-c-seeds}: The settings trained with several seeds: how many, and the mean, "
            f"lowest, highest and standard deviation of their BPC on {METRIC_TEXT[seeds.metric]} "
            "over the seeds.")


def seeds_table(seeds: SeedSpread):
    """The appendix's table of the settings trained with several seeds."""
    frame = seeds.table.rename(columns={"low": "lowest", "high": "highest", "std": "std. dev."})
    return table(frame, floatfmt="{:.3f}")


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
    """The caption of :func:`scores_table` (placed after it): the texts, their sizes and the
    bootstrap."""
    (small, large), (n_small, n_large) = sel.texts, sel.chars
    return ("Table {#tab-c-scores}: Every finished run of the study on the three texts: the "
            f"validation split "
            f"({sel.valid_frac:.0%} of {TRAIN_FILE}), {small} ({n_small:,} characters) and {large} "
            f"({n_large:,} characters). The intervals are {sel.level:.0%} block bootstraps: the "
            f"per-character bits are cut into {sel.block}-character blocks, which are resampled "
            f"{sel.n_boot:,} times.")


def scores_table(sel: SelectionAnalysis):
    """Every finished run's BPC, with intervals, on the validation split and the two test texts."""
    return table(scores_frame(sel), floatfmt="{:.3f}")


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


def validation_lesson(sel: SelectionAnalysis, negligible: float = NEGLIGIBLE) -> str:
    """The main text's short account of choosing on validation and reporting on test: which
    setting each way picks, what the large test file says of it, how much choosing on the test
    file would flatter it, and how precisely the small test file measures."""
    s, (small, large) = sel.scores, sel.texts
    t = sel.by_test
    text = f"Choosing on {small} would pick **{s['setting'][t]}**"
    v = sel.by_valid
    if v is not None:
        text += (", the same setting as validation" if v == t else
                 f"; validation picks **{s['setting'][v]}**")
    text += (f". On {large} ({_kb(sel.chars[1])}), which played no part in the choice on "
             f"validation, the chosen setting scores {s['bpc_large'][sel.chosen]:.3f}. ")
    bias = max(abs(b) for b in _biases(sel))
    text += (f"Here the winner is clear, so that flattery is negligible (under {negligible:g} "
             "bits), as it would not be with settings closer together. " if bias < negligible else
             f"Here choosing on {small} would flatter its winner by about "
             f"{max(_biases(sel)) / np.sqrt(2):.3f} bits. ")
    text += (f"A run's {sel.level:.0%} interval "
             f"is {sel.width_test:.3f} bits wide on {small} and {sel.width_large:.3f} on {large}")
    if sel.paired is not None:
        d, lo, hi = sel.paired[0]
        text += (f"; comparing two models on the same text is more precise: the chosen setting "
                 f"minus the base is {d:+.3f} bits on {small} ({lo:+.3f} to {hi:+.3f})")
    return text + "."


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


__all__ = ["CHANCE", "MAIN_COLUMNS", "METRIC_TEXT", "NEGLIGIBLE", "RUN_FORMATS", "UNTESTED", "answer", "choices",
           "figure_caption", "full_runs_caption", "full_runs_table", "learned", "method", "optimism",
           "optimism_verdict", "paired_difference", "runs_caption", "runs_table", "scores_caption",
           "scores_frame", "scores_table", "seed_variation", "seeds_caption", "seeds_table", "study_description",
           "tried_values", "uncertainty", "untested", "validation_lesson"]
