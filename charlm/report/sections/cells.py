"""Section 4.5, the cells: LSTM, GRU and plain RNN at equal parameter count and equal time.

The sentences and tables whose content depends on the runs of
:func:`charlm.studies.cells.compare_cells`; the fixed explanations are the notebook's markdown.
Each function returns markdown (or, for a table, the HTML to display).
"""

from __future__ import annotations

from typing import Sequence

from ...studies.cells import CellComparison, Ranking
from ...studies.python_corpus import DomainScores
from ..display import bullets, plural, table

CLOSE_TIMES = 1.25  # longest over shortest training time below which equal times are "close"
LARGE = "dickens_test_large.txt"
SMALL = "dickens_test.txt"


def large_note(n_large: int, n_total: int) -> str:
    """How much of the large test file was scored: all of it, or its first ``n_large``."""
    if n_large == n_total:
        return f"{n_large:,} characters"
    return f"its first {n_large:,} characters, of {n_total:,}"


def _names(cells: Sequence[str]) -> list[str]:
    return [cell.upper() for cell in cells]


def answer(runs: CellComparison, d: Ranking, t: Ranking, domains: DomainScores) -> str:
    """The opening paragraph of 4.5: the best cell at equal parameters and data (``d``) and at
    equal time (``t``), with the gaps; and the Python model on unseen Python against the
    Dickens model on unseen Dickens."""
    rows = d.rows
    others = ", ".join(f"{rows.loc[c, 'BPC (test_large)']:.3f} for the {c.upper()}"
                       for c in d.order[1:])
    clear = all(d.gaps[c][1] > 0 for c in d.order[1:])
    text = (f"**Answer.** With about {round(rows['parameters'].mean(), -3):,.0f} parameters "
            f"each and the same {runs.base.n_epochs:,} training chunks, the {d.best.upper()} "
            f"predicts held-out Dickens best: {rows.loc[d.best, 'BPC (test_large)']:.3f} bits per "
            f"character, against {others}"
            + (" (every gap's 95% interval excludes zero)." if clear else "."))
    text += (f" In the {t.rows.index[0].upper()}'s training time the {t.best.upper()} "
             + ("wins again, since on this CPU the other cells run step by step." if t.best == d.best
                else "is best."))
    pp, dd = domains.bpc("Python", "held-out Python"), domains.bpc("Dickens", LARGE)
    text += (f" Trained on Python source, the LSTM needs {pp:.3f} bits per character on unseen "
             f"Python files, {'less' if pp < dd else 'more'} than the Dickens model on unseen "
             f"Dickens ({dd:.3f}); each model does far worse on the other's text.")
    return text


def not_tested(runs: CellComparison) -> str:
    """What the cell comparison held fixed, and so did not test."""
    b = runs.base
    return (f"**Not tested.** Each cell was trained once (seed {b.seed}), so how far the gaps "
            "move from seed to seed is not known. The rest was fixed at the setting of 4.1, "
            f"chosen for the LSTM: {plural(b.n_layers, 'layer')}, learning rate {b.lr:g}, "
            f"{b.n_epochs:,} chunks. With a learning rate, size or amount of data of its own, "
            "a GRU or an RNN might rank differently.")


def equal_data_setting(runs: CellComparison) -> str:
    """The hidden sizes, parameter counts and shared settings of the equal-data runs."""
    rows = runs.table(runs.equal_data).to_dict("records")
    sizes = ", ".join(f"{r['cell']} {r['hidden size']} ({r['parameters']:,} parameters)"
                      for r in rows)
    b = runs.base
    return (f"Hidden sizes: {sizes}. Everything else is the setting of 4.1, and the seed is the "
            f"same, so the {len(runs.equal_data)} runs read the same "
            f"{b.n_epochs * b.chunk_len:,} characters in the same order.")


def equal_data_table(runs: CellComparison):
    """The equal-data runs as a table (its caption: :func:`equal_data_caption`)."""
    df = runs.table(runs.equal_data)[["cell", "hidden size", "parameters", "final loss",
                                      "BPC (test)", "BPC (test_large)"]]
    return table(df, formats={"parameters": "{:,}", "final loss": "{:.3f}",
                              "BPC (test)": "{:.3f}", "BPC (test_large)": "{:.3f}"})


