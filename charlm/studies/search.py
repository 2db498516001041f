"""The recorded search behind the ``best`` preset (``results/budget_search.csv``, read by
:func:`charlm.presets.search_results`), read into facts: what was chosen and by which rule,
its nearest rival, and how much one training per setting can tell apart.

The rule of the search (:func:`~charlm.presets.search_results`): among the finished runs given
the preset's full budget, those whose samples derail least (where samples were measured), and
of those the lowest validation BPC. Two things bound what the record shows:

- **noise** (:func:`repeat_noise`): one setting was trained twice; the spread of its validation
  BPC is how far a second training moves a single run;
- **derail counts** (:func:`counts_differ`): two counts of derailed samples out of the same
  number tell two runs apart only when a two-sided Fisher exact test gives p below
  :data:`LEVEL`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..config import TrainConfig, printing_fields
from ..facts import Int, Num, bits, count, num
from ..presets import REASONS, SEARCHED_FIELDS
from .sanity import SANITY_SAMPLES

LEVEL = 0.05  # two derail counts differ when Fisher's exact test gives p below this
SETTING_COLUMNS = (*SEARCHED_FIELDS, "budget_minutes")  # what makes two search runs one setting
IGNORED = printing_fields()  # settings that change printing or placement only: not "changes"


# ---------------------------------------------------------------- settings in words


def setting_value(x: Any) -> str:
    """A setting as written: ``2.0``, ``1.95``, ``0.006`` (a whole float keeps one decimal)."""
    if not isinstance(x, float):
        return str(x)
    text = f"{x:g}"
    return text if any(c in text for c in ".e") else f"{x:.1f}"


def _true(value: Any) -> bool:
    """A boolean read back from a CSV file (``True``/``False``, or their text)."""
    return value is True or str(value) == "True"


def setting_label(row: Mapping[str, Any]) -> str:
    """A searched setting in words: the fields every run sets, then those a run adds."""
    masks = {"torch": "", "fast": " (fast masks)", "locked": " (locked)"}[row["dropout_masks"]]
    extra = [f"dropout {row['dropout']:g}{masks}" if row["dropout"] else "",
             f"weight drop {row['weight_drop']:g}" if row["weight_drop"] else "",
             f"weight average {row['ema']:g}" if row["ema"] else "",
             f"weight decay {row['weight_decay']:g}" if row["weight_decay"] else "",
             "shifted chunks" if _true(row["shift_chunks"]) else "",
             f"stream resets {setting_value(row['reset_prob'])}" if row["reset_prob"] else "",
             "no decay on biases and embedding" if row["decay_params"] == "matrices" else "",
             f"ensemble of {row['ensemble']}" if row["ensemble"] > 1 else ""]
    return ", ".join([f"hidden {row['hidden_size']}", f"{row['n_layers']} layers",
                      f"batch {row['batch_size']}", f"chunk {row['chunk_len']}",
                      f"lr {setting_value(row['lr'])}", str(row["precision"]), *filter(None, extra)])


def label_difference(row: Mapping[str, Any], other: Mapping[str, Any]) -> str:
    """The parts of :func:`setting_label` of ``row`` that ``other``'s label lacks (``"the same
    setting"`` when none): how ``row`` differs, in words."""
    theirs = set(setting_label(other).split(", "))
    return ", ".join(p for p in setting_label(row).split(", ") if p not in theirs) or "the same setting"


# ---------------------------------------------------------------- the preset's changes


def changed_settings(default: TrainConfig, best: TrainConfig, results: pd.DataFrame | None = None,
                     reasons: Mapping[str, str] = REASONS) -> pd.DataFrame:
    """One row per setting where ``best`` differs from ``default`` (in ``best``'s field order,
    printing-only settings left out): the two values, the reason from ``reasons`` and, given
    the recorded search ``results``, whether the search varied it (more than one value among
    its runs; a setting that is not a column of the record was never varied)."""
    a, b = default.to_dict(), best.to_dict()
    rows = [{"setting": k, "coursework default": setting_value(a[k]), "best": setting_value(b[k]),
             "why": reasons.get(k, "")} for k in b if a[k] != b[k] and k not in IGNORED]
    df = pd.DataFrame(rows, columns=["setting", "coursework default", "best", "why"])
    if results is not None:
        df["varied"] = [k in results.columns and results[k].astype(str).nunique() > 1
                        for k in df.setting]
    return df


# ---------------------------------------------------------------- verdicts


