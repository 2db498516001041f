"""The numbers and verdicts that 4.2, 4.3 and Appendix C show in their prose.

Each function takes a memoized result (:func:`~charlm.studies.tuning.tuning_results`,
:func:`~charlm.studies.learning_rates.lr_study`) and returns one small dataclass whose numbers
show themselves formatted (:mod:`charlm.facts`), for ``{eval}`` roles in the notebooks'
markdown. The sentences are the notebooks'; here are only values, names and short verdict
phrases, each from a tested rule. Computing them is cheap: nothing here trains or scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..corpora import TEST_FILE
from ..data import SPLIT_BLOCK
from ..facts import Int, Num, bits, count, nats, num, share
from .learning_rates import (OSCILLATION, End, LrStudy, best_two, ended_highest, final_near,
                             jumpiness_ratio, learns_slowly, oscillates)
from .summary import format_value
from .tuning import ORDER, REPLICATE, TuningResults, gap_verdict

NEGLIGIBLE = 0.01  # a selection bias below this many bits per character is negligible
# hyperparameters a study may leave at the base, as the report names them
UNTESTED = {"chunk_len": "chunk length", "batch_size": "batch size", "dropout": "dropout",
            "clip": "gradient clipping", "lr_schedule": "the learning-rate schedule",
            "cell": "the recurrent cell"}
METRIC_TEXT = {"bpc_valid": "validation", "bpc_test": TEST_FILE}


# ---------------------------------------------------------------- small rules


def listing(items: Sequence[str], empty: str = "none") -> str:
    """``"a, b and c"``; ``empty`` when there are none."""
    items = [str(i) for i in items]
    if not items:
        return empty
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def compared(x: float, y: float) -> str:
    """``"more than"`` when x > y, ``"no more than"`` when not, ``"not comparable with"`` when
    either is unknown (NaN)."""
    if math.isnan(x) or math.isnan(y):
        return "not comparable with"
    return "more than" if x > y else "no more than"


def negligible(bias: float, threshold: float = 0.01) -> str:
    """``"negligible"`` when ``bias`` is below ``threshold``, ``"not negligible"`` when not,
    ``"not measured"`` when it is unknown (NaN)."""
    if math.isnan(bias):
        return "not measured"
    return "negligible" if abs(bias) < threshold else "not negligible"


def agreement(verdict: bool | None) -> str:
    """A claim's verdict as the report writes it: ``"yes"``, ``"NO"`` or ``"n/a"`` (the data
    cannot decide: a tie, a run of another length, a rate not in the grid)."""
    return {True: "yes", False: "NO", None: "n/a"}[verdict]


def signed(x: float, digits: int = 3) -> Num:
    """A difference in bits with its sign, to ``digits`` decimals, never ``-0.000``."""
    return num(round(float(x), digits) + 0.0, f"+.{digits}f")


def small(x: float) -> Num:
    """A small number of bits (a bias, an optimism), to four decimals."""
    return num(x, ".4f")


def ratio(a: float, b: float, fmt: str = ".1f") -> Num:
    """``a / b`` (NaN when b is 0 or either is unknown)."""
    return num(a / b if b and not (math.isnan(a) or math.isnan(b)) else math.nan, fmt)


def lr_value(lr: float) -> Num:
    """A learning rate as the report writes it: ``0.005``, ``0.0001``."""
    return num(lr, "g")


# ---------------------------------------------------------------- 4.2


@dataclass(frozen=True)
class TuningFacts:
    """What 4.2 says of its study (and Appendix C repeats)."""

    n_runs: Int
    varied: str  # the varied parameters, listed
    valid_share: Num  # of the training file, held out for validation
    on: str  # the text the study chooses on
    chosen: str  # the chosen setting's name
    chosen_valid: Num
    base_valid: Num
    chosen_test: Num
    base_test: Num
    chosen_large: Num
    base_large: Num
    param_ratio: Num  # the chosen setting's parameters over the base's
    time_ratio: Num  # ... and training time
    kept: str  # the parameters whose base value was already the best tried, with the value
    n_effects: Int  # parameters with an effect measured
    n_orders: Int  # ... whose gap is a real difference
    orders: str
    ties: str
    base_hidden: Int
    base_layers: Int
    base_lr: Num
    base_iterations: Int
    others: str  # the other values tried, by parameter
    full_grid: Int  # runs of a full grid over the same values
    values: str  # every value tried, by parameter
    split_block: Int  # characters per validation block
    untested: str  # hyperparameters left at the base's values
    # run-to-run variation, on the large test file
    n_seeds: Int
    n_extra: Int
    outside: Num  # the chance that one more run falls outside the range of n_seeds runs
    base_low: Num
    base_high: Num
    base_range: Num
    chosen_low: Num
    chosen_high: Num
    chosen_range: Num
    replicate: Num  # 4.1's model
    replicate_gap: Num  # 4.1's model minus the base's run of the study
    replicate_vs_range: str  # :func:`compared` of the gap with the base's seed range
    sd: Num  # pooled standard deviation of one run
    dof: Int
    t: Num
    sd_gap: Num  # standard deviation of the gap between two single runs
    limit: Num  # the largest gap between two single runs that is a tie
    seed_gain: Num  # base minus chosen, means over the seeds, large test file
    seed_gain_valid: Num  # the same on validation
    gain_limit: Num  # the largest gap between two such means that is a tie
    gain_verdict: str
    # choosing on validation, reporting on test
    test_pick: str
    large_kb: Int
    flattery: str  # :func:`negligible` of the larger whole-file bias of choosing on the test file
    negligible: Num
    level: Num
    width_test: Num
    width_large: Num
    paired_d: Num  # the chosen setting minus the base on the small test file
    paired_lo: Num
    paired_hi: Num


def _seed_stats(r: TuningResults, setting: str) -> tuple[Num, Num, Num, list[float]]:
    t = r.seeds
    vals = t[(t["setting"] == setting) & (t["run"] != REPLICATE)]["BPC (large test)"].tolist()
    if not vals:
        return bits(math.nan), bits(math.nan), bits(math.nan), []
    return bits(min(vals)), bits(max(vals)), bits(max(vals) - min(vals)), vals


def whole_file_bias(r: TuningResults) -> float:
    """The largest optimism of choosing on the small test file, scaled from a half to the whole
    file (divided by the square root of 2), among all runs and among all but the winner."""
    sel = r.selection
    biases = [o.mean for o in (sel.optimism, sel.optimism_rest) if o is not None]
    return max(abs(b) for b in biases) / math.sqrt(2)


def tuning_facts(r: TuningResults) -> TuningFacts:
    """The facts of 4.2 from :func:`~charlm.studies.tuning.tuning_results`."""
    base, runs, sel = r.base, r.runs, r.selection
    rows = {r.label(cfg): runs.iloc[i] for i, cfg in enumerate(r.configs)}
    missing = {k: math.nan for k in ("bpc_valid", "bpc_test", "n_params", "wall_time_s")}
    chosen = r.label(r.chosen) if r.chosen is not None else "none"
    b, c = rows.get("base", missing), rows.get(chosen, missing)
    large = dict(zip(sel.scores["setting"], sel.scores["bpc_large"]))
    tried = {p: sorted({getattr(cfg, p) for cfg in r.configs}) for p in r.varied}
    base_low, base_high, base_range, base_vals = _seed_stats(r, "base")
    ch_low, ch_high, ch_range, ch_vals = _seed_stats(r, chosen)
    rep = r.seeds[r.seeds["run"] == REPLICATE]["BPC (large test)"].tolist()
    replicate = rep[0] if rep else math.nan
    seed_runs = r.seeds[r.seeds["run"] != REPLICATE]
    valid = seed_runs.groupby("setting")["BPC (valid)"].mean()
    n = min(len(base_vals), len(ch_vals)) if chosen != "base" else 0
    v = r.variation
    gain = np.mean(base_vals) - np.mean(ch_vals) if n else math.nan
    gain_limit = v.limit(len(base_vals), len(ch_vals)) if n else math.nan
    orders = [e.param for e in r.effects if e.verdict == ORDER]
    paired = sel.paired[0] if sel.paired is not None else (math.nan,) * 3
    return TuningFacts(
        n_runs=count(len(r.configs)), varied=listing(list(r.varied)),
        valid_share=share(base.valid_frac), on=METRIC_TEXT[r.metric], chosen=chosen,
        chosen_valid=bits(c["bpc_valid"]), base_valid=bits(b["bpc_valid"]),
        chosen_test=bits(c["bpc_test"]), base_test=bits(b["bpc_test"]),
        chosen_large=bits(large.get(chosen, math.nan)), base_large=bits(large.get("base", math.nan)),
        param_ratio=ratio(float(c["n_params"]), float(b["n_params"])),
        time_ratio=ratio(float(c["wall_time_s"]), float(b["wall_time_s"])),
        kept=listing([f"{e.param} ({format_value(e.base_value)})" for e in r.effects if e.base_is_best]),
        n_effects=count(len(r.effects)), n_orders=count(len(orders)), orders=listing(orders),
        ties=listing([e.param for e in r.effects if e.param not in orders]),
        base_hidden=count(base.hidden_size), base_layers=count(base.n_layers),
        base_lr=lr_value(base.lr), base_iterations=count(base.n_epochs),
        others="; ".join(f"{p} " + ", ".join(format_value(x) for x in vals if x != getattr(base, p))
                         for p, vals in tried.items()),
        full_grid=count(math.prod(len(vals) for vals in tried.values())),
        values="; ".join(f"{p} in " + ", ".join(format_value(x) for x in vals)
                         for p, vals in tried.items()),
        split_block=count(SPLIT_BLOCK),
        untested=listing([name for field, name in UNTESTED.items() if field not in r.varied]),
        n_seeds=count(r.plan.n_seeds), n_extra=count(max(0, r.plan.n_seeds - 1)),
        outside=share(2 / (r.plan.n_seeds + 1)),
        base_low=base_low, base_high=base_high, base_range=base_range,
        chosen_low=ch_low, chosen_high=ch_high, chosen_range=ch_range,
        replicate=bits(replicate), replicate_gap=bits(abs(replicate - large.get("base", math.nan))),
        replicate_vs_range=compared(abs(replicate - large.get("base", math.nan)), base_range),
        sd=bits(v.sd), dof=count(v.dof), t=num(v.t, ".2f"), sd_gap=bits(v.sd * math.sqrt(2)),
        limit=bits(v.limit()),
        seed_gain=bits(gain), gain_limit=bits(gain_limit), gain_verdict=gap_verdict(gain, gain_limit),
        seed_gain_valid=bits(valid.get("base", math.nan) - valid.get(chosen, math.nan) if n else math.nan),
        test_pick=str(sel.scores["setting"][sel.by_test]), large_kb=count(round(sel.chars[1] / 1000)),
        flattery=negligible(whole_file_bias(r), NEGLIGIBLE), negligible=num(NEGLIGIBLE, "g"),
        level=share(sel.level), width_test=bits(sel.width_test), width_large=bits(sel.width_large),
        paired_d=signed(paired[0]), paired_lo=signed(paired[1]), paired_hi=signed(paired[2]),
    )


# ---------------------------------------------------------------- Appendix C: the choice in detail


@dataclass(frozen=True)
class SelectionFacts:
    """What Appendix C says of choosing among 4.2's runs on each text."""

    small_chars: Int
    large_chars: Int
    small_kb: Int
    large_kb: Int
    block: Int  # characters per bootstrap block
    n_boot: Int
    level: Num
    test_pick: str  # the run with the lowest BPC on the small test file
    test_pick_test: Num
    test_pick_large: Num
    valid_pick: str  # the run with the lowest validation BPC
    valid_pick_valid: Num
    valid_pick_test: Num
    valid_pick_large: Num
    n_scored: Int  # finished runs
    rho_valid: Num  # Spearman rank correlation with the large file's ranking
    rho_test: Num
    n_splits: Int
    opt_mean: Num  # how much better the winner looks on the half it was chosen on
    opt_low: Num
    opt_high: Num
    opt_agree: Num  # share of splits whose halves pick the same winner
    half_chars: Int
    opt_whole: Num  # the same for the whole file (over the square root of 2)
    margin: Num  # small-file BPC of the second-best run minus the best's
    n_rest: Int  # runs without the winner
    rest_min: Num
    rest_max: Num
    rest_mean: Num
    rest_agree: Num
    bias: Num  # the larger whole-file bias of the two
    flattery: str  # :func:`negligible` of ``bias``
    negligible: Num
    width_ratio: Num  # how many times narrower the large file's intervals are
    paired_large: Num  # the chosen setting minus the base on the large file
    paired_large_lo: Num
    paired_large_hi: Num


