"""Section 4.4 and Appendix D, temperature: the sample blocks and tables (the sentences are
the notebooks' markdown). Every generated character is escaped."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from IPython.display import HTML

from ..display import sample, table

MEASURE_COLUMNS = {"in_vocab": "known words", "distinct_words": "distinct words",
                   "repeat_4gram": "repeated 4-grams", "bpc": "own BPC",
                   "entropy_bits": "entropy (bits)"}
DECODING_LABELS = {"sample": "sampled", "greedy": "greedy (argmax)",
                   "reference": "real text (held out)"}
CUT_LABELS = {"top_k": "top-k", "top_p": "top-p"}


def show_samples(prime: str, samples: Mapping[float, str]):
    """Each sample under a bold ``T = ...`` line, the priming string in blue, all escaped."""
    return HTML("\n".join(f"<p><strong>T = {t:g}</strong></p>\n{sample(prime, s).data}"
                          for t, s in samples.items()))


def samples_table(measures: pd.DataFrame):
    """The measures of a few samples (rows of
    :func:`~charlm.studies.temperature.sample_measures`), one row per temperature."""
    distinct = (measures.distinct_words * measures.n_words).round().astype("Int64")
    shown = pd.DataFrame({"T": measures.temperature, "distinct chars": measures.distinct_chars,
                          "words": measures.n_words, "distinct words": distinct,
                          "known words": measures.in_vocab,
                          "repeated 4-grams": measures.repeat_4gram})
    return table(shown, formats={"T": "{:g}", "known words": "{:.0%}",
                                 "repeated 4-grams": "{:.0%}"})


def _mean_sd_table(rows: pd.DataFrame, lead: Callable[[pd.Series], dict[str, str]]):
    """One line per row of a summary: the columns ``lead`` names it by, then mean ± standard
    deviation of each measure of :data:`MEASURE_COLUMNS`."""
    return table(pd.DataFrame([lead(r) | {name: f"{r[m + '_mean']:.3f} ± {r[m + '_std']:.3f}"
                                          for m, name in MEASURE_COLUMNS.items()}
                               for _, r in rows.iterrows()]))


def summary_table(summary: pd.DataFrame):
    """Mean ± standard deviation of each measure per (decoding, temperature) of a
    :func:`~charlm.studies.temperature.summarise` table (the cuts: :func:`cut_table`)."""
    return _mean_sd_table(summary[summary.decoding.isin(list(DECODING_LABELS))], lambda r: {
        "decoding": DECODING_LABELS[r["decoding"]],
        "T": "" if r["decoding"] == "reference" else f"{r['temperature']:g}"})


def cut_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of a summary sampled at T = 1: uncut first, then each top-k and top-p cut in
    increasing order."""
    uncut = summary[(summary.decoding == "sample") & np.isclose(summary.temperature, 1.0)]
    cut = summary[summary.decoding.isin(list(CUT_LABELS))].sort_values(["decoding", "cut"])
    return pd.concat([uncut, cut], ignore_index=True)


def cut_table(summary: pd.DataFrame):
    """Mean ± standard deviation of each measure for uncut sampling at T = 1 and each cut."""
    return _mean_sd_table(cut_rows(summary), lambda r: {
        "sampling at T = 1": "no cut" if r["decoding"] == "sample"
        else f"{CUT_LABELS[r['decoding']]} = {r['cut']:g}"})


__all__ = ["cut_rows", "cut_table", "samples_table", "show_samples", "summary_table"]
