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

from ...data import VOCAB
from ...studies.temperature import OPEN_THRESHOLD, summary_row
from ..display import bullets, sample, table

SUMMARY_COLUMNS = {"in_vocab": "known words", "distinct_words": "distinct words",
                   "repeat_4gram": "repeated 4-grams", "bpc": "own BPC",
                   "entropy_bits": "entropy (bits)"}
DECODING_LABELS = {"sample": "sampled", "greedy": "greedy (argmax)",
                   "reference": "real text (held out)"}
Z_BAND = 2.0  # matching_range: "as surprising as real text" while the means differ by < 2 SE


# ---------------------------------------------------------------------------------------------
# the answer


def answer(summary: pd.DataFrame, checks: Sequence, predict_len: int) -> str:
    """The opening paragraph of 4.4: what the temperature does and why, with the measured
    numbers at the lowest and highest sampled temperature against real text, where the samples
    are as surprising as real text, whether the reference's descriptions hold (``checks``: of
    :func:`charlm.report.claims.temperature_checks`), and the risks in one sentence."""
    sampled = summary[summary.decoding == "sample"].sort_values("temperature")
    ref = summary_row(summary, "reference")
    text = ("**Answer.** Sampling divides the model's scores by the temperature T before the "
            "softmax: below 1 this sharpens the next-character distribution, above 1 it "
            "flattens it, so as T rises the text goes from repetitive to varied to noise.")
    if len(sampled) and ref is not None:
        lo, hi = sampled.iloc[0], sampled.iloc[-1]
        text += (f" Over {int(sampled.n_seeds.max())} samples per temperature, at "
                 f"T = {lo.temperature:g} only {lo.distinct_words_mean:.0%} of the words are "
                 f"distinct (real Dickens: {ref['distinct_words_mean']:.0%}); at "
                 f"T = {hi.temperature:g} only {hi.in_vocab_mean:.0%} are known words (Dickens: "
                 f"{ref['in_vocab_mean']:.0%}).")
        band = matching_range(sampled, ref)
        if band is not None:
            text += (f" Samples are as surprising to the model as real Dickens between about "
                     f"T = {band[0]:.2f} and {band[1]:.2f}.")
    known = [c for c in checks if c.agrees is not None]
    if known and all(c.agrees for c in known):
        text += (" The reference write-up's descriptions hold: "
                 + "; ".join(_short(c.claim) for c in known) + ".")
    elif known:
        text += (" Of the reference write-up's descriptions, "
                 + "; ".join(f"“{_short(c.claim)}” does not hold" for c in known if not c.agrees)
                 + ".")
    return text + (" Generated text can be false, impersonating, mass-produced, biased or "
                   "copied; the model's builder, the script's writer and the outputs' user each "
                   "answer for their part.")


def _short(claim: str) -> str:
    """A claim without its rule (the text before the first colon)."""
    return claim.split(":")[0]


# ---------------------------------------------------------------------------------------------
# the priming string and the samples


def samples_intro(text: str, prime: str, temps: Sequence[float], predict_len: int, seed: int,
                  chunk_len: int = 200) -> str:
    """Where the priming string comes from, and how the samples below were drawn."""
    return (f"Primed with the first {len(prime)} characters of a random {chunk_len}-character "
            f"chunk of the test text (one of {len(text) // chunk_len}), "
            f"`{prime!r}` (in blue), {predict_len} characters at each temperature, all with seed "
            f"{seed}:")


def show_samples(prime: str, samples: Mapping[float, str]):
    """Each sample under a bold ``T = ...`` line, the priming string in blue, all escaped."""
    return HTML("\n".join(f"<p><strong>T = {t:g}</strong></p>\n{sample(prime, s).data}"
                          for t, s in samples.items()))


