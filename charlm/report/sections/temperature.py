"""Section 4.4, temperature: the sentences, tables and sample blocks whose content depends on
the samples and on the measured table (:mod:`charlm.studies.temperature`).

Each function takes computed results and returns markdown (a string) or, for samples and
tables, an ``IPython.display.HTML`` object in which every generated character is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from IPython.display import HTML

from ...corpora import TEST_FILE
from ...data import VOCAB
from ...studies.temperature import OPEN_THRESHOLD, TOP_CHARS, summary_row
from ..display import bullets, sample, table

SAMPLES_CAPTION = (
    "Measured on each generated continuation: the distinct characters it uses, its number of "
    "words, the share of them that occur in the training text (known words), and the share of "
    "its word 4-grams that repeat an earlier one (text that loops scores high).")
SUMMARY_COLUMNS = {"in_vocab": "known words", "repeat_4gram": "repeated 4-grams",
                   "bpc": "own BPC", "entropy_bits": "entropy (bits)"}
DECODING_LABELS = {"sample": "sampled", "greedy": "greedy (argmax)",
                   "reference": "real text (held out)"}
BULLET_TEMPS = (0.5, 1.0)  # the sampled temperatures described in words


# ---------------------------------------------------------------------------------------------
# the priming string and the samples


def prime_sentence(text: str, seed: int, file_name: str = TEST_FILE, chunk_len: int = 200,
                   prime_len: int = 10) -> str:
    """Where the priming string comes from (as :func:`~charlm.studies.temperature.pick_prime`
    takes it from ``text``, the contents of ``file_name``)."""
    return (f"The priming string, the first {prime_len} characters of one of the "
            f"{len(text) // chunk_len} {chunk_len}-character chunks of `{file_name}` (chosen with "
            f"seed {seed}), shown as a Python string so that spaces and line breaks are visible:")


def samples_line(temps: Sequence[float], predict_len: int, seed: int) -> str:
    """How many samples follow (each is labelled with its temperature), how long, with which
    seed."""
    return (f"{len(temps)} temperatures, {predict_len} characters at each, all drawn with seed "
            f"{seed}:")


def show_samples(prime: str, samples: Mapping[float, str]):
    """Each sample under a bold ``T = ...`` line, the priming string in blue, all escaped."""
    return HTML("\n".join(f"<p><strong>T = {t:g}</strong></p>\n{sample(prime, s).data}"
                          for t, s in samples.items()))


def samples_table(measures: pd.DataFrame, caption: str = SAMPLES_CAPTION):
    """The measures of a few samples (rows of
    :func:`~charlm.studies.temperature.sample_measures`) as a table."""
    shown = pd.DataFrame({"T": measures.temperature, "distinct chars": measures.distinct_chars,
                          "words": measures.n_words, "known words": measures.in_vocab,
                          "repeated 4-grams": measures.repeat_4gram})
    return table(shown, formats={"T": "{:g}", "known words": "{:.0%}",
                                 "repeated 4-grams": "{:.0%}"}, caption=caption)


# ---------------------------------------------------------------------------------------------
# the next-character distribution


def context_sentence(prime: str, context: str, threshold: float = OPEN_THRESHOLD,
                     top: int = TOP_CHARS) -> str:
    """What the distribution chart shows: after the priming string, or after the priming
    string extended (by :func:`~charlm.studies.temperature.open_context`) until the choice is
    open."""
    extra = context[len(prime):]
    where = (", after the priming string." if not extra else
             f", after the priming string extended by {extra!r}: right after the priming string "
             f"the model is almost sure of the next character (over {threshold:.0%} at T = 1), "
             "which would make a dull chart, so the context is extended by the most likely "
             "characters until the choice is open.")
    return ("The chart shows the model's distribution for the next character at the "
            f"temperatures above{where} The {top} characters most likely at T = 1 are shown; "
            "␣ is a space.")


def distribution_sentence(labels: Sequence[str], probs: Mapping[float, np.ndarray],
                          entropy: Mapping[float, float], n_symbols: int = len(VOCAB)) -> str:
    """The most likely next character's probability and the whole distribution's entropy at
    each temperature, against the maximum ``log2(n_symbols)``."""
    p_top = ", ".join(f"{p[0]:.2f} at T = {t:g}" for t, p in probs.items())
    bits = ", ".join(f"{h:.2f} bits at T = {t:g}" for t, h in entropy.items())
    return (f"In this context the most likely next character is `{labels[0]!r}`. Its probability "
            f"is {p_top}. The entropy of the whole next-character distribution, the number of "
            f"bits of choice it leaves, is {bits} (the maximum, a uniform choice among "
            f"{n_symbols} symbols, is {math.log2(n_symbols):.2f} bits).")


# ---------------------------------------------------------------------------------------------
# the measured table


def summary_table(summary: pd.DataFrame, predict_len: int, caption: str | None = None):
    """Mean ± standard deviation of each measure per (decoding, temperature) of a
    :func:`~charlm.studies.temperature.summarise` table."""
    rows = []
    for _, r in summary[summary.decoding.isin(list(DECODING_LABELS))].iterrows():  # cuts: cut_table
        row = {"decoding": DECODING_LABELS[r["decoding"]],
               "T": "" if r["decoding"] == "reference" else f"{r['temperature']:g}"}
        for m, name in SUMMARY_COLUMNS.items():
            row[name] = f"{r[m + '_mean']:.3f} ± {r[m + '_std']:.3f}"
        rows.append(row)
    if caption is None:
        caption = (f"Mean ± standard deviation over {int(summary.n_seeds.max())} samples of "
                   f"{predict_len} characters per row (for the real text, the model's entropy at "
                   "T = 1 along it)")
    return table(pd.DataFrame(rows), caption=caption)


def temperature_bullet(row) -> str:
    """The four measures of one sampled temperature, in words."""
    return (f"**T = {row['temperature']:g}**: {row['in_vocab_mean']:.0%} of the generated words "
            f"are real words, {row['repeat_4gram_mean']:.1%} of the word 4-grams repeat, the model "
            f"scores its own sample at {row['bpc_mean']:.2f} bits per character and drew each "
            f"character from a distribution of {row['entropy_bits_mean']:.2f} bits.")


def reference_bullet(ref) -> str:
    """Real held-out text, measured like the samples."""
    return (f"**Real Dickens** (held out): {ref['in_vocab_mean']:.0%} known words, "
            f"{ref['repeat_4gram_mean']:.1%} repeated 4-grams, and the model scores it at "
            f"{ref['bpc_mean']:.2f} bits per character.")


def greedy_bullet(greedy, sampled: pd.DataFrame) -> str:
    """Greedy decoding's repetition against sampling's, and why argmax tends to loop (without
    claiming that it must: the choice depends on the hidden state, not on the visible text)."""
    text = (f"**Greedy decoding**: {greedy['repeat_4gram_mean']:.0%} of its word 4-grams are "
            f"repeats (entropy 0 by construction); its words are "
            f"{greedy['in_vocab_mean']:.0%} real.")
    why = ("Greedy decoding is deterministic, but its choice depends on the model's hidden state, "
           "which carries everything read so far, not on the visible text alone.")
    rates = sampled.dropna(subset=["repeat_4gram_mean"])
    if rates.empty or math.isnan(greedy["repeat_4gram_mean"]):
        return f"{text} {why} It usually falls into a loop, but nothing guarantees it."
    most = rates.loc[rates.repeat_4gram_mean.idxmax()]
    if greedy["repeat_4gram_mean"] > most["repeat_4gram_mean"]:
        return (f"{text} It loops more than sampling at any temperature. {why} When a phrase "
                "recurs, the state tends to come back close to where it was the last time, "
                "argmax then picks the same continuation again, and the text settles into a "
                "loop. Nothing guarantees it (the state can drift and break out), but it is what "
                "greedy decoding usually does.")
    return (f"{text} Here it repeats no more than sampling at T = {most['temperature']:g} "
            f"({most['repeat_4gram_mean']:.0%}). {why} So greedy decoding usually falls into a "
            "loop, but nothing guarantees it.")


def range_bullet(lo, hi) -> str:
    """How the measures move from the lowest to the highest sampled temperature."""
    return (f"From T = {lo['temperature']:g} to T = {hi['temperature']:g} the share of known words "
            f"goes from {lo['in_vocab_mean']:.0%} to {hi['in_vocab_mean']:.0%}, repeated 4-grams "
            f"from {lo['repeat_4gram_mean']:.1%} to {hi['repeat_4gram_mean']:.1%}, and the entropy "
            f"from {lo['entropy_bits_mean']:.2f} to {hi['entropy_bits_mean']:.2f} bits.")


def matching_temperature(sampled: pd.DataFrame, ref_bpc: float) -> float | None:
    """The temperature at which the model's own BPC on its samples equals ``ref_bpc`` (linear
    interpolation between the sampled temperatures); None unless the own BPC rises strictly
    with T and ``ref_bpc`` lies within its range."""
    ts, own = sampled.temperature.to_numpy(float), sampled.bpc_mean.to_numpy(float)
    if len(own) == 0 or not (own.min() <= ref_bpc <= own.max()) or not np.all(np.diff(own) > 0):
        return None
    return float(np.interp(ref_bpc, own, ts))


def matching_bullet(t_match: float, ref_bpc: float) -> str:
    """Where the samples are as surprising to the model as real text."""
    return (f"The sample is exactly as surprising to the model as real Dickens at about "
            f"**T = {t_match:.2f}** (interpolated where its own BPC crosses {ref_bpc:.2f}); below "
            "that the text is more predictable than real prose (safe, repetitive), above it less "
            "(noisy).")


def t1_bullet(one) -> str:
    """At T = 1 the expected own BPC equals the expected entropy."""
    return (f"At T = 1 the expected BPC of a sample equals its expected entropy, since the sample "
            f"is drawn from the distribution that scores it: measured {one['bpc_mean']:.2f} "
            f"against {one['entropy_bits_mean']:.2f}.")


def curves_bullets(summary: pd.DataFrame, temps: Sequence[float] = BULLET_TEMPS) -> str:
    """What the curves say, as markdown bullets: the measures at ``temps`` (those sampled),
    real text, greedy decoding, the range over the sampled temperatures, where the samples are
    as surprising as real text (when the own BPC crosses it), and T = 1 (when sampled)."""
    ref, greedy = summary_row(summary, "reference"), summary_row(summary, "greedy")
    sampled = summary[summary.decoding == "sample"].sort_values("temperature")
    lines = [temperature_bullet(r) for r in (summary_row(summary, temperature=t) for t in temps)
             if r is not None]
    if ref is not None:
        lines.append(reference_bullet(ref))
    if greedy is not None:
        lines.append(greedy_bullet(greedy, sampled))
    if len(sampled):
        lines.append(range_bullet(sampled.iloc[0], sampled.iloc[-1]))
    t_match = None if ref is None else matching_temperature(sampled, ref["bpc_mean"])
    if t_match is not None:
        lines.append(matching_bullet(t_match, ref["bpc_mean"]))
    one = summary_row(summary, temperature=1.0)
    if one is not None:
        lines.append(t1_bullet(one))
    return "**What the curves say, tied to the discussion above.**\n\n" + bullets(lines)


# ---------------------------------------------------------------------------------------------
# cutting the tail: top-k and top-p

CUT_LABELS = {"top_k": "top-k", "top_p": "top-p"}


def cut_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`~charlm.studies.temperature.summarise` table that were sampled at
    T = 1: uncut first, then each top-k and top-p cut in increasing order."""
    uncut = summary[(summary.decoding == "sample") & np.isclose(summary.temperature, 1.0)]
    cut = summary[summary.decoding.isin(list(CUT_LABELS))].sort_values(["decoding", "cut"])
    return pd.concat([uncut, cut], ignore_index=True)