def selection_facts(r: TuningResults) -> SelectionFacts:
    """The facts of Appendix C's account of the choice, from
    :func:`~charlm.studies.tuning.tuning_results`."""
    sel = r.selection
    s, opt, rest = sel.scores, sel.optimism, sel.optimism_rest
    t, v = sel.by_test, sel.by_valid if sel.by_valid is not None else sel.by_test
    others = s["bpc_test"].drop(index=t)
    paired = sel.paired[1] if sel.paired is not None else (math.nan,) * 3
    no_rest = rest is None
    return SelectionFacts(
        small_chars=count(sel.chars[0]), large_chars=count(sel.chars[1]),
        small_kb=count(round(sel.chars[0] / 1000)), large_kb=count(round(sel.chars[1] / 1000)),
        block=count(sel.block), n_boot=count(sel.n_boot), level=share(sel.level),
        test_pick=str(s["setting"][t]), test_pick_test=bits(s["bpc_test"][t]),
        test_pick_large=bits(s["bpc_large"][t]),
        valid_pick=str(s["setting"][v]), valid_pick_valid=bits(s["bpc_valid"][v]),
        valid_pick_test=bits(s["bpc_test"][v]), valid_pick_large=bits(s["bpc_large"][v]),
        n_scored=count(len(s)), rho_valid=num(sel.rho_valid, ".2f"), rho_test=num(sel.rho_test, ".2f"),
        n_splits=count(opt.n_splits), opt_mean=signed(opt.mean, 4), opt_low=signed(opt.low),
        opt_high=signed(opt.high), opt_agree=share(opt.agreement), half_chars=count(round(opt.half_chars)),
        opt_whole=signed(opt.mean / math.sqrt(2), 4), margin=bits(sel.margin),
        n_rest=count(len(others)), rest_min=bits(others.min()), rest_max=bits(others.max()),
        rest_mean=signed(math.nan if no_rest else rest.mean, 4),
        rest_agree=share(math.nan if no_rest else rest.agreement),
        bias=small(whole_file_bias(r)), flattery=negligible(whole_file_bias(r), NEGLIGIBLE),
        negligible=num(NEGLIGIBLE, "g"), width_ratio=ratio(sel.width_test, sel.width_large, ".0f"),
        paired_large=signed(paired[0]), paired_large_lo=signed(paired[1]),
        paired_large_hi=signed(paired[2]),
    )


