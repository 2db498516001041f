"""Section 4.5, the cells: LSTM, GRU and plain RNN at equal parameter count and equal time.

The sentences and tables whose content depends on the runs of
:func:`charlm.studies.cells.compare_cells`; the fixed explanations are the notebook's markdown.
Each function returns markdown (or, for a table, the HTML to display).
"""

from __future__ import annotations

from typing import Sequence

from ...studies.cells import CellComparison, Ranking
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


def equal_data_setting(runs: CellComparison) -> str:
    """The hidden sizes, parameter counts and shared settings of the equal-data runs."""
    rows = runs.table(runs.equal_data).to_dict("records")
    sizes = ", ".join(f"{r['cell']} {r['hidden size']} ({r['parameters']:,} parameters)"
                      for r in rows)
    b = runs.base
    return (f"Hidden sizes here: {sizes}. Everything else is the setting of 4.1: "
            f"{plural(b.n_layers, 'layer')}, lr {b.lr:g}, {b.n_epochs:,} iterations of one {b.chunk_len}-character chunk, "
            f"seed {b.seed}; so the {len(runs.equal_data)} runs read the same "
            f"{b.n_epochs * b.chunk_len:,} characters in the same order.")


def equal_data_table(runs: CellComparison, caption: str | None = None):
    """The equal-data runs as a table, with a caption naming the iterations and test texts."""
    df = runs.table(runs.equal_data).drop(columns=["characters read", "ms per iteration", "seconds"])
    if caption is None:
        caption = (f"Equal parameter count, equal data ({runs.base.n_epochs:,} iterations each). "
                   "Final loss: mean of the last tenth of the loss history, nats per character. "
                   f"BPC over the whole of {SMALL} ({runs.n_test:,} characters) and {LARGE} "
                   f"({large_note(runs.n_large, runs.n_large_total)}). Minutes of training, one "
                   "torch thread per run, runs in parallel.")
    return table(df, formats={"parameters": "{:,}", "minutes": "{:.1f}", "final loss": "{:.3f}",
                              "BPC (test)": "{:.3f}", "BPC (test_large)": "{:.3f}"},
                 caption=caption)


def equal_data_findings(r: Ranking, n_test: int) -> str:
    """Which cell is best at equal data, the paired gaps of the others, the order on the small
    test file, and whether the plain RNN is last."""
    rows, best = r.rows, r.best
    lines = [f"The {cell.upper()} scores {rows.loc[cell, 'BPC (test_large)']:.3f}, "
             f"**{r.gaps[cell][0]:.3f} bits per character more** (95% paired bootstrap interval "
             f"{r.gaps[cell][1]:.3f} to {r.gaps[cell][2]:.3f}; its final training loss is "
             f"{rows.loc[cell, 'final loss']:.3f} nats against {rows.loc[best, 'final loss']:.3f})."
             for cell in r.order[1:]]
    if r.small_order == r.order:
        lines.append(f"On the short {SMALL} the order is the same.")
    else:
        lines.append(f"On the short {SMALL} the order is different: "
                     + ", ".join(f"{cell.upper()} {rows.loc[cell, 'BPC (test)']:.3f}"
                                 for cell in r.small_order)
                     + f" (it has only {n_test:,} characters, so its BPC is the noisier of the two).")
    if "rnn" in rows.index:
        place = r.order.index("rnn") + 1
        lines.append("The plain RNN is last." if place == len(r.order) else
                     f"The plain RNN is not last here: it comes {place} of {len(r.order)}.")
    return (f"**At equal parameter count and equal data, the {best.upper()} is best**: BPC "
            f"{rows.loc[best, 'BPC (test_large)']:.3f} on {LARGE}.\n\n" + bullets(lines))


