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


def _real_text(ref, columns: Sequence[str]) -> str:
    """``; real held-out text: 81% and 0%`` (the reference row's ``columns``, in order) from a
    summary, or "" without one."""
    if not len(ref) or any(math.isnan(ref.iloc[0][c]) for c in columns):
        return ""
    return "; real held-out text: " + " and ".join(f"{ref.iloc[0][c]:.0%}" for c in columns)


__all__ = ["Check", "default_run_checks", "lr_checks", "temperature_checks",
           "truncation_checks", "verdict"]