def samples_table(measures: pd.DataFrame):
    """The measures of a few samples (rows of
    :func:`~charlm.studies.temperature.sample_measures`) as a table; the caption follows it
    (:func:`samples_caption`)."""
    shown = pd.DataFrame({"T": measures.temperature, "distinct chars": measures.distinct_chars,
                          "words": measures.n_words,
                          "distinct words": _distinct_count(measures),
                          "known words": measures.in_vocab,
                          "repeated 4-grams": measures.repeat_4gram})
    return table(shown, formats={"T": "{:g}", "known words": "{:.0%}",
                                 "repeated 4-grams": "{:.0%}"})


def _distinct_count(measures: pd.DataFrame) -> pd.Series:
    """The number of distinct words of each sample (share times words, which is exact)."""
    return (measures.distinct_words * measures.n_words).round().astype("Int64")


def samples_caption(measures: pd.DataFrame, table_id: str = "tab-44-samples") -> str:
    """The caption of :func:`samples_table`: what is counted, and how few distinct words the
    coldest sample uses."""
    coldest = measures.sort_values("temperature").iloc[0]
    distinct = _distinct_count(measures.sort_values("temperature")).iloc[0]
    text = (f"Table {{#{table_id}}}: The samples above: distinct characters, words, distinct "
            "words, the share found in the training text, and the share of word 4-grams "
            "repeating an earlier one.")
    if coldest.n_words:
        text += (f" At T = {coldest.temperature:g}, {int(coldest.n_words)} words but only "
                 f"{distinct} distinct.")
    return text


# ---------------------------------------------------------------------------------------------
# the next-character distribution


def distribution_caption(prime: str, context: str, labels: Sequence[str],
                         probs: Mapping[float, np.ndarray], threshold: float = OPEN_THRESHOLD,
                         fig_id: str = "fig-44-next-char") -> str:
    """The caption of the next-character chart: what the bars are, after which context (the
    priming string, or it extended by :func:`~charlm.studies.temperature.open_context` until
    the choice is open), and the likeliest character's probability at each temperature."""
    extra = context[len(prime):]
    where = ("after the priming string" if not extra else
             f"after the priming string and {extra!r}, its likeliest continuation (right after "
             f"the priming string one character has over {threshold:.0%})")
    p_top = ", ".join(f"{p[0]:.2f} at T = {t:g}" for t, p in probs.items())
    return (f"Figure {{#{fig_id}}}: Bars of the model's probability for each of the "
            f"{len(labels)} likeliest next characters (␣ is a space) {where}, one colour per "
            f"temperature. The likeliest, {labels[0]!r}, gets {p_top}: the lower the temperature, "
            "the more of the probability it takes.")


def distribution_sentence(entropy: Mapping[float, float], n_symbols: int = len(VOCAB)) -> str:
    """The whole next-character distribution's entropy at each temperature, against the
    maximum ``log2(n_symbols)``."""
    bits = ", ".join(f"{h:.2f} bits at T = {t:g}" for t, h in entropy.items())
    return (f"The entropy of that distribution, the bits of choice it leaves, is {bits}; a "
            f"uniform choice among the {n_symbols} symbols would be {math.log2(n_symbols):.2f}.")


# ---------------------------------------------------------------------------------------------
# the measured table


def _mean_sd(r, m: str) -> str:
    return f"{r[m + '_mean']:.3f} ± {r[m + '_std']:.3f}"


def summary_table(summary: pd.DataFrame):
    """Mean ± standard deviation of each measure per (decoding, temperature) of a
    :func:`~charlm.studies.temperature.summarise` table (its caption: :func:`summary_caption`)."""
    rows = []
    for _, r in summary[summary.decoding.isin(list(DECODING_LABELS))].iterrows():  # cuts: cut_table
        row = {"decoding": DECODING_LABELS[r["decoding"]],
               "T": "" if r["decoding"] == "reference" else f"{r['temperature']:g}"}
        row.update({name: _mean_sd(r, m) for m, name in SUMMARY_COLUMNS.items()})
        rows.append(row)
    return table(pd.DataFrame(rows))


