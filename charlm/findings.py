"""Numbers the report's conclusions rest on, and checks of those conclusions.

The notebooks never type a result into their prose: they compute it here and render the
sentence. Where the discussion makes a claim (the reference write-up's, or the coursework's
expectation), a :class:`Check` says what the claim is, what this run shows, and whether they
agree, with the rule used stated in the claim, so a run that disagrees says so plainly.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .plots import smooth


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


# ---------------------------------------------------------------- loss curves


def curve_stats(history: Sequence[float], plot_every: int, smooth_window: int = 10) -> dict[str, float]:
    """Summary of one loss curve (``history``: mean loss of every ``plot_every`` iterations).

    ``start`` is the first point; ``final`` the mean of the last tenth of the points (a single
    point is the loss of only ``plot_every`` random chunks, so it is noisy); ``min_smoothed``
    the lowest point of the moving average; ``rise`` the largest climb of the moving average
    above its lowest point so far, after the first quarter (a curve that keeps falling scores
    about 0, one that swings back up scores the height of the swing); ``roughness`` the standard
    deviation of point-to-point changes over the second half (larger = more jumpy); ``early``
    the moving average a quarter of the way in.
    """
    h = np.asarray(history, dtype=float)
    nan = math.nan
    if len(h) == 0:
        return dict(start=nan, final=nan, min_smoothed=nan, rise=nan, roughness=nan,
                    early=nan, points=0, tail_iterations=0)
    tail = max(1, len(h) // 10)
    s = smooth(h, smooth_window)
    half = h[len(h) // 2:]
    climb = (s - np.minimum.accumulate(s))[len(s) // 4:]
    return dict(
        start=float(h[0]),
        final=float(h[-tail:].mean()),
        min_smoothed=float(s.min()),
        rise=float(climb.max()) if len(climb) else nan,
        roughness=float(np.std(np.diff(half))) if len(half) > 2 else nan,
        early=float(s[min(len(s) - 1, len(s) // 4)]),
        points=len(h),
        tail_iterations=tail * plot_every,
    )


def zoom_ylim(stats: Iterable[Mapping[str, float]], margin: float = 0.1) -> tuple[float, float] | None:
    """A y-range that shows the second half of the curves (from the lowest smoothed point to a
    little above the highest 'early' value), for a zoomed view when curves overlap."""
    lows = [s["min_smoothed"] for s in stats if math.isfinite(s["min_smoothed"])]
    highs = [s["early"] for s in stats if math.isfinite(s["early"])]
    if not lows or not highs:
        return None
    lo, hi = min(lows) - margin, max(highs) + margin
    return (lo, hi) if hi > lo else None


def default_run_checks(history: Sequence[float], plot_every: int, n_epochs: int,
                       initial_loss: float | None = None, reference_epochs: int = 3000) -> list[Check]:
    """The reference write-up's default-training figures against this run.

    ``initial_loss``: the untrained model's loss in nats (the start of training); without it
    the first history point is used, which already averages ``plot_every`` iterations.
    """
    st = curve_stats(history, plot_every)
    if n_epochs != reference_epochs:
        note = (f"not comparable: this run trained {n_epochs} iterations, the reference "
                f"{reference_epochs}")
        return [Check("the loss starts at about 4.6 nats (ln 100: a uniform guess)", note, None),
                Check("after 3000 iterations it is about 1.7-1.8 nats", note, None)]
    if initial_loss is not None:
        start, where = initial_loss, (f"{initial_loss:.2f} for the untrained model; the mean of "
                                      f"the first {plot_every} iterations is already {st['start']:.2f}")
    else:
        start, where = st["start"], f"{st['start']:.2f} (mean of the first {plot_every} iterations)"
    return [
        Check("the loss starts at about 4.6 nats (ln 100: a uniform guess); "
              "agreement = within 0.3", where, abs(start - 4.6) <= 0.3),
        Check("after 3000 iterations it is about 1.7-1.8 nats; agreement = 1.6 to 1.9",
              f"{st['final']:.2f} (mean of the last {st['tail_iterations']} iterations)",
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
        return (f"highest: lr={worst['lr']:g}"
                + (f" ({worst['final']:.2f})" if worst["status"] == "ok" else f" ({worst['status']})"),
                float(worst["lr"]) == 0.0001)

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


def valid_bpc_at(curve: Sequence[Sequence[float]], minutes: float) -> float | None:
    """The validation BPC of the last evaluation at or before ``minutes`` of training, from a
    ``valid_curve`` of ``(iteration, training seconds, BPC)``; None when there was none yet."""
    before = [v for _, s, v in curve if s / 60 <= minutes]
    return before[-1] if before else None


# ---------------------------------------------------------------- studies


def varied_label(row: Mapping[str, Any], base: Mapping[str, Any], params: Sequence[str]) -> str:
    """Which of ``params`` differ from ``base`` in ``row``: ``'lr = 0.01'`` or ``'base'``."""
    diffs = [f"{p} = {_num(row[p])}" for p in params if not _same(row[p], base[p])]
    return ", ".join(diffs) if diffs else "base"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return a == b


def study_table(df, base: Mapping[str, Any], params: Sequence[str]):
    """The report's table of a study: setting, hyperparameters, outcome, BPC and minutes.

    The validation BPC column is there when some run of the study had a validation split.
    """
    import pandas as pd

    out = pd.DataFrame({
        "varied": [varied_label(r, base, params) for _, r in df.iterrows()],
        "cell": df["cell"], "hidden_size": df["hidden_size"], "n_layers": df["n_layers"],
        "lr": [f"{v:g}" for v in df["lr"]], "iterations": df["iterations"],
        "parameters": df["n_params"], "status": df["status"],
        "min loss": df["min_loss"], "final loss": df["final_loss"],
        "BPC (valid)": df["bpc_valid"], "BPC (test)": df["bpc_test"],
        "minutes": df["wall_time_s"] / 60,
    })
    return out if df["bpc_valid"].notna().any() else out.drop(columns="BPC (valid)")


def selection_metric(df) -> str:
    """The column a study chooses on: ``bpc_valid`` when every finished run has one (the runs
    held out a validation split), else ``bpc_test`` (the coursework's method)."""
    ok = df[df["status"] == "ok"]
    return "bpc_valid" if len(ok) and ok["bpc_valid"].notna().all() else "bpc_test"


def best_row(df, metric: str = "bpc_test"):
    """The finished run with the lowest ``metric`` (a BPC column; None if there is none)."""
    ok = df[(df["status"] == "ok") & df[metric].notna()]
    return None if ok.empty else ok.loc[ok[metric].idxmin()]


def varied_params(configs: Sequence[Any], base: Any) -> list[str]:
    """The fields of ``base`` (a TrainConfig) that some of ``configs`` change, in field order."""
    names = list(base.to_dict())
    return [n for n in names if any(getattr(c, n) != getattr(base, n) for c in configs)]


def param_effects(df, base: Mapping[str, Any], params: Sequence[str], metric: str = "bpc_test"
                  ) -> dict[str, list[tuple[Any, float, float]]]:
    """For each parameter: (value, BPC, training minutes) of the finished runs where only it
    differs from ``base`` (the base run included), sorted by value. BPC is column ``metric``."""
    out = {}
    for name in params:
        rows = []
        for _, r in df.iterrows():
            if all(_same(r[p], base[p]) for p in params if p != name) and r["status"] == "ok":
                rows.append((r[name], float(r[metric]), float(r["wall_time_s"]) / 60))
        out[name] = sorted(rows, key=lambda p: float(p[0]))
    return out


def describe_trend(effects: Sequence[tuple[Any, ...]], name: str) -> str:
    """A sentence on how BPC moves with one parameter (``effects``: (value, BPC, ...) tuples,
    sorted by value): falls, rises, or is lowest in between; and the spread."""
    pairs = [(e[0], e[1]) for e in effects]
    if len(pairs) < 2:
        return f"**{name}**: only {len(pairs)} finished run(s), no trend to read."
    values = ", ".join(f"{_num(v)} -> {b:.3f}" for v, b in pairs)
    bpcs = [b for _, b in pairs]
    best_v = pairs[int(np.argmin(bpcs))][0]
    diffs = np.diff(bpcs)
    if np.all(diffs < 0):
        trend = "BPC falls as it grows"
    elif np.all(diffs > 0):
        trend = "BPC rises as it grows"
    else:
        trend = f"BPC is lowest at {_num(best_v)}"
    spread = max(bpcs) - min(bpcs)
    return f"**{name}** (value -> BPC: {values}): {trend}; the spread is {spread:.3f} bits per character."


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else str(v)


# ---------------------------------------------------------------- generated text

_WORD = re.compile(r"[A-Za-z]+")


def word_set(text: str) -> set[str]:
    """The lower-cased words (runs of ASCII letters) of ``text``."""
    return {w.lower() for w in _WORD.findall(text)}


def sample_stats(sample: str, known_words: set[str], n: int = 10) -> dict[str, float]:
    """How varied and how word-like a generated sample is.

    ``distinct chars``: different characters used; ``known words``: share of its words that
    occur in ``known_words`` (the training text's words); ``repeated n-grams``: share of its
    ``n``-character windows that occur more than once in it (a text that loops scores high).
    """
    words = _WORD.findall(sample)
    grams = [sample[i:i + n] for i in range(len(sample) - n + 1)]
    counts = Counter(grams)
    return {
        "distinct chars": len(set(sample)),
        "words": len(words),
        "known words": (sum(w.lower() in known_words for w in words) / len(words)) if words else math.nan,
        f"repeated {n}-grams": (sum(c for c in counts.values() if c > 1) / len(grams)) if grams else math.nan,
    }


def _spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Rank correlation (ties get their average rank); NaN with fewer than 3 finite pairs."""
    import pandas as pd

    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return math.nan
    rx, ry = (pd.Series(v[keep]).rank().to_numpy() for v in (x, y))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def open_context(model, prime: str, threshold: float = 0.8, max_extra: int = 30) -> str:
    """A context where the model's choice of the next character is open, to show what the
    temperature does: ``prime`` extended by its most likely next characters (at T = 1) until
    no character has more than ``threshold`` probability (or ``max_extra`` were added)."""
    from .temperature import next_char_distribution

    context = prime
    for _ in range(max_extra + 1):
        labels, probs = next_char_distribution(model, context, [1.0], top=1)
        if probs[1.0][0] <= threshold:
            break
        context += labels[0]
    return context


def temperature_checks(stats: Mapping[float, Mapping[str, float]], n: int = 10) -> list[Check]:
    """The reference write-up's temperature claims against samples at several temperatures
    (``stats``: temperature -> :func:`sample_stats`)."""
    temps = sorted(stats)
    rep = f"repeated {n}-grams"
    lo, hi = temps[0], temps[-1]
    checks = []
    rho_chars = _spearman(temps, [stats[t]["distinct chars"] for t in temps])
    rho_rep = _spearman(temps, [stats[t][rep] for t in temps])
    checks.append(Check(
        "higher temperature gives more varied text: the number of distinct characters rises with T "
        "and repetition does not (rank correlations > 0 and <= 0)",
        f"rank correlation with T over {len(temps)} samples: distinct characters {rho_chars:+.2f}, "
        f"repeated {n}-grams {rho_rep:+.2f}",
        None if math.isnan(rho_chars) else bool(rho_chars > 0 and not rho_rep > 0)))
    if lo <= 0.2:
        s = stats[lo]
        checks.append(Check(
            f"at T = {lo:g} the text loops on a few frequent words: more than 30% of its "
            f"{n}-character windows repeat",
            f"{s[rep]:.0%} repeat; {s['distinct chars']} distinct characters",
            bool(s[rep] > 0.3)))
    if hi >= 1.8:
        s = stats[hi]
        checks.append(Check(
            f"at T = {hi:g} it is near-random characters: fewer than half of its words are "
            f"words of the training text",
            f"{s['known words']:.0%} known words; {s['distinct chars']} distinct characters",
            None if math.isnan(s["known words"]) else bool(s["known words"] < 0.5)))
    return checks


__all__ = ["Check", "best_row", "curve_stats", "default_run_checks", "describe_trend",
           "lr_checks", "open_context", "param_effects", "sample_stats", "study_table", "temperature_checks",
           "varied_label", "varied_params", "verdict", "word_set", "zoom_ylim"]
