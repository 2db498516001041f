"""Do samples stay on the rails: the table and sentences of the sample-sanity measure
(:mod:`charlm.studies.sanity`)."""

from __future__ import annotations

import pandas as pd

from ...studies.sanity import CAPITAL_RUN, CAPITAL_WINDOW, JUNK_RUN, ONE_CHAR_PRIME
from ..display import table


def sanity_table(summary: pd.DataFrame):
    """One row per model, kind of prime and temperature: derailed samples and capital runs."""
    shown = pd.DataFrame({
        "model": summary.model,
        "prime": [f"{ONE_CHAR_PRIME!r}" if k == "one character" else "10 characters of test text"
                  for k in summary.prime_kind],
        "T": summary.temperature.map("{:g}".format),
        "derailed": [f"{d} of {n}" for d, n in zip(summary.derailed, summary.samples)],
        f"capital run in the first {CAPITAL_WINDOW}": [
            f"{c} of {n}" for c, n in zip(summary.capital_runs, summary.samples)],
    })
    caption = (f"A sample derails when it holds a character the training text never shows, or "
               f"{JUNK_RUN} or more symbols in a row that are neither letters, digits, spaces "
               f"nor ordinary punctuation; a capital run is {CAPITAL_RUN} or more capitals in a "
               f"row within the first {CAPITAL_WINDOW} characters, priming string included")
    return table(shown, caption=caption)


def sanity_sentence(summary: pd.DataFrame, train_rate: float, prime_rate: float) -> str:
    """How many samples derailed in all, and the capital runs against the training text's rates:
    over all its windows (``train_rate``) and over those that start with the prime
    (``prime_rate``)."""
    n, bad = int(summary.samples.sum()), int(summary.derailed.sum())
    one = summary[summary.prime_kind == "one character"]
    runs, n_one = int(one.capital_runs.sum()), int(one.samples.sum())
    derailed = "none derailed" if bad == 0 else f"{bad} derailed"
    return (f"Of {n:,} samples, {derailed}. Primed with {ONE_CHAR_PRIME!r}, {runs} of {n_one} "
            f"({runs / n_one:.1%}) start with a capital run. In the training text "
            f"{train_rate:.1%} of all {CAPITAL_WINDOW}-character windows hold one, but "
            f"{prime_rate:.1%} of those that start at {ONE_CHAR_PRIME!r}: with no context before "
            f"it, {ONE_CHAR_PRIME!r} may as well open a chapter title as a sentence.")


__all__ = ["sanity_sentence", "sanity_table"]