# ---------------------------------------------------------------- 4.3


@dataclass(frozen=True)
class CurveFacts:
    """One learning rate's curve, in nats per character."""

    lr: Num
    early: Num  # the smoothed loss a quarter of the way in
    final: Num  # the mean of the last tenth
    rise: Num  # the largest climb of the smoothed curve, after the first quarter
    rise_at: Int  # the iteration where it peaks
    roughness: Num  # the standard deviation of the point-to-point changes, second half
    bpc: Num  # on the small test file


def curve_facts(stats: Mapping[str, Any] | None) -> CurveFacts:
    """The facts of one curve's statistics (:func:`~charlm.studies.summary.curve_stats` with
    ``lr`` and ``bpc``); all NaN for None."""
    s = stats or {}

    def get(key: str) -> float:
        return float(s.get(key, math.nan))

    return CurveFacts(lr=lr_value(get("lr")), early=nats(get("early")), final=nats(get("final")),
                      rise=nats(get("rise")),
                      rise_at=count(int(get("rise_at"))) if math.isfinite(get("rise_at")) else num(math.nan),
                      roughness=num(get("roughness"), ".3f"), bpc=bits(get("bpc")))


def tie_verdict(end: End | None) -> str:
    """``"tied"`` when the paired gap of the two curves is within its 95% point, ``"apart"``
    when it is beyond, ``"not compared"`` without two finished curves or a standard error."""
    if end is None or not math.isfinite(end.paired.se):
        return "not compared"
    return "tied" if end.paired.tie else "apart"