def cut_table(summary: pd.DataFrame, predict_len: int):
    """Mean ± standard deviation of each measure for uncut sampling at T = 1 and for each cut."""
    rows = []
    for _, r in cut_rows(summary).iterrows():
        row = {"sampling at T = 1": "no cut" if r["decoding"] == "sample"
               else f"{CUT_LABELS[r['decoding']]} = {r['cut']:g}"}
        for m, name in SUMMARY_COLUMNS.items():
            row[name] = f"{r[m + '_mean']:.3f} ± {r[m + '_std']:.3f}"
        rows.append(row)
    caption = (f"Mean ± standard deviation over {int(summary.n_seeds.max())} samples of "
               f"{predict_len} characters per row, all at T = 1, the same seeds and priming "
               "strings as the temperature study")
    return table(pd.DataFrame(rows), caption=caption)


def cut_bullets(summary: pd.DataFrame) -> str:
    """What the cuts do, against uncut sampling at T = 1: for the strongest and the mildest cut
    of each kind, the known words, the repetition and the model's own BPC on its samples."""
    rows = cut_rows(summary)
    uncut = rows[rows.decoding == "sample"]
    if uncut.empty:
        return ""
    base = uncut.iloc[0]
    lines = [f"**No cut (T = 1)**: {base['in_vocab_mean']:.0%} known words, "
             f"{base['repeat_4gram_mean']:.1%} repeated 4-grams, own BPC {base['bpc_mean']:.2f}."]
    for kind, label in CUT_LABELS.items():
        sub = rows[rows.decoding == kind]
        if sub.empty:
            continue
        for _, r in (sub.iloc[[0, -1]] if len(sub) > 1 else sub).iterrows():
            lines.append(f"**{label} = {r['cut']:g}**: {r['in_vocab_mean']:.0%} known words, "
                         f"{r['repeat_4gram_mean']:.1%} repeated 4-grams, own BPC "
                         f"{r['bpc_mean']:.2f}, entropy {r['entropy_bits_mean']:.2f} bits.")
    return bullets(lines)


# ---------------------------------------------------------------------------------------------
# the slider


def slider_line(grid: Sequence[float], step: float, predict_len: int) -> str:
    """What the static slider holds."""
    return (f"From T = {grid[0]:g} to T = {grid[-1]:g} in steps of {step:g}: {len(grid)} samples "
            f"of {predict_len} characters.")


def cut_slider_line(top_ks: Sequence[int], top_ps: Sequence[float], predict_len: int) -> str:
    """What the two static sliders of the cuts hold."""
    return (f"Below, the same priming string and seed at T = 1, cut by top-k "
            f"({', '.join(f'{k:g}' for k in top_ks)}) and by top-p "
            f"({', '.join(f'{p:g}' for p in top_ps)}): {len(top_ks) + len(top_ps)} samples of "
            f"{predict_len} characters.")


__all__ = ["context_sentence", "cut_bullets", "cut_rows", "cut_slider_line", "cut_table",
           "curves_bullets", "distribution_sentence", "greedy_bullet",
           "matching_temperature", "prime_sentence", "samples_line", "samples_table",
           "show_samples", "slider_line", "summary_table"]