def summary_caption(summary: pd.DataFrame, predict_len: int,
                    table_id: str = "tab-d-temperature") -> str:
    """The caption of :func:`summary_table`."""
    return (f"Table {{#{table_id}}}: Each measure as mean ± standard deviation over "
            f"{int(summary.n_seeds.max())} samples of {predict_len} characters per row, for "
            "sampling at each temperature, greedy decoding and real held-out text (whose "
            "entropy is the model's at T = 1 along it).")


def length_note(table_df: pd.DataFrame, predict_len: int) -> str:
    """Why the share of distinct words compares samples of one length, with the mean number of
    words at the lowest and highest sampled temperature and in the real windows (rows of a
    :func:`~charlm.studies.temperature.temperature_table`)."""
    sampled = table_df[table_df.decoding == "sample"]
    if sampled.empty:
        return ""
    by_t = sampled.groupby("temperature").n_words.mean().sort_index()
    ref = table_df[table_df.decoding == "reference"].n_words
    text = ("The share of distinct words falls slowly as a text gets longer (more words, more "
            f"chances to repeat one), so it compares texts of one length: every sample here has "
            f"{predict_len} characters, which is {by_t.iloc[0]:.0f} words on average at "
            f"T = {by_t.index[0]:g} and {by_t.iloc[-1]:.0f} at T = {by_t.index[-1]:g}")
    if len(ref):
        text += f", against {ref.mean():.0f} in the windows of real text"
    return text + "."


def metrics_caption(summary: pd.DataFrame, fig_id: str = "fig-44-measures") -> str:
    """The caption of the measured study's figure."""
    return (f"Figure {{#{fig_id}}}: Known words, distinct words, repeated 4-grams, the model's own "
            "BPC and the sampling entropy (one panel each) against the temperature: the "
            f"mean of {int(summary.n_seeds.max())} samples as a line, each sample as a dot, "
            "their range shaded; greedy decoding as a black square at T = 0 and real held-out "
            "Dickens as a dashed line.")


def matching_range(sampled: pd.DataFrame, ref, z: float = Z_BAND,
                   points: int = 2001) -> tuple[float, float] | None:
    """The temperatures at which the samples are as surprising to the model as real text, to
    the precision the samples allow: where the mean own BPC of the samples differs from the
    real text's by less than ``z`` standard errors of the difference (mean and standard
    deviation interpolated linearly between the sampled temperatures; the standard error from
    both rows' standard deviations and sample counts). None when no temperature qualifies or
    the own BPC does not rise strictly with T (no single crossing)."""
    ts = sampled.temperature.to_numpy(float)
    own, sd = sampled.bpc_mean.to_numpy(float), sampled.bpc_std.to_numpy(float)
    if len(own) < 2 or not np.all(np.diff(own) > 0) or np.isnan(sd).any():
        return None
    grid = np.linspace(ts[0], ts[-1], points)
    n = float(sampled.n_seeds.min())
    se = np.sqrt(np.interp(grid, ts, sd) ** 2 / n + ref["bpc_std"] ** 2 / ref["n_seeds"])
    inside = np.abs(np.interp(grid, ts, own) - ref["bpc_mean"]) <= z * se
    if not inside.any():
        return None
    return float(grid[inside].min()), float(grid[inside].max())


def low_bullet(lo, ref) -> str:
    """The coldest sampled temperature: real words, but few of them, and repeated phrases."""
    return (f"At **T = {lo['temperature']:g}** the words are real ({lo['in_vocab_mean']:.0%} "
            f"known) but few: {lo['distinct_words_mean']:.0%} distinct against "
            f"{ref['distinct_words_mean']:.0%} in real Dickens, and {lo['repeat_4gram_mean']:.0%} "
            f"of word 4-grams repeat ({ref['repeat_4gram_mean']:.0%} in Dickens): it loops on a "
            "few frequent words.")


