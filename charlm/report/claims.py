"""Claims of the coursework and the reference write-up, checked against this run's data.

Where the report's discussion makes a claim, a :class:`Check` says what the claim is (with the
rule used to check it), what this run shows, and whether they agree, so a run that disagrees
says so plainly instead of repeating the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..studies.sanity import binomial_tail


@dataclass(frozen=True)
class Check:
    """A claim, what this run shows, and whether they agree (None: not checkable here)."""

    claim: str
    observed: str
    agrees: bool | None


def verdict(checks: Sequence[Check]) -> str:
    """One sentence summing up a list of checks."""
    known = [c for c in checks if c.agrees is not None]
    if not known:
        return "None of these claims can be checked against this run (see the table)."
    bad = [c for c in known if not c.agrees]
    if not bad:
        return f"This run agrees with all {len(known)} checkable claims."
    return (f"This run disagrees with {len(bad)} of {len(known)} checkable claims: "
            + "; ".join(f"“{c.claim}” (here: {c.observed})" for c in bad) + ".")




def _spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Rank correlation (ties get their average rank); NaN with fewer than 3 finite pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return math.nan
    rx, ry = (pd.Series(v[keep]).rank().to_numpy() for v in (x, y))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def temperature_checks(summary: pd.DataFrame, distinct_share: float = 0.5,
                       real_share: float = 0.5) -> list[Check]:
    """The reference write-up's temperature claims against the measured table.

    ``summary``: :func:`charlm.studies.temperature.summarise` of a temperature table: its
    ``decoding == "sample"`` rows (one per temperature, means over the seeds) are checked, and
    its ``"reference"`` row (real held-out text), when there is one, is quoted for comparison.
    The rules: more varied text at higher T means the mean number of distinct characters and
    the mean share of distinct words both rise with T (rank correlations > 0); the text at the
    lowest temperature (if <= 0.2) loops on a few frequent words when fewer than
    ``distinct_share`` of its words are distinct (its word 4-grams are quoted beside); the
    text at the highest (if >= 1.8) is near-random when fewer than ``real_share`` of its words
    are words of the training text.
    """
    samp = summary[summary.decoding == "sample"].sort_values("temperature")
    if samp.empty:
        return []
    ref = summary[summary.decoding == "reference"]
    temps = samp.temperature.to_numpy(float)
    n_min, n_max = int(samp.n_seeds.min()), int(samp.n_seeds.max())
    seeds = f"{n_min} samples each" if n_min == n_max else f"{n_min} to {n_max} samples each"
    lo, hi = samp.iloc[0], samp.iloc[-1]

    def spread(row, key: str) -> str:
        return (f"{row[key + '_min']:.0%} to {row[key + '_max']:.0%} across its "
                f"{int(row.n_seeds)} samples")

    checks = []
    rho_chars = _spearman(temps, samp.distinct_chars_mean)
    rho_words = _spearman(temps, samp.distinct_words_mean)
    checks.append(Check(
        "higher temperature gives more varied text: the number of distinct characters and the "
        "share of distinct words both rise with T (rank correlations of the means with T > 0)",
        f"rank correlation with T over {len(temps)} temperatures ({seeds}): distinct characters "
        f"{rho_chars:+.2f}, distinct words {rho_words:+.2f}",
        None if math.isnan(rho_chars) or math.isnan(rho_words)
        else bool(rho_chars > 0 and rho_words > 0)))
    if lo.temperature <= 0.2:
        share = lo.distinct_words_mean
        checks.append(Check(
            f"at T = {lo.temperature:g} the text loops on a few frequent words: fewer than "
            f"{distinct_share:.0%} of its words are distinct (mean over the samples)",
            f"{share:.0%} are ({spread(lo, 'distinct_words')}), and "
            f"{lo.repeat_4gram_mean:.0%} of its word 4-grams repeat an earlier one"
            + _real_text(ref, ("distinct_words_mean", "repeat_4gram_mean")),
            None if math.isnan(share) else bool(share < distinct_share)))
    if hi.temperature >= 1.8:
        known = hi.in_vocab_mean
        real = _real_text(ref, ("in_vocab_mean",))
        checks.append(Check(
            f"at T = {hi.temperature:g} it is near-random characters: fewer than "
            f"{real_share:.0%} of its words are words of the training text (mean over the samples)",
            f"{known:.0%} are ({spread(hi, 'in_vocab')}); {hi.distinct_chars_mean:.0f} distinct "
            f"characters on average{real}",
            None if math.isnan(known) else bool(known < real_share)))
    return checks


def truncation_checks(summary: pd.DataFrame) -> list[Check]:
    """The claim the report makes about top-k and top-p, checked on the measured table.

    A stronger cut (a smaller ``k`` or ``p``) removes more of the unlikely characters, so the
    samples should get more word-like and more predictable as the cut tightens: for each kind
    of cut (``decoding`` ``top_k`` or ``top_p``, at T = 1), the rank correlation of its value
    with the mean share of known words is negative and with the mean own BPC positive.
    """
    checks = []
    for kind, label in (("top_k", "top-k"), ("top_p", "top-p")):
        rows = summary[summary.decoding == kind].sort_values("cut")
        if len(rows) < 3:
            continue
        cut = rows.cut.to_numpy(float)
        rho_known, rho_bpc = _spearman(cut, rows.in_vocab_mean), _spearman(cut, rows.bpc_mean)
        lo, hi = rows.iloc[0], rows.iloc[-1]
        checks.append(Check(
            f"a tighter {label} cut gives more word-like, more predictable samples: as the cut "
            f"loosens the share of known words falls and the model's own BPC rises (rank "
            f"correlations with the cut < 0 and > 0)",
            f"over {len(rows)} cuts: known words {rho_known:+.2f} ({lo.in_vocab_mean:.0%} at "
            f"{lo.cut:g}, {hi.in_vocab_mean:.0%} at {hi.cut:g}), own BPC {rho_bpc:+.2f} "
            f"({lo.bpc_mean:.2f} to {hi.bpc_mean:.2f})",
            None if math.isnan(rho_known) or math.isnan(rho_bpc)
            else bool(rho_known < 0 and rho_bpc > 0)))
    return checks


def sanity_checks(summary: pd.DataFrame, prime_rate: float, max_derailed: int = 0,
                  one_char_kind: str = "one character", level: float = 0.05) -> list[Check]:
    """Do the samples stay on the rails? ``summary``: :func:`charlm.studies.sanity.sanity_summary`.

    Two claims: no sample derails (at most ``max_derailed`` in any row); and primed with one
    character, capital runs start no more often than in real text that starts with that
    character (``prime_rate``, :func:`~charlm.studies.sanity.prime_capital_run_rate`): each
    row's count must be one that ``Binomial(samples, prime_rate)`` reaches with probability at
    least ``level``.
    """
    if summary.empty:
        return []
    per = summary.groupby(["model", "prime_kind"], sort=False).agg(
        samples=("samples", "sum"), derailed=("derailed", "sum")).reset_index()
    derail_text = "; ".join(f"{r.model}, {r.prime_kind} prime: {int(r.derailed)} of {int(r.samples)}"
                            for r in per.itertuples())
    one = summary[summary.prime_kind == one_char_kind]
    tails = [binomial_tail(int(r.capital_runs), int(r.samples), prime_rate) for r in one.itertuples()]
    capital_text = "; ".join(f"{r.model} at T = {r.temperature:g}: {int(r.capital_runs)} of "
                             f"{int(r.samples)}" for r in one.itertuples())
    return [
        Check(f"samples stay on the rails: at most {max_derailed} derail, for every model, kind "
              "of prime and temperature", derail_text,
              bool((summary.derailed <= max_derailed).all())),
        Check("primed with one character, capital runs start no more often than in the training "
              f"text's windows that start with it ({prime_rate:.1%}); agreement = every count "
              f"within what that rate gives with probability {level:g} or more",
              capital_text, None if one.empty or math.isnan(prime_rate)
              else bool(all(t >= level for t in tails))),
    ]


def _real_text(ref, columns: Sequence[str]) -> str:
    """``; real held-out text: 81% and 0%`` (the reference row's ``columns``, in order) from a
    summary, or "" without one."""
    if not len(ref) or any(math.isnan(ref.iloc[0][c]) for c in columns):
        return ""
    return "; real held-out text: " + " and ".join(f"{ref.iloc[0][c]:.0%}" for c in columns)


__all__ = ["Check", "sanity_checks", "temperature_checks",
           "truncation_checks", "verdict"]
