"""Figures: loss curves (at most 10 runs per chart) and BPC per varied hyperparameter."""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path
from typing import Any, Sequence

import matplotlib

if "ipykernel" not in sys.modules:  # keep the inline backend in notebooks
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_write  # noqa: E402
from ..baselines import KNOWS_SHORT  # noqa: E402
from ..studies.fine_tuning import SCRATCH, TUNED  # noqa: E402
from ..studies.ladder import KNOWS  # noqa: E402
from ..studies.summary import smooth  # noqa: E402
from ..studies.temperature import METRIC_LABELS as TEMPERATURE_LABELS  # noqa: E402
from ..studies.temperature import METRICS, summarise  # noqa: E402

MAX_RUNS_PER_CHART = 10


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically (rendered in memory, then temporary file + rename)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    with atomic_write(path) as fh:
        fh.write(buf.getvalue())
    return Path(path)


def _finish(fig, path: str | Path | None, title: str | None = None, legend: tuple | None = None,
            below: float = 0.0, **title_kw):
    """The steps a figure of panels ends with: ``legend`` (``(handles, labels, y)``: one legend
    for all the panels, centred at height ``y`` under them), the ``title`` (``title_kw``: its
    font), the layout (leaving the bottom ``below`` of the figure to the legend) and
    :func:`save_figure` when ``path`` is given. Returns the figure."""
    if legend:
        handles, labels, y = legend
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8,
                   bbox_to_anchor=(0.5, y))
    if title:
        fig.suptitle(title, **title_kw)
    fig.tight_layout(rect=(0, below, 1, 1))
    if path is not None:
        save_figure(fig, path)
    return fig


def _loss_axes(ax, xlabel: str, title: str, legend: bool) -> None:
    """A loss chart's labels, title and grid, and its legend when it has lines to name."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=8)


def plot_loss_curves(
    runs: Sequence[dict[str, Any]],
    path: str | Path,
    title: str = "Training loss",
    smooth_window: int = 1,
    ylim: tuple[float, float] | None = None,
    max_per_chart: int = MAX_RUNS_PER_CHART,
) -> list[tuple[Path, Any]]:
    """Draw loss histories, one legend entry per run, at most ``max_per_chart`` per chart.

    Each run is a mapping with ``label``, ``history`` (mean loss every ``plot_every``
    iterations) and ``plot_every``; an optional ``diverged_at`` marks where it stopped. With
    more runs than fit, charts are numbered ``<stem>_1.png``, ``<stem>_2.png``... Returns
    ``(path, figure)`` pairs; the x axis is in iterations.
    """
    path = Path(path)
    groups = [runs[i:i + max_per_chart] for i in range(0, len(runs), max_per_chart)] or [[]]
    out = []
    for n, group in enumerate(groups, 1):
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
        for run in group:
            hist = smooth(run["history"], smooth_window)
            x = np.arange(1, len(hist) + 1) * run["plot_every"]
            label = run["label"]
            if run.get("diverged_at"):
                label += f" (diverged at {run['diverged_at']})"
            ax.plot(x, hist, label=label, linewidth=1.2)
        suffix = f" ({n}/{len(groups)})" if len(groups) > 1 else ""
        _loss_axes(ax, "iteration (one random chunk each)", title + suffix, bool(group))
        if ylim:
            ax.set_ylim(*ylim)
        target = path if len(groups) == 1 else path.with_name(f"{path.stem}_{n}{path.suffix}")
        save_figure(fig, target)
        out.append((target, fig))
    return out


def plot_loss_by_time(runs: Sequence[dict], path: str | Path,
                      title: str = "Training loss against training time", smooth_window: int = 1):
    """Loss histories against training seconds instead of iterations; returns the figure.

    Each run is a mapping with ``label``, ``history`` (mean loss every ``plot_every``
    iterations), ``plot_every`` and ``seconds_per_iteration`` (the run's training time over
    its iterations): point ``i`` is drawn at ``(i + 1) * plot_every * seconds_per_iteration``,
    which assumes the iterations of a run took equally long. ``smooth_window`` > 1 draws a
    trailing moving average over that many points (:func:`smooth`).
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for run in runs:
        hist = smooth(run["history"], smooth_window)
        x = np.arange(1, len(hist) + 1) * run["plot_every"] * run["seconds_per_iteration"]
        ax.plot(x, hist, label=run["label"], linewidth=1.2,
                marker="o" if len(hist) < 4 else None, markersize=4)  # a lone point shows too
    _loss_axes(ax, "training time (seconds, one torch thread)", title, bool(runs))
    save_figure(fig, path)
    return fig