def timings(runs: CellComparison) -> str:
    """The measured time per iteration of each cell, and how many times the first cell's."""
    first, *others = [c.cell for c in runs.equal_data]
    ms = {cell: 1000 * t for cell, t in runs.seconds.items()}
    return (f"Timed on this machine with one torch thread, {runs.timing_iterations} training "
            "iterations each (`charlm.studies.cells.time_per_iteration`), one iteration took "
            f"**{ms[first]:.0f} ms for the {first.upper()}**, "
            + ", ".join(f"**{ms[c]:.0f} ms for the {c.upper()}** ({ms[c] / ms[first]:.1f} times as long)"
                        for c in others) + ".")


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
                          for c in others)
              + " (`charlm.studies.cells.operator_calls`).")
    if fused[first] and not any(fused[c] for c in others):
        why = (f" Here each {first.upper()} layer runs as the fused kernel (`mkldnn_rnn_layer`, "
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
            f"time: the {first.cell.upper()} keeps its {first.n_epochs:,} iterations (the run of "
            "4.1 again), " + ", ".join(f"the {c.cell.upper()} gets {c.n_epochs:,}" for c in others)
            + f" (`charlm.studies.cells.equal_time_configs`: the {first.cell.upper()}'s time "
            "divided by each cell's time per iteration, rounded, and a multiple of plot_every = "
            f"{runs.base.plot_every}).")


def equal_time_table(runs: CellComparison, caption: str = "Equal training time."):
    """The equal-time runs as a table, with the timed milliseconds per iteration beside those
    of the study."""
    df = runs.table(runs.equal_time)
    df["ms per iteration (timed)"] = [1000 * runs.seconds[c.cell] for c in runs.equal_time]
    cols = ["cell", "hidden size", "iterations", "characters read", "ms per iteration (timed)",
            "minutes", "ms per iteration", "final loss", "BPC (test)", "BPC (test_large)", "status"]
    return table(df[cols], formats={
        "characters read": "{:,}", "ms per iteration (timed)": "{:.0f}", "minutes": "{:.1f}",
        "ms per iteration": "{:.0f}", "final loss": "{:.3f}", "BPC (test)": "{:.3f}",
        "BPC (test_large)": "{:.3f}"}, caption=caption)


def time_spread(t: Ranking, close: float = CLOSE_TIMES) -> str:
    """The seconds each equal-time run took in the study, and whether they are close to equal
    (the longest under ``close`` times the shortest)."""
    minutes = t.rows["minutes"]
    spread = max(minutes) / max(1e-9, min(minutes))
    took = ", ".join(f"{cell.upper()} {t.rows.loc[cell, 'seconds']:.0f} s" for cell in t.rows.index)
    return ("The x axis above is training seconds: each run's history is spread evenly over the "
            f"time the run took in the study ({took}). "
            + ("These are close to equal, as intended." if spread < close else
               f"They are not equal: the longest took {spread:.1f} times as long as the shortest."))


def equal_time_findings(t: Ranking, d: Ranking) -> str:
    """Which cell is best in the first cell's time ``t``, against the equal-data ranking ``d``:
    gaps, share of the characters read, both rankings, and the spread of the times."""
    rows, best = t.rows, t.best
    first = rows.index[0]
    lines = [f"The {cell.upper()} ({t.configs[cell].n_epochs:,} iterations, "
             f"{rows.loc[cell, 'characters read'] / rows.loc[first, 'characters read']:.0%} of the "
             f"{first.upper()}'s characters) scores {rows.loc[cell, 'BPC (test_large)']:.3f}, "
             f"{t.gaps[cell][0]:.3f} bits per character more (interval {t.gaps[cell][1]:.3f} to "
             f"{t.gaps[cell][2]:.3f})." for cell in t.order[1:]]
    lines.append("Ranking at equal data: "
                 + ", ".join(f"{c.upper()} {d.rows.loc[c, 'BPC (test_large)']:.3f}" for c in d.order)
                 + "; at equal time: "
                 + ", ".join(f"{c.upper()} {rows.loc[c, 'BPC (test_large)']:.3f}" for c in t.order) + ".")
    lines.append(time_spread(t))
    return (f"**In the {first.upper()}'s training time, the {best.upper()} is best**: BPC "
            f"{rows.loc[best, 'BPC (test_large)']:.3f} on {LARGE}"
            + (" as at equal data." if best == d.best else
               f", while at equal data the {d.best.upper()} was.") + "\n\n" + bullets(lines))


__all__ = ["CLOSE_TIMES", "equal_data_findings", "equal_data_setting", "equal_data_table",
           "equal_time_budget", "equal_time_findings", "equal_time_table", "large_note",
           "operators", "time_spread", "timings"]