@dataclass(frozen=True)
class EndFacts:
    """The curve that ends lowest (or highest), the next, and their paired comparison."""

    first: CurveFacts
    second: CurveFacts
    gap: Num  # |first - second| over the last tenth, nats
    se: Num  # its standard error by batch means
    ratio: Num  # the gap in standard errors
    verdict: str  # :func:`tie_verdict`


def end_facts(end: End | None) -> EndFacts:
    if end is None:
        none = curve_facts(None)
        return EndFacts(none, none, num(math.nan), num(math.nan), num(math.nan), tie_verdict(None))
    return EndFacts(curve_facts(end.first), curve_facts(end.second), num(abs(end.paired.gap), ".3f"),
                    num(end.paired.se, ".4f"), num(end.paired.ratio, ".1f"), tie_verdict(end))


@dataclass(frozen=True)
class LrFacts:
    """What 4.3 (and Appendix C) say of the learning-rate study."""

    n_runs: Int
    rates: str  # the learning rates, listed
    n_epochs: Int
    n_failed: Int  # runs that did not finish normally
    hidden: Int
    scale: Num  # the initial weights lie within +- this
    large_ratio: Num  # the largest rate over that range
    small_steps: Int  # same-direction steps of the smallest rate to cross that range
    slow: CurveFacts  # the highest smoothed loss a quarter of the way in
    fast: CurveFacts  # the lowest
    small: CurveFacts  # the smallest rate
    large: CurveFacts  # the largest rate
    rough_median: Num  # the median jumpiness of the curves other than the largest rate's
    rough_ratio: Num  # the largest rate's jumpiness over that median
    others_spread: Num  # how far the others' jumpiness strays from their median, at most
    other_rise: Num  # the largest climb among the other curves
    oscillation: Num  # the rule's factor
    low: EndFacts
    high: EndFacts
    batches: Int
    batch_points: Int
    tail_points: Int
    t: Num
    dof: Int
    plot_every: Int
    smooth_window: Int
    smooth_iterations: Int
    # the claims: "yes", "NO" or "n/a"
    learns_slowly: str
    oscillates: str
    osc_answer: str  # the oscillation verdict in prose: "yes", "no" or "undecided"
    best_two: str
    ended_highest: str
    small_near: str
    large_near: str
    n_claims: Int
    n_held: Int


