"""Claims of the coursework and the reference write-up, checked against this run's data.

Where the report's discussion makes a claim, a :class:`Check` says what the claim is (with the
rule used to check it), what this run shows, and whether they agree, so a run that disagrees
says so plainly instead of repeating the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..studies.sanity import binomial_tail
from ..studies.summary import curve_stats, tied_end


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


def default_run_checks(history: Sequence[float], plot_every: int, n_epochs: int,
                       initial_loss: float | None = None, reference_epochs: int = 3000,
                       initial_bpc: float | None = None) -> list[Check]:
    """The reference write-up's default-training figures against this run.

    ``initial_loss``: the untrained model's loss in nats (the start of training), or
    ``initial_bpc`` the same in bits per character; without either the first history point is
    used, which already averages ``plot_every`` iterations.
    """
    st = curve_stats(history, plot_every)
    if initial_loss is None and initial_bpc is not None:
        initial_loss = initial_bpc * math.log(2)
    later = f"after {reference_epochs} iterations it is about 1.7-1.8 nats"
    if n_epochs != reference_epochs:
        note = (f"not comparable: this run trained {n_epochs} iterations, the reference "
                f"{reference_epochs}")
        return [Check("the loss starts at about 4.6 nats (ln 100: a uniform guess)", note, None),
                Check(later, note, None)]
    if initial_loss is not None:
        start, where = initial_loss, (f"{initial_loss:.2f} for the untrained model; the mean of "
                                      f"the first {plot_every} iterations is already {st['start']:.2f}")
    else:
        start, where = st["start"], f"{st['start']:.2f} (mean of the first {plot_every} iterations)"
    return [
        Check("the loss starts at about 4.6 nats (ln 100: a uniform guess); "
              "agreement = within 0.3", where, abs(start - 4.6) <= 0.3),
        Check(later + "; agreement = 1.6 to 1.9",
              f"{st['final']:.2f} (mean of the last tenth, {st['tail_iterations']} iterations)",
              1.6 <= st["final"] <= 1.9),
    ]


def lr_checks(runs: Sequence[Mapping[str, Any]], reference_epochs: int = 3000) -> list[Check]:
    """The learning-rate claims of the coursework and the reference write-up, checked.

    ``runs``: one mapping per learning rate with ``lr``, ``status``, ``n_epochs`` and the
    :func:`curve_stats` keys. Runs that diverged count as worst.
    """
    ok = [r for r in runs if r["status"] == "ok" and math.isfinite(r["final"])]
    by_lr = {float(r["lr"]): r for r in runs}
    checks: list[Check] = []
    if len(ok) >= 2:
        small, large = min(ok, key=lambda r: r["lr"]), max(ok, key=lambda r: r["lr"])
        slowest = max(ok, key=lambda r: r["early"])
        checks.append(Check(
            "the coursework: a too-small learning rate learns slowly (the smallest lr has the "
            "highest loss a quarter of the way in)",
            f"highest at that point: lr={slowest['lr']:g} ({slowest['early']:.2f}); "
            f"smallest lr={small['lr']:g} ({small['early']:.2f})",
            slowest is small))
        others = [r for r in ok if r is not large]
        rough = float(np.median([r["roughness"] for r in others])) if others else math.nan
        other_rise = max((r["rise"] for r in others), default=math.nan)
        unstable = large["rise"] > 0.1 or large["roughness"] > 1.5 * rough
        checks.append(Check(
            "the coursework: a too-large learning rate makes the loss oscillate (after the first "
            "quarter the largest lr's smoothed curve climbs back up by more than 0.1 nats, or its "
            "point-to-point spread is over 1.5x the others' median)",
            f"lr={large['lr']:g}: largest climb {large['rise']:.2f} nats (the others at most "
            f"{other_rise:.2f}); spread {large['roughness']:.3f} vs median {rough:.3f}",
            bool(unstable)))
    diverged = [r for r in runs if r["status"] != "ok"]
    for r in diverged:
        checks.append(Check(f"lr={r['lr']:g} trains", f"{r['status']}", False))

    comparable = all(int(r["n_epochs"]) == reference_epochs for r in runs)
    note = (f"not comparable: this run trained {runs[0]['n_epochs'] if runs else '?'} "
            f"iterations per run, the reference {reference_epochs}")

    def ref(claim: str, needed: Sequence[float], test) -> None:
        if not comparable:
            checks.append(Check(claim, note, None))
        elif any(lr not in by_lr for lr in needed):
            checks.append(Check(claim, "not in this run's grid", None))
        else:
            observed, agrees = test()
            checks.append(Check(claim, observed, agrees))

    ranked = sorted(ok, key=lambda r: r["final"])

    def best_two():
        names = ", ".join(f"lr={r['lr']:g} ({r['final']:.2f})" for r in ranked[:2])
        return f"lowest final loss: {names}", {float(r["lr"]) for r in ranked[:2]} == {0.005, 0.01}

    def smallest_highest():
        worst = max(runs, key=lambda r: r["final"] if r["status"] == "ok" else math.inf)
        if worst["status"] != "ok":
            return f"highest: lr={worst['lr']:g} ({worst['status']})", float(worst["lr"]) == 0.0001
        tie = tied_end(ok)  # a gap below the curves' own jumpiness is a tie, not an order
        if tie:
            top, second, gap, jump = tie
            return (f"a tie: lr={top['lr']:g} ({top['final']:.3f}) and "
                    f"lr={second['lr']:g} ({second['final']:.3f}) differ by {gap:.3f} nats, "
                    f"less than their curves' spread from point to point ({jump:.3f})", None)
        return f"highest: lr={worst['lr']:g} ({worst['final']:.2f})", float(worst["lr"]) == 0.0001

    def value(lr: float, target: float):
        r = by_lr[lr]
        if r["status"] != "ok":
            return f"lr={lr:g} {r['status']}", False
        return f"{r['final']:.2f}", abs(r["final"] - target) <= 0.25

    ref("the reference: lr 0.005 and 0.01 did best", (0.005, 0.01), best_two)
    ref("the reference: lr 0.0001 ended highest", (0.0001,), smallest_highest)
    ref("the reference: lr 0.0001 ended at about 2.4 nats (agreement = within 0.25)", (0.0001,),
        lambda: value(0.0001, 2.4))
    ref("the reference: lr 0.1 plateaued around 2.3 nats (agreement = within 0.25)", (0.1,),
        lambda: value(0.1, 2.3))
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


__all__ = ["Check", "default_run_checks", "lr_checks", "sanity_checks", "verdict"]