def greedy_bullet(greedy) -> str:
    """Greedy decoding, the limit T -> 0 (why argmax tends to loop is said in the prose above
    it: the choice depends on the hidden state, not on the visible text alone)."""
    return (f"**Greedy decoding** (the limit T → 0): {greedy['repeat_4gram_mean']:.0%} of its "
            f"word 4-grams repeat, and {greedy['distinct_words_mean']:.0%} of its words are "
            "distinct.")


def high_bullet(hi, ref) -> str:
    """The hottest sampled temperature: made-up words, and a sample the model finds surprising."""
    return (f"At **T = {hi['temperature']:g}** only {hi['in_vocab_mean']:.0%} of the words are "
            f"known ({ref['in_vocab_mean']:.0%} in Dickens), and the model needs "
            f"{hi['bpc_mean']:.2f} bits per character on its own sample.")


def matching_bullet(band: tuple[float, float], ref, n_seeds: int, z: float = Z_BAND) -> str:
    """Where the samples are as surprising to the model as real text, as a range."""
    return (f"The samples are **as surprising to the model as real Dickens "
            f"({ref['bpc_mean']:.2f} bits per character) between about T = {band[0]:.2f} and "
            f"{band[1]:.2f}**, where the means differ by less than {z:g} standard errors; "
            f"{n_seeds} samples per temperature cannot place the crossing closer.")


def t1_sentence(one) -> str:
    """At T = 1 the expected own BPC equals the expected entropy."""
    return (f"At T = 1 the expected BPC of a sample equals its expected entropy, since the sample "
            f"is drawn from the distribution that scores it: measured {one['bpc_mean']:.2f} "
            f"against {one['entropy_bits_mean']:.2f} bits.")


def curves_bullets(summary: pd.DataFrame) -> str:
    """What the measured study shows, as markdown bullets: the coldest and hottest sampled
    temperature against real text, greedy decoding, and where the samples are as surprising as
    real text. A bullet whose rows are missing is left out."""
    ref, greedy = summary_row(summary, "reference"), summary_row(summary, "greedy")
    sampled = summary[summary.decoding == "sample"].sort_values("temperature")
    lines = []
    if ref is not None and len(sampled):
        lines.append(low_bullet(sampled.iloc[0], ref))
    if greedy is not None:
        lines.append(greedy_bullet(greedy))
    if ref is not None and len(sampled) > 1:
        lines.append(high_bullet(sampled.iloc[-1], ref))
        band = matching_range(sampled, ref)
        if band is not None:
            lines.append(matching_bullet(band, ref, int(sampled.n_seeds.min())))
    return bullets(lines)


# ---------------------------------------------------------------------------------------------
# cutting the tail: top-k and top-p

CUT_LABELS = {"top_k": "top-k", "top_p": "top-p"}


def cut_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`~charlm.studies.temperature.summarise` table that were sampled at
    T = 1: uncut first, then each top-k and top-p cut in increasing order."""
    uncut = summary[(summary.decoding == "sample") & np.isclose(summary.temperature, 1.0)]
    cut = summary[summary.decoding.isin(list(CUT_LABELS))].sort_values(["decoding", "cut"])
    return pd.concat([uncut, cut], ignore_index=True)


def cut_table(summary: pd.DataFrame):
    """Mean ± standard deviation of each measure for uncut sampling at T = 1 and for each cut
    (its caption: :func:`cut_caption`)."""
    rows = []
    for _, r in cut_rows(summary).iterrows():
        row = {"sampling at T = 1": "no cut" if r["decoding"] == "sample"
               else f"{CUT_LABELS[r['decoding']]} = {r['cut']:g}"}
        row.update({name: _mean_sd(r, m) for m, name in SUMMARY_COLUMNS.items()})
        rows.append(row)
    return table(pd.DataFrame(rows))


def cut_caption(summary: pd.DataFrame, predict_len: int, table_id: str = "tab-d-cuts") -> str:
    """The caption of :func:`cut_table`."""
    return (f"Table {{#{table_id}}}: Each measure as mean ± standard deviation over "
            f"{int(summary.n_seeds.max())} samples of {predict_len} characters per row, all at "
            "T = 1 with the seeds and priming strings of the temperature study, uncut and cut by "
            "each value of k and p.")


def cut_figure_caption(fig_id: str = "fig-d-cuts") -> str:
    """The caption of the cuts' figure."""
    return (f"Figure {{#{fig_id}}}: Known words, repeated 4-grams and the model's own BPC "
            "(rows) against the value of k (left, log scale) and of p (right), at T = 1: the "
            "mean of the samples as a line, each sample as a dot; uncut sampling is the dotted "
            "line, real held-out Dickens the dashed one.")


