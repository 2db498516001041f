"""The ladder (:mod:`charlm.studies.ladder`): its table, the validation table of the n-gram
orders, the sentences that read it (notebook 06), the dynamic-evaluation grid and the target's
check."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ...baselines import ADAPTS, KNOWS_SHORT, TRAINING, NgramChoice
from ...corpora import TEST_LARGE_FILE
from ...dynamic import DynamicTuning
from ...studies.ladder import KIND_COMPRESSOR, KIND_MODEL, rung
from ..claims import Check
from ..display import bullets, table

LADDER_CAPTION = ("Bits per character on both test files, worst first; in brackets the 95% "
                  "block-bootstrap interval where the model gives each character's probability "
                  "(a compressor gives only a total code length)")


def ladder_table(frame: pd.DataFrame, tests: Sequence[str], compact: bool = False,
                 caption: str | None = LADDER_CAPTION):
    """One row per rung, worst first: BPC (and 95% interval) on each test file, what it knows
    and the seconds it took; ``compact`` keeps only the model and its scores (the ladder's
    figure shows what each knows). A rung's note (``"order not chosen"``) follows its name.
    ``caption=None`` leaves the caption to the notebook's markdown."""
    notes = frame.note if "note" in frame else pd.Series([""] * len(frame))
    shown = {"model": [f"{n} ({note})" if note else n for n, note in zip(frame.name, notes)]}
    if not compact:
        shown["knows"] = frame.knows.map(KNOWS_SHORT)
    for t in tests:
        shown[t] = [f"{b:.3f}" if math.isnan(lo) else f"{b:.3f} ({lo:.3f}-{hi:.3f})"
                    for b, lo, hi in zip(frame[t], frame[f"{t} low"], frame[f"{t} high"])]
    if not compact:
        shown["seconds"] = frame.seconds.map(lambda s: f"{s:.1f}")
    return table(pd.DataFrame(shown), caption=caption)


def _best_of(frame: pd.DataFrame, knows: str, kind: str | None = None) -> pd.Series | None:
    sub = frame[(frame.knows == knows) & ((frame.kind == kind) if kind else True)]
    sub = sub[sub.kind != KIND_MODEL] if kind is None else sub
    return None if sub.empty else sub.iloc[-1]  # frame is worst first


def ladder_reading(frame: pd.DataFrame, coursework: str, test: str = TEST_LARGE_FILE,
                   best: str | None = None, dynamic: str | None = None,
                   yardsticks: bool = True) -> str:
    """What the ladder says on ``test``, as bullets: what the coursework's model beats and what
    beats it, and the strongest yardsticks (unless ``yardsticks`` is false, where a reader has
    read them already); and, when given, what the best model's training buys over the
    strongest yardstick, and what dynamic evaluation adds."""
    c = rung(frame, coursework)
    others = frame[~frame.name.isin([coursework, best, dynamic])]
    beaten = others[others[test] > c[test]]
    beating = others[others[test] < c[test]]
    ngram = _best_of(frame, TRAINING)
    comp = _best_of(frame, ADAPTS, KIND_COMPRESSOR)
    def named(rows: pd.DataFrame) -> str:
        return ", ".join(f"{r['name']} ({r[test]:.3f})" for _, r in rows.iterrows())

    text = f"**The coursework's model** ({c[test]:.3f} on `{test}`) "
    if beating.empty:
        text += f"beats all {len(others)} yardsticks."
    else:
        text += (f"beats {len(beaten)} of the {len(others)} yardsticks"
                 + (f" ({named(beaten)})" if 0 < len(beaten) <= 3 else "")
                 + f" and loses to {len(beating)}, from {named(beating.iloc[:1])} to "
                 f"{named(beating.iloc[-1:])}.")
    lines = [text] if yardsticks else []
    if ngram is not None and yardsticks:
        lines.append(f"**Knowing only the training text**, the strongest yardstick is "
                     f"{ngram['name']} ({ngram[test]:.3f}); it counts, it does not adapt.")
    if comp is not None and yardsticks:
        lines.append(f"**Adapting as it reads**, {comp['name']} scores {comp[test]:.3f} in "
                     f"{comp['seconds']:.1f} seconds: it learns the test text's own names and "
                     f"phrases while it codes them, which no static model can.")
    if best is not None and comp is not None:
        b = rung(frame, best)
        gap = comp[test] - b[test]
        lines.append(f"**Ten minutes of training** ({best}: {b[test]:.3f}) buy "
                     + (f"{gap:.3f} bits per character over {comp['name']}" if gap > 0 else
                        f"no gain over {comp['name']} ({-gap:.3f} bits worse)") + ".")
    if dynamic is not None and best is not None:
        d, b = rung(frame, dynamic), rung(frame, best)
        lines.append(f"**Dynamic evaluation** lets the best model adapt too: {d[test]:.3f}, "
                     f"{b[test] - d[test]:.3f} below its static score"
                     + (f" and {comp[test] - d[test]:.3f} below {comp['name']}" if comp is not None
                        else "") + ".")
    return bullets(lines)


def order_table(choice: NgramChoice):
    """The validation BPC of every n-gram order tried, the chosen one marked."""
    return table(pd.DataFrame({"order": list(choice.valid_bpc),
                               "validation BPC": list(choice.valid_bpc.values()),
                               "chosen": ["yes" if k == choice.order else "" for k in choice.valid_bpc]}))


def tuning_table(tuning: DynamicTuning, top: int = 6):
    """The validation grid of the dynamic evaluation, best first (``top`` rows) and the static
    score."""
    rows = [{"segment": "static", "step": "", "decay": "", "validation BPC": tuning.static_bpc}]
    for st, b in sorted(tuning.grid, key=lambda r: r[1])[:top]:
        rows.append({"segment": st.segment, "step": f"{st.step:g}", "decay": f"{st.decay:g}",
                     "validation BPC": b})
    caption = (f"Dynamic evaluation on the validation split: the {min(top, len(tuning.grid))} "
               f"best of {len(tuning.grid)} settings tried, after the static score; the best "
               "(the row under the static score) is the setting used on the test files")
    return table(pd.DataFrame(rows), floatfmt="{:.4f}", caption=caption)


def dynamic_check(frame: pd.DataFrame, dynamic: str, yardstick: str, target: float = 1.75,
                  margin: float = 0.2, test: str = TEST_LARGE_FILE) -> Check:
    """The target: the dynamic model at most ``target`` on ``test`` (the whole interval below
    it), and at least ``margin`` bits better than ``yardstick``."""
    d, y = rung(frame, dynamic), rung(frame, yardstick)
    high = d[f"{test} high"]
    gap = y[test] - d[test]
    ok = bool(high <= target and gap >= margin)
    return Check(f"with dynamic evaluation the best model scores at most {target:g} on {test} "
                 f"(the whole 95% interval) and at least {margin:g} bits below {yardstick}",
                 f"{d[test]:.3f} ({d[f'{test} low']:.3f}-{high:.3f}); {gap:.3f} below "
                 f"{yardstick} ({y[test]:.3f})", ok)


__all__ = ["LADDER_CAPTION", "dynamic_check", "ladder_reading", "ladder_table", "order_table",
           "tuning_table"]