def equal_data_caption(runs: CellComparison, table_id: str = "tab-45-equal-data") -> str:
    """The caption of :func:`equal_data_table`."""
    return (f"Table {{#{table_id}}}: The cells at equal parameter count and equal data: final "
            "loss (mean of the last tenth of the loss history, nats per character) and BPC on "
            f"{SMALL} ({runs.n_test:,} characters) and {LARGE} "
            f"({large_note(runs.n_large, runs.n_large_total)}).")


def equal_data_findings(r: Ranking, n_test: int) -> str:
    """The paired gap of each cell to the best at equal data, the order on the small test
    file, and whether the plain RNN is last."""
    rows, best = r.rows, r.best
    gaps = ", ".join(f"{cell.upper()} {r.gaps[cell][0]:.3f} ({r.gaps[cell][1]:.3f} to "
                     f"{r.gaps[cell][2]:.3f})" for cell in r.order[1:])
    text = (f"Gaps to the {best.upper()} on {LARGE}, in bits per character with 95% paired "
            f"bootstrap intervals: {gaps}.")
    if r.small_order == r.order:
        text += f" The short {SMALL} gives the same order."
    else:
        text += (f" On the short {SMALL} the order is different: "
                 + ", ".join(f"{cell.upper()} {rows.loc[cell, 'BPC (test)']:.3f}"
                             for cell in r.small_order)
                 + f" (it has only {n_test:,} characters, so its BPC is the noisier).")
    if "rnn" in rows.index:
        place = r.order.index("rnn") + 1
        text += (" The plain RNN is last." if place == len(r.order) else
                 f" The plain RNN is not last here: it comes {place} of {len(r.order)}.")
    return text


def timings(runs: CellComparison) -> str:
    """The measured time per iteration of each cell, and how many times the first cell's."""
    first, *others = [c.cell for c in runs.equal_data]
    ms = {cell: 1000 * t for cell, t in runs.seconds.items()}
    return (f"Timed on this machine, one training iteration takes **{ms[first]:.0f} ms for the "
            f"{first.upper()}**, "
            + ", ".join(f"**{ms[c]:.0f} ms for the {c.upper()}** ({ms[c] / ms[first]:.1f} times "
                        "as long)" for c in others) + ".")


def operators(runs: CellComparison) -> str:
    """Operator calls per forward and backward pass, and whether the first cell (the LSTM) ran as
    the fused kernel while the others did not."""
    first, *others = [c.cell for c in runs.equal_data]
    n_calls = {cell: sum(calls.values()) for cell, calls in runs.operators.items()}
    chunk = runs.base.chunk_len
    fused = runs.fused
    counts = (f"One forward and backward pass over a chunk of {chunk} characters calls "
              f"{n_calls[first]:,} PyTorch operators for the {first.upper()}, against "
              + ", ".join(f"{n_calls[c]:,} for the {c.upper()} ({n_calls[c] / chunk:.0f} per character)"
                          for c in others) + ".")
    if fused[first] and not any(fused[c] for c in others):
        why = (f" Each {first.upper()} layer runs as the fused kernel (`mkldnn_rnn_layer`, "
               f"called {fused[first]} times: once per layer), and the "
               + " and the ".join(_names(others)) + " step through the characters.")
    else:
        why = (f" In this PyTorch build the cells do not differ in that way (the {first.upper()}'s "
               "fused oneDNN kernel `mkldnn_rnn_layer` is "
               + ("used" if fused[first] else "not used")
               + " here), so the difference in time comes from the number of operators above.")
    return counts + why


def equal_time_budget(runs: CellComparison) -> str:
    """The iterations each cell gets in the first cell's training time."""
    first, *others = runs.equal_time
    return (f"So the second comparison gives every cell the {first.cell.upper()}'s training "
            f"time: the {first.cell.upper()} keeps its {first.n_epochs:,} iterations, "
            + ", ".join(f"the {c.cell.upper()} gets {c.n_epochs:,}" for c in others) + ".")