def fisher_exact_p(a: int, n: int, b: int, m: int) -> float:
    """Two-sided p of Fisher's exact test for ``a`` hits of ``n`` against ``b`` hits of ``m``:
    the probability, with the margins fixed, of a table no more likely than the one seen."""
    k, total = a + b, n + m

    def prob(x: int) -> float:
        return math.comb(n, x) * math.comb(m, k - x) / math.comb(total, k)

    seen = prob(a)
    return min(1.0, sum(p for x in range(max(0, k - m), min(k, n) + 1)
                        if (p := prob(x)) <= seen * (1 + 1e-9)))


def counts_differ(a: int, n: int, b: int, m: int, level: float = LEVEL) -> bool:
    """Whether ``a`` of ``n`` and ``b`` of ``m`` differ: Fisher's exact p below ``level``."""
    return fisher_exact_p(a, n, b, m) < level


def within_noise(gap: float, noise: float) -> bool:
    """Whether a difference of ``gap`` (either sign) is no larger than ``noise``, the spread one
    setting showed when trained twice (NaN noise: nothing measured, so nothing is within it)."""
    return abs(gap) <= noise


def higher_or_lower(value: float, other: float) -> str:
    """``"higher"``, ``"lower"`` or ``"the same"``: ``value`` against ``other``, at the three
    decimals the report shows."""
    diff = round(value, 3) - round(other, 3)
    return "the same" if round(diff, 3) == 0 else ("higher" if diff > 0 else "lower")


def within_or_beyond(gap: float, noise: float) -> str:
    """``"within"`` or ``"beyond"``: :func:`within_noise` as the word the text needs."""
    return "within" if within_noise(gap, noise) else "beyond"


# ---------------------------------------------------------------- noise


@dataclass(frozen=True)
class Repeat:
    """One setting trained twice in the search: its two runs' validation BPC and iterations,
    and on how many distinct machines (CPU names) they trained."""

    valid: tuple[float, ...]
    iterations: tuple[int, ...]
    machines: int

    @property
    def spread(self) -> float:
        return max(self.valid) - min(self.valid) if self.valid else math.nan


def repeat_noise(results: pd.DataFrame, columns: Sequence[str] = SETTING_COLUMNS) -> Repeat:
    """The setting trained more than once whose validation BPC spread most (an empty
    :class:`Repeat`, spread NaN, when every setting was trained once)."""
    cols = [c for c in columns if c in results.columns]
    ok = results[results["status"] == "ok"]
    twice = ok[ok.duplicated(subset=cols, keep=False)]
    if twice.empty:
        return Repeat((), (), 0)
    key = twice[cols].astype(str).agg("|".join, axis=1)
    spreads = twice.groupby(key)["valid_bpc"].agg(lambda v: v.max() - v.min())
    group = twice[key == spreads.idxmax()]
    machines = group["cpu"].nunique() if "cpu" in group else 1
    return Repeat(tuple(float(v) for v in group["valid_bpc"]),
                  tuple(int(i) for i in group["iterations"]), int(machines))


def machines_phrase(n: int) -> str:
    """``"on one machine"``, ``"on 2 different machines"``."""
    return "on one machine" if n == 1 else f"on {n} different machines"


# ---------------------------------------------------------------- the choice


@dataclass(frozen=True)
class SearchFacts:
    """What the recorded search chose, by which rule, and what it can tell apart."""

    budget: Num  # the full budget, minutes
    n_full: Int  # finished runs given the full budget (the candidates before the derail rule)
    n_earlier: Int  # runs given less time: an earlier stage
    earlier_budgets: str  # their budgets, e.g. "5"
    samples: Int  # samples per run in the derail measure
    n_measured: Int  # runs whose samples were measured
    chosen: str
    chosen_valid: Num
    chosen_iterations: Int
    chosen_minutes: Num
    chosen_derailed: Int
    chosen_differs: str  # what sets the choice apart from the rival, in words
    rival: str  # the other full-budget run with the lowest validation BPC
    rival_differs: str
    rival_valid: Num
    rival_derailed: Int
    valid_gap: Num  # |chosen - rival| validation BPC
    chosen_side: str  # the choice's validation BPC against the rival's: "higher", "lower"
    noise: Num  # the spread of the setting trained twice
    repeat_valid: str  # the two validation BPC, "1.774 and 1.750", in the order of ...
    repeat_iterations: str  # ... the iterations the two trainings reached, "6,211 and 9,231"
    repeat_where: str  # "on one machine", "on 2 different machines"
    gap_vs_noise: str  # "within" or "beyond"
    derail_p: Num
    derails_separate: bool
    derail_verdict: str  # "separate" or "do not separate"
    clearly_more: Int  # measured runs whose derail count differs from the choice's by the test
    verdict: str  # the last pick: "supported by", "a tie on" or "not supported by" this record
    n_changed: Int  # settings the preset changes from the coursework's
    n_untested: Int  # ... of which the search never varied