def lr_facts(study: LrStudy, hidden_size: int, plot_every: int) -> LrFacts:
    """The facts of 4.3 from :func:`~charlm.studies.learning_rates.lr_study` (``hidden_size``
    and ``plot_every``: the runs' settings)."""
    ok, stats = study.ok, list(study.stats)
    by_lr = sorted(stats, key=lambda s: s["lr"])
    small, large = (by_lr[0], by_lr[-1]) if by_lr else (None, None)
    others = [s for s in ok if s is not large]
    median = float(np.median([s["roughness"] for s in others])) if others else math.nan
    spread = max((abs(s["roughness"] / median - 1) for s in others), default=math.nan)
    scale = 1 / math.sqrt(hidden_size)
    low, high = study.end(highest=False), study.end(highest=True)
    paired = (low or high).paired if (low or high) else None
    claims = [learns_slowly(ok), oscillates(ok), best_two(study), ended_highest(study),
              final_near(study, 0.0001, 2.4), final_near(study, 0.1, 2.3)]
    return LrFacts(
        n_runs=count(len(stats)), rates=listing([format_value(s["lr"]) for s in by_lr]),
        n_epochs=count(stats[0]["n_epochs"] if stats else 0), n_failed=count(len(stats) - len(ok)),
        hidden=count(hidden_size), scale=num(scale, ".2f"),
        large_ratio=num(large["lr"] / scale if large else math.nan, ".1f"),
        small_steps=count(round(scale / small["lr"])) if small else count(0),
        slow=curve_facts(max(ok, key=lambda s: s["early"]) if ok else None),
        fast=curve_facts(min(ok, key=lambda s: s["early"]) if ok else None),
        small=curve_facts(small), large=curve_facts(large),
        rough_median=num(median, ".3f"), rough_ratio=num(jumpiness_ratio(ok), ".2f"),
        others_spread=share(spread), other_rise=nats(max((s["rise"] for s in others), default=math.nan)),
        oscillation=num(OSCILLATION, "g"), low=end_facts(low), high=end_facts(high),
        batches=count(paired.batches if paired else 0),
        batch_points=count(paired.points // paired.batches if paired else 0),
        tail_points=count(paired.points if paired else 0), t=num(paired.t if paired else math.nan, ".2f"),
        dof=count(paired.dof if paired else 0), plot_every=count(plot_every),
        smooth_window=count(study.smooth_window), smooth_iterations=count(study.smooth_window * plot_every),
        learns_slowly=agreement(claims[0]), oscillates=agreement(claims[1]),
        osc_answer={True: "yes", False: "no", None: "undecided"}[claims[1]], best_two=agreement(claims[2]),
        ended_highest=agreement(claims[3]), small_near=agreement(claims[4]), large_near=agreement(claims[5]),
        n_claims=count(len(claims)), n_held=count(sum(c is True for c in claims)),
    )


__all__ = ["METRIC_TEXT", "NEGLIGIBLE", "UNTESTED", "CurveFacts", "EndFacts", "LrFacts",
           "SelectionFacts", "TuningFacts", "agreement", "compared", "curve_facts", "end_facts",
           "listing", "lr_facts", "lr_value", "negligible", "ratio", "selection_facts", "signed", "small", "tie_verdict",
           "tuning_facts", "whole_file_bias"]