def cut_sentence(summary: pd.DataFrame, checks: Sequence = ()) -> str:
    """What the cuts do, against uncut sampling at T = 1: the tightest cut of each kind, its
    known words and the model's own BPC on its samples, and what ``checks`` (of
    :func:`charlm.report.claims.truncation_checks`) found."""
    rows = cut_rows(summary)
    uncut = rows[rows.decoding == "sample"]
    if uncut.empty:
        return ""
    base = uncut.iloc[0]
    tight = [f"{label} = {sub.iloc[0]['cut']:g} gives {sub.iloc[0]['in_vocab_mean']:.0%} and "
             f"{sub.iloc[0]['bpc_mean']:.2f}"
             for kind, label in CUT_LABELS.items() if len(sub := rows[rows.decoding == kind])]
    text = (f"Uncut at T = 1, {base['in_vocab_mean']:.0%} of the words are known and the model "
            f"needs {base['bpc_mean']:.2f} bits per character on its own samples")
    text += (": " + "; ".join(tight) + "." if tight else ".")
    held = [c for c in checks if c.agrees is not None]
    if held and all(c.agrees for c in held):
        text += " As the cut loosens, both measures move back towards uncut sampling."
    elif held:
        text += (" As the cut loosens, the measures do not both move back towards uncut "
                 "sampling for " + " and ".join(_short(c.claim).split()[2] for c in held if not c.agrees)
                 + ".")
    return text


# ---------------------------------------------------------------------------------------------
# the sliders


def slider_line(grid: Sequence[float], step: float, predict_len: int) -> str:
    """What the static slider holds."""
    return (f"From T = {grid[0]:g} to T = {grid[-1]:g} in steps of {step:g}: {len(grid)} samples "
            f"of {predict_len} characters, with the priming string and seed of 4.4.")


def cut_slider_line(top_ks: Sequence[int], top_ps: Sequence[float], predict_len: int) -> str:
    """What the two static sliders of the cuts hold."""
    return (f"Below, the same priming string and seed at T = 1, cut by top-k "
            f"({', '.join(f'{k:g}' for k in top_ks)}) and by top-p "
            f"({', '.join(f'{p:g}' for p in top_ps)}): {len(top_ks) + len(top_ps)} samples of "
            f"{predict_len} characters.")


def slider_measures_caption(n: int, fig_id: str = "fig-d-slider-measures") -> str:
    """The caption of the figure of the slider's samples, measured."""
    return (f"Figure {{#{fig_id}}}: Distinct characters, known words, distinct words and "
            f"repeated 4-grams (panels) of each of the {n} samples of the temperature slider, against its "
            "temperature: one sample each, one seed, so the points scatter more than the means "
            "of the measured study.")


__all__ = ["answer", "length_note", "curves_bullets", "cut_caption", "cut_figure_caption",
           "cut_rows", "cut_sentence", "cut_slider_line", "cut_table", "distribution_caption",
           "distribution_sentence", "greedy_bullet", "matching_range", "metrics_caption",
           "samples_caption", "samples_intro", "samples_table", "show_samples", "slider_line",
           "slider_measures_caption", "summary_caption", "summary_table", "t1_sentence"]