METRIC_LABELS = {"bpc_valid": "validation", "bpc_test": "dickens_test.txt"}


def plot_bpc_by_param(df, base: dict[str, Any], params: Sequence[str], path: str | Path,
                      metric: str = "bpc_test"):
    """One panel per hyperparameter: BPC against its value, the others at ``base``.

    ``df`` is a study table (see :func:`charlm.studies.runner.run_study`). The panel titles name
    the best value by ``metric``; when the runs have a validation BPC it is drawn beside the
    test BPC. The panels share one BPC axis, so that their effects compare by eye, and a
    parameter of whole numbers has its ticks at the values tried. Returns the figure.
    """
    shown = [m for m in ("bpc_valid", "bpc_test") if df[m].notna().any()]
    fig, axes = plt.subplots(1, len(params), figsize=(3.6 * len(params), 3.4), squeeze=False,
                             sharey=True)
    for ax, name in zip(axes[0], params):
        others = [p for p in params if p != name]
        mask = np.ones(len(df), dtype=bool)
        for p in others:
            mask &= np.isclose(df[p].astype(float), float(base[p]))
        sub = df[mask].sort_values(name)
        for m in shown:
            ax.plot(sub[name].astype(float), sub[m], "o-", label=METRIC_LABELS[m])
        for _, row in sub.iterrows():
            if row["status"] != "ok":
                ax.annotate(row["status"], (float(row[name]), ax.get_ylim()[1]), fontsize=8)
        tried = sorted({float(v) for v in sub[name]})
        if name == "lr":
            ax.set_xscale("log")
            ax.set_xticks(tried, [f"{v:g}" for v in tried])
            ax.minorticks_off()
        elif all(v.is_integer() for v in tried):
            ax.set_xticks([int(v) for v in tried])
        ax.set_xlabel(name)
        if ax is axes[0][0]:
            ax.set_ylabel("BPC")
        ax.grid(alpha=0.3)
        if len(shown) > 1:
            ax.legend(fontsize=8)
        finite = sub[metric].dropna()
        if len(finite):
            best = sub.loc[finite.idxmin()]
            ax.set_title(f"best {name} by {METRIC_LABELS[metric]}: {best[name]} "
                         f"({best[metric]:.3f})", fontsize=9)
    return _finish(fig, path)


