"""Claims of the coursework and the reference write-up, checked against this run's data.

Where the report's discussion makes a claim, a :class:`Check` says what the claim is (with the
rule used to check it), what this run shows, and whether they agree, so a run that disagrees
says so plainly instead of repeating the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

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


__all__ = ["Check", "sanity_checks", "verdict"]