def equal_time_table(runs: CellComparison):
    """The equal-time runs as a table, with the timed milliseconds per iteration beside those
    of the study (its caption: :func:`equal_time_caption`)."""
    df = runs.table(runs.equal_time)
    df["ms per iteration (timed)"] = [1000 * runs.seconds[c.cell] for c in runs.equal_time]
    cols = ["cell", "hidden size", "iterations", "characters read", "ms per iteration (timed)",
            "minutes", "ms per iteration", "final loss", "BPC (test)", "BPC (test_large)", "status"]
    return table(df[cols], formats={
        "characters read": "{:,}", "ms per iteration (timed)": "{:.0f}", "minutes": "{:.1f}",
        "ms per iteration": "{:.0f}", "final loss": "{:.3f}", "BPC (test)": "{:.3f}",
        "BPC (test_large)": "{:.3f}"})


def equal_time_caption(runs: CellComparison, table_id: str = "tab-d-equal-time") -> str:
    """The caption of :func:`equal_time_table`."""
    return (f"Table {{#{table_id}}}: The cells at equal training time. *ms per iteration (timed)* "
            f"was measured alone over {runs.timing_iterations} iterations and set the "
            "iterations; *minutes* and *ms per iteration* are what each run took in the study, "
            "next to other runs. Final loss is the mean of the last tenth of the loss history "
            "(nats per character).")


def time_spread(t: Ranking, close: float = CLOSE_TIMES) -> str:
    """The seconds each equal-time run took in the study, and whether they are close to equal
    (the longest under ``close`` times the shortest)."""
    minutes = t.rows["minutes"]
    spread = max(minutes) / max(1e-9, min(minutes))
    took = ", ".join(f"{cell.upper()} {t.rows.loc[cell, 'seconds']:.0f} s" for cell in t.rows.index)
    return (f"In the study, next to each other on shared cores, the runs took {took}: "
            + ("close to equal, as intended." if spread < close else
               f"not equal, the longest {spread:.1f} times as long as the shortest (each budget "
               "was timed with the cell alone)."))


def equal_time_findings(t: Ranking, d: Ranking) -> str:
    """Which cell is best in the first cell's time ``t``, against the equal-data ranking ``d``:
    gaps, share of the characters read, and the spread of the times."""
    rows, best = t.rows, t.best
    first = rows.index[0]
    lines = [f"The {cell.upper()} ({t.configs[cell].n_epochs:,} iterations, "
             f"{rows.loc[cell, 'characters read'] / rows.loc[first, 'characters read']:.0%} of the "
             f"{first.upper()}'s characters) scores {rows.loc[cell, 'BPC (test_large)']:.3f}, "
             f"{t.gaps[cell][0]:.3f} bits per character more (interval {t.gaps[cell][1]:.3f} to "
             f"{t.gaps[cell][2]:.3f})." for cell in t.order[1:]]
    lines.append(time_spread(t))
    return (f"**In the {first.upper()}'s training time, the {best.upper()} is best**"
            + (" again." if best == d.best else
               f", while at equal data the {d.best.upper()} was.") + "\n\n" + bullets(lines))


def equal_time_sentence(t: Ranking, d: Ranking) -> str:
    """The equal-time comparison in one sentence: the iterations each cell got in the first
    cell's time, the best cell, and the others' paired gaps."""
    rows, best = t.rows, t.best
    first = rows.index[0]
    got = ", ".join(f"the {c.upper()} {t.configs[c].n_epochs:,}" for c in rows.index[1:])
    gaps = ", ".join(f"the {c.upper()} by {t.gaps[c][0]:.3f} ({t.gaps[c][1]:.3f} to "
                     f"{t.gaps[c][2]:.3f})" for c in t.order[1:])
    return (f"In the {first.upper()}'s time ({t.configs[first].n_epochs:,} iterations) the "
            f"others get fewer ({got}), and the {best.upper()} is best"
            + (" again" if best == d.best else f" (at equal data the {d.best.upper()} was)")
            + f", ahead of {gaps} bits per character.")


__all__ = ["CLOSE_TIMES", "answer", "equal_data_caption", "equal_data_findings",
           "equal_data_setting", "equal_data_table", "equal_time_caption", "equal_time_sentence",
           "not_tested",
           "equal_time_budget", "equal_time_findings", "equal_time_table", "large_note",
           "operators", "time_spread", "timings"]