def plot_valid_curves(runs: Sequence[dict[str, Any]], path: str | Path,
                      title: str = "Validation BPC during training"):
    """Validation learning curves: BPC against training minutes and against characters read.

    Each run is a mapping with ``label``, ``curve`` (``(iteration, training seconds, BPC)``
    triples, as ``TrainResult.valid_curve``) and ``chars_per_iteration`` (batch_size x
    chunk_len), and optionally ``members`` (an ensemble's iterations per member, as
    ``TrainResult.member_iterations``): each member's curve is then drawn on its own, and the
    last point, the ensemble's, as a star. Two panels side by side: what a run reaches in a
    given time, and in a given amount of text (how well it uses each character). Returns the
    figure.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for run in runs:
        its, secs, values = (np.array(v, dtype=float) for v in zip(*run["curve"])) \
            if run["curve"] else (np.array([]),) * 3
        xs = (secs / 60, its * run["chars_per_iteration"] / 1e6)
        members = list(run.get("members") or [])
        if len(members) > 1 and len(values):
            ends = np.cumsum(members)
            # a point belongs to the member whose iterations it falls in; the last is the ensemble's
            which = np.searchsorted(ends, its[:-1], side="left")
            for ax, x in zip(axes, xs):
                colour = None
                for m in range(len(members)):
                    part = np.flatnonzero(which == m)
                    line, = ax.plot(x[part], values[part], "o-", markersize=3, color=colour,
                                    alpha=0.6, label=f"{run['label']}: each model" if m == 0 else None)
                    colour = line.get_color()
                ax.plot(x[-1:], values[-1:], "*", markersize=12, color=colour,
                        label=f"{run['label']}: the ensemble")
        else:
            for ax, x in zip(axes, xs):
                ax.plot(x, values, "o-", markersize=3, label=run["label"])
    for ax, xlabel in zip(axes, ("training time (minutes)", "characters trained on (millions)")):
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation BPC")
    axes[0].legend(fontsize=8)
    return _finish(fig, path, title, fontsize=10)


def plot_temperature_distribution(probs: dict[float, np.ndarray], labels: Sequence[str], path):
    """Bar chart of the next-character distribution at several temperatures (top symbols)."""
    temps = list(probs)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.8 / max(1, len(temps))
    x = np.arange(len(labels))
    for i, t in enumerate(temps):
        ax.bar(x + i * width - 0.4 + width / 2, probs[t], width, label=f"T = {t:g}")
    # a space would be an invisible tick label; show it as the open-box symbol
    ax.set_xticks(x, ["\u2423" if c == " " else repr(c)[1:-1] for c in labels])
    ax.set_ylabel("probability")
    ax.set_xlabel("next character")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    save_figure(fig, path)
    return fig


def plot_temperature_metrics(df, path: str | Path | None = None, title: str | None = None):
    """One panel per metric of :data:`METRICS`, against temperature: the mean across seeds as a line, the
    min..max range across seeds shaded, each seed as a faint dot; greedy decoding as a black
    square at T = 0 (with its min..max as an error bar), and the reference text's mean (if the
    table has one) as a dashed line. Saved atomically with :func:`save_figure`
    when ``path`` is given. Returns the figure.
    """
    summary = summarise(df)
    sampled = summary[summary.decoding == "sample"].sort_values("temperature")
    greedy = summary[summary.decoding == "greedy"]
    ref = summary[summary.decoding == "reference"]
    dots = df[df.decoding == "sample"]
    ncols = math.ceil(len(METRICS) / 2)
    fig, axes = plt.subplots(2, ncols, figsize=(5 * ncols, 7), sharex=True)
    for ax in axes.flat[len(METRICS):]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, METRICS):
        t = sampled.temperature.to_numpy(float)
        ax.fill_between(t, sampled[f"{metric}_min"], sampled[f"{metric}_max"], alpha=0.2,
                        color="C0", label="min..max across seeds")
        ax.plot(t, sampled[f"{metric}_mean"], "o-", color="C0", label="sampling (mean)")
        ax.plot(dots.temperature, dots[metric], ".", color="C0", alpha=0.35, markersize=4)
        if len(greedy):
            g = greedy.iloc[0]
            err = [[g[f"{metric}_mean"] - g[f"{metric}_min"]],
                   [g[f"{metric}_max"] - g[f"{metric}_mean"]]]
            ax.errorbar([0.0], [g[f"{metric}_mean"]], yerr=err, fmt="s", color="black",
                        capsize=3, label="greedy (argmax), T = 0")
        if len(ref) and not math.isnan(ref.iloc[0][f"{metric}_mean"]):
            ax.axhline(ref.iloc[0][f"{metric}_mean"], ls="--", color="C3", lw=1,
                       label="held-out text, mean (entropy: the model's, at T = 1)")
        ax.set_ylabel(TEMPERATURE_LABELS[metric], fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[max(0, len(METRICS) - ncols):len(METRICS)]:
        ax.set_xlabel("temperature T")
        ax.xaxis.set_tick_params(labelbottom=True)
    named: dict[str, Any] = {}  # each label once, with the first handle that has it
    for ax in axes.flat[:len(METRICS)]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            named.setdefault(lab, h)
    n_seeds = df[df.decoding == "sample"].seed.nunique()
    return _finish(fig, path, title or f"Generated text against temperature ({n_seeds} seeds each)",
                   (list(named.values()), list(named), -0.02), below=0.04)


CUT_METRICS = ("in_vocab", "repeat_4gram", "bpc")
FROM_ZERO = ("repeat_4gram",)  # cut measures drawn from 0: near 0, and often exactly 0
CUT_AXES = {"top_k": "top-k: characters kept", "top_p": "top-p: probability mass kept"}


def plot_cut_metrics(df, path: str | Path | None = None, title: str | None = None):
    """Top-k and top-p against uncut sampling: one column per cut (``top_k``, ``top_p`` rows of a
    :func:`charlm.studies.temperature.temperature_table`), one row per measure of
    :data:`CUT_METRICS`; the mean across seeds as a line with each seed as a faint dot, uncut
    sampling at T = 1 as a dotted line and real held-out text as a dashed one. Both panels of a
    row share their y axis, and the repeated 4-grams start at 0, so a measure that is 0 for every
    sample of one cut lies on the axis of the other instead of a range of rounding error. Saved with
    :func:`save_figure` when ``path`` is given. Returns the figure."""
    summary = summarise(df)
    uncut = summary[(summary.decoding == "sample") & np.isclose(summary.temperature, 1.0)]
    ref = summary[summary.decoding == "reference"]
    fig, axes = plt.subplots(len(CUT_METRICS), 2, figsize=(10, 8), sharex="col", sharey="row")
    for col, kind in enumerate(CUT_AXES):
        rows = summary[summary.decoding == kind].sort_values("cut")
        dots = df[df.decoding == kind]
        for row, metric in enumerate(CUT_METRICS):
            ax = axes[row, col]
            ax.plot(rows.cut, rows[f"{metric}_mean"], "o-", color="C0", label="cut (mean)")
            ax.plot(dots.cut, dots[metric], ".", color="C0", alpha=0.35, markersize=4)
            if len(uncut):
                ax.axhline(uncut.iloc[0][f"{metric}_mean"], ls=":", color="black", lw=1,
                           label="no cut, T = 1 (mean)")
            if len(ref) and not math.isnan(ref.iloc[0][f"{metric}_mean"]):
                ax.axhline(ref.iloc[0][f"{metric}_mean"], ls="--", color="C3", lw=1,
                           label="held-out text (mean)")
            if kind == "top_k":
                ax.set_xscale("log")
                ax.set_ylabel(TEMPERATURE_LABELS[metric], fontsize=9)
                ax.set_xticks(rows.cut.to_numpy(float), [f"{k:g}" for k in rows.cut], minor=False)
                ax.xaxis.set_minor_locator(NullLocator())
            ax.grid(alpha=0.3)
        axes[-1, col].set_xlabel(CUT_AXES[kind])
    for row, metric in enumerate(CUT_METRICS):
        if metric in FROM_ZERO:  # from 0, and not a sliver of axis around a constant 0
            top = np.nanmax([0.0, *df[df.decoding.isin(list(CUT_AXES))][metric]])
            axes[row, 0].set_ylim(0, max(0.1, 1.1 * top))
    n_seeds = df[df.decoding.isin(list(CUT_AXES))].seed.nunique()
    return _finish(fig, path, title or f"Cutting the tail at T = 1 ({n_seeds} seeds each)",
                   (*axes[0, 0].get_legend_handles_labels(), -0.01), below=0.04)


# One colour per class of what a model knows (charlm.studies.ladder.KNOWS, in that order).
LADDER_COLOURS = dict(zip(KNOWS, ("0.6", "C0", "C1", "C2")))


def plot_ladder(frame, tests: Sequence[str], path: str | Path | None = None,
                title: str | None = None, highlight: Sequence[str] = ()):
    """The ladder (:func:`charlm.studies.ladder.ladder_frame`, worst first) as horizontal bars,
    one panel per test file: BPC with its 95% interval where there is one, coloured by what
    the model knows (the legend names the classes present); the names in ``highlight`` (the
    report's own models) in bold. Saved with
    :func:`save_figure` when ``path`` is given. Returns the figure."""
    fig, axes = plt.subplots(1, len(tests), figsize=(5.2 * len(tests), 0.32 * len(frame) + 1.6),
                             sharey=True)
    axes = np.atleast_1d(axes)
    y = np.arange(len(frame))[::-1]  # worst at the top
    for ax, test in zip(axes, tests):
        colours = [LADDER_COLOURS.get(k, "C1") for k in frame.knows]
        # clipped at 0: a constant text (the uniform guess) gives an interval of rounding error
        lo = (frame[test] - frame[f"{test} low"]).fillna(0).clip(lower=0).to_numpy()
        hi = (frame[f"{test} high"] - frame[test]).fillna(0).clip(lower=0).to_numpy()
        ax.barh(y, frame[test], color=colours, xerr=[lo, hi], capsize=2, ecolor="black")
        for yi, b in zip(y, frame[test]):
            ax.text(b + 0.05, yi, f"{b:.2f}", va="center", fontsize=7)
        ax.set_title(test, fontsize=10)
        ax.set_xlabel("bits per character (lower is better)")
        ax.grid(alpha=0.3, axis="x")
        ax.set_xlim(0, max(frame[test]) * 1.12)
    axes[0].set_yticks(y, frame.name, fontsize=8)
    for label in axes[0].get_yticklabels():
        if label.get_text() in highlight:
            label.set_fontweight("bold")
    shown = [k for k in LADDER_COLOURS if k in set(frame.knows)]  # the classes present, in order
    handles = [plt.Rectangle((0, 0), 1, 1, color=LADDER_COLOURS[k]) for k in shown]
    return _finish(fig, path, title or "The ladder: every model and yardstick on the same files",
                   (handles, [f"knows: {KNOWS_SHORT[k]}" for k in shown], -0.01), below=0.05)


def plot_sample_measures(measures, path: str | Path | None = None, title: str | None = None,
                         columns: Sequence[str] = ("distinct_chars", "in_vocab", "distinct_words",
                                                   "repeat_4gram")):
    """One panel per measure in ``columns`` against temperature, one point per sample: the
    rows of :func:`charlm.studies.temperature.sample_measures` (e.g. the slider's samples, one
    per temperature, same prime and seed). Saved with :func:`save_figure` when ``path`` is
    given. Returns the figure."""
    rows = measures.sort_values("temperature")
    fig, axes = plt.subplots(1, len(columns), figsize=(2.9 * len(columns), 3.0), squeeze=False)
    for ax, key in zip(axes[0], columns):
        ax.plot(rows.temperature, rows[key], "o-", markersize=3)
        ax.set_xlabel("temperature")
        ax.set_title(TEMPERATURE_LABELS.get(key, key).replace("\n", " "), fontsize=9)
        ax.grid(alpha=0.3)
    return _finish(fig, path, title or f"The same measures for the {len(rows)} samples of the "
                   "slider below (one sample each, same seed)", fontsize=10)


def plot_default_loss(history: Sequence[float], cfg: Any, path: str | Path,
                      diverged_at: int | None = None,
                      title: str = "Training loss with the default settings",
                      untrained: float | None = None, uniform: float | None = None
                      ) -> list[tuple[Path, Any]]:
    """The loss curve of the 4.1 run (``cfg``: its TrainConfig), labelled with its learning
    rate; see :func:`plot_loss_curves`. ``untrained`` (nats: the untrained model's loss) is
    drawn at iteration 0 and ``uniform`` (nats: a uniform guess) as a dashed line, so the
    axis shows where training starts."""
    [(path_out, fig)] = out = plot_loss_curves(
        [{"label": f"default settings (lr={cfg.lr:g})", "history": history,
          "plot_every": cfg.plot_every, "diverged_at": diverged_at}], path, title=title)
    ax = fig.axes[0]
    if uniform is not None:
        ax.axhline(uniform, color="0.5", linestyle="--", linewidth=1, label="uniform guess")
    if untrained is not None:
        ax.plot([0], [untrained], "o", color="C3", label="untrained model (iteration 0)")
    if uniform is not None or untrained is not None:
        ax.set_xlim(left=-cfg.plot_every * 2)
        ax.legend(fontsize=8)
        save_figure(fig, path_out)
    return out


def plot_lr_curves(runs: Sequence[dict[str, Any]], path: str | Path, smooth_window: int = 1,
                   ylim: tuple[float, float] | None = None, title: str | None = None
                   ) -> list[tuple[Path, Any]]:
    """The 4.3 study's loss curves, one per learning rate (see :func:`plot_loss_curves`); the
    default title says when they are smoothed and zoomed."""
    if title is None:
        title = "Training loss by learning rate"
        if smooth_window > 1 or ylim:
            title += ", " + " and ".join(w for w, on in (("smoothed", smooth_window > 1),
                                                         ("zoomed", bool(ylim))) if on)
    return plot_loss_curves(runs, path, title=title, smooth_window=smooth_window, ylim=ylim)


def plot_cells_equal_data(runs, path: str | Path, smooth_window: int = 1, title: str | None = None):
    """Loss curves of the equal-data runs of a :class:`charlm.studies.cells.CellComparison`
    against iterations, one per cell (see :func:`plot_loss_curves`)."""
    curves = [{"label": f"{c.cell.upper()} (hidden {c.hidden_size})", "history": runs.history(c),
               "plot_every": c.plot_every} for c in runs.equal_data]
    title = title or ("Training loss by cell at equal parameter count "
                      f"(moving average of {smooth_window} points)")
    return plot_loss_curves(curves, path, title=title, smooth_window=smooth_window)


def plot_cells_equal_time(runs, path: str | Path, smooth_window: int = 1, title: str | None = None):
    """Loss curves of the equal-time runs of a :class:`charlm.studies.cells.CellComparison`
    against training seconds (each run's training time spread evenly over its iterations;
    see :func:`plot_loss_by_time`), labelled with the iterations each reached."""
    curves = [{"label": f"{c.cell.upper()}, {runs.row(c)['iterations']:,} iterations",
               "history": runs.history(c), "plot_every": c.plot_every,
               "seconds_per_iteration": runs.row(c)["ms per iteration"] / 1000}
              for c in runs.equal_time]
    title = title or f"Training loss at equal training time (moving average of {smooth_window} points)"
    return plot_loss_by_time(curves, path, title=title, smooth_window=smooth_window)


def plot_two_corpora(runs, other, path: str | Path, smooth_window: int = 1, title: str | None = None,
                     other_name: str = "Python source"):
    """Loss curves of the base run of a :class:`charlm.studies.cells.CellComparison` (Dickens)
    and of ``other``, the same setting trained on another corpus, against iterations."""
    dickens = runs.equal_data[0]
    curves = [{"label": f"Dickens ({dickens.corpus})", "history": runs.history(dickens),
               "plot_every": dickens.plot_every},
              {"label": f"{other_name} ({Path(other.corpus).name})", "history": runs.history(other),
               "plot_every": other.plot_every}]
    title = title or f"The 4.1 setting on two corpora (moving average of {smooth_window} points)"
    return plot_loss_curves(curves, path, title=title, smooth_window=smooth_window)


def plot_fine_tuning(tuned, path: str | Path, smooth_window: int = 1, title: str | None = None):
    """Loss curves of the two Python runs of a :class:`charlm.studies.fine_tuning.FineTuning`,
    fine-tuned from the Dickens model and from scratch, against iterations (the caption, in
    the notebook, says the rest)."""
    curves = [{"label": m, "history": tuned.runs[m]["history"],
               "plot_every": tuned.runs[m]["plot_every"]} for m in (TUNED, SCRATCH)]
    return plot_loss_curves(curves, path, title=title or "Python source",
                            smooth_window=smooth_window)


def plot_bits_by_kind(df, path: str | Path | None = None, title: str | None = None):
    """Two panels from :func:`charlm.inside.bits_by_kind`: left, each model's bits per
    character of each kind; right, each kind's share of each model's bits beside its share of
    the characters (grey). Kinds run down the y axis; the total row is left out."""
    kinds = df[df["kind"] != "all"]
    models = [c[:-len(" BPC")] for c in df.columns if c.endswith(" BPC")]
    y = np.arange(len(kinds))
    height = 0.8 / (len(models) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, name in enumerate(models):
        left.barh(y + k * height, kinds[f"{name} BPC"], height, label=name, color=colours[k])
        right.barh(y + (k + 1) * height, 100 * kinds[f"{name} share of bits"], height,
                   color=colours[k])
    right.barh(y, 100 * kinds["share of chars"], height, color="#999", label="share of characters")
    left.set_yticks(y + height * (len(models) - 1) / 2, kinds["kind"])
    left.invert_yaxis()
    left.set_xlabel("bits per character of that kind")
    right.set_xlabel("% of the model's bits (grey: % of the characters)")
    left.legend(loc="lower right", fontsize=8)
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    return _finish(fig, path, title or "Where the bits go: dickens_test_large.txt by kind of character")