def search_verdict(gap_within_noise: bool, derails_separate: bool, chosen_side: str) -> str:
    """The choice against its rival (which never derails less, by the rule): supported when
    the derail counts separate them or the choice is lower on validation by more than the
    noise; not supported when it is higher by more than the noise and the derail counts do not
    separate them; otherwise a tie."""
    if derails_separate or (chosen_side == "lower" and not gap_within_noise):
        return "supported by this record"
    if chosen_side == "higher" and not gap_within_noise:
        return "not supported by this record"
    return "a tie on this record"


def search_facts(results: pd.DataFrame, default: TrainConfig, best: TrainConfig,
                 samples: int = SANITY_SAMPLES) -> SearchFacts:
    """The facts of the recorded search ``results`` (:func:`charlm.presets.search_results`,
    with its ``chosen`` column) for the preset ``best`` against the coursework's ``default``."""
    chosen = results[results["chosen"]].iloc[0]
    full = (results["budget_minutes"] == chosen["budget_minutes"]) & (results["status"] == "ok")
    others = results[full & ~results["chosen"]].sort_values("valid_bpc")
    rival = others.iloc[0] if not others.empty else chosen
    earlier = results[results["budget_minutes"] != chosen["budget_minutes"]]
    measured = results[full & results["derailed"].notna()]

    def derailed(row) -> int:
        return -1 if pd.isna(row["derailed"]) else int(row["derailed"])

    c_d, r_d = derailed(chosen), derailed(rival)
    p = fisher_exact_p(c_d, samples, r_d, samples) if min(c_d, r_d) >= 0 else math.nan
    separate = bool(p < LEVEL)
    clearly = sum(counts_differ(int(d), samples, c_d, samples)
                  for d in measured.loc[~measured["chosen"], "derailed"]) if c_d >= 0 else 0
    rep = repeat_noise(results)
    gap = float(chosen["valid_bpc"] - rival["valid_bpc"])
    side = higher_or_lower(chosen["valid_bpc"], rival["valid_bpc"])
    changes = changed_settings(default, best, results)
    return SearchFacts(
        budget=num(chosen["budget_minutes"], "g"), n_full=count(full.sum()),
        n_earlier=count(len(earlier)),
        earlier_budgets=", ".join(f"{b:g}" for b in sorted(earlier["budget_minutes"].unique())),
        samples=count(samples), n_measured=count(len(measured)),
        chosen=setting_label(chosen), chosen_valid=bits(chosen["valid_bpc"]),
        chosen_iterations=count(chosen["iterations"]),
        chosen_minutes=num(chosen["train_minutes"], ".1f"), chosen_derailed=count(max(c_d, 0)),
        chosen_differs=label_difference(chosen, rival), rival_differs=label_difference(rival, chosen),
        rival=setting_label(rival), rival_valid=bits(rival["valid_bpc"]),
        rival_derailed=count(max(r_d, 0)), valid_gap=bits(abs(gap)), chosen_side=side,
        noise=bits(rep.spread), repeat_valid=" and ".join(f"{v:.3f}" for v in rep.valid),
        repeat_iterations=" and ".join(f"{i:,}" for i in rep.iterations),
        repeat_where=machines_phrase(rep.machines), gap_vs_noise=within_or_beyond(gap, rep.spread),
        derail_p=num(p, ".2f"), derails_separate=separate,
        derail_verdict="separate" if separate else "do not separate",
        clearly_more=count(clearly),
        verdict=search_verdict(within_noise(gap, rep.spread), separate, side),
        n_changed=count(len(changes)), n_untested=count(int((~changes["varied"]).sum())),
    )


__all__ = ["LEVEL", "Repeat", "SETTING_COLUMNS", "SearchFacts", "changed_settings",
           "counts_differ", "fisher_exact_p", "higher_or_lower", "label_difference", "machines_phrase", "repeat_noise", "search_facts",
           "search_verdict", "setting_label", "setting_value", "within_noise", "within_or_beyond"]
