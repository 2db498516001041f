"""Section "inside the model" (notebook 07): coloured text, the bits-by-kind table and its
paragraph, the unit search's table and sentences, and the live text box for JupyterLab.

The coloured text is static HTML: one element per character with a CSS class for its colour
bin and a ``title`` holding its value (the bits, shown on hover), every character escaped with
:func:`html.escape` (see :func:`coloured_html`). It needs no script and no network; newlines show as a visible mark before
the line break, every colour (the lightest too) is a tint, so that spaces show as coloured
boxes, and the print rules keep the backgrounds on paper.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import HTML

from ...checkpoint import Checkpoint
from ...config import TrainConfig
from ...errors import CharlmError, DataError
from ...inside import (FOUND_MARGIN, KIND_RULES, KINDS, States, label, record_states, surprisal,
                       unit_search, untrained_like)
from ...presets import preset
from ...runs import cached_run, torch_threads
from ..display import plural, table

# ---------------------------------------------------------------- the models and the pass


def models(seed: int, n_epochs: int = 0, hidden_size: int = 0, budget_minutes: float = 10.0
           ) -> tuple[Checkpoint, Checkpoint]:
    """The report's default model (4.1: the coursework's settings) and its best model (the
    ``best`` preset), from the run cache, with the settings notebook 06 gives them (0: the
    preset's or the coursework's value), so that they are the very same runs."""
    given = {k: v for k, v in dict(n_epochs=n_epochs, hidden_size=hidden_size).items() if v}
    best = cached_run(preset("best", seed=seed, budget_minutes=budget_minutes, **given))
    return cached_run(TrainConfig(seed=seed, **given)), best


@dataclass
class Recording:
    """One pass of each model over the text: the best model's states and bits, the default
    model's bits, the property labels, and the seconds each pass took."""

    states: States
    default_bits: np.ndarray
    labels: dict[str, np.ndarray]
    seconds_best: float
    seconds_default: float
    threads: int


def record(best_model, default_model, text: str, threads: int = 0) -> Recording:
    """Record the best model's states and bits over ``text`` (one pass), score it with the
    default model, and label its properties, with ``threads`` torch threads (0: one per core)."""
    with torch_threads(threads) as n:
        start = time.perf_counter()
        states = record_states(best_model, text)
        middle = time.perf_counter()
        default_bits = surprisal(default_model, text)
        end = time.perf_counter()
    return Recording(states, default_bits, label(text), middle - start, end - middle, n)


def recording_sentence(rec: Recording, limit: float = 60.0) -> str:
    """How long the passes took, against the limit of ``limit`` seconds for the best model."""
    n = len(rec.default_bits)
    verdict = "within" if rec.seconds_best <= limit else "**over**"
    return (f"Recording the best model's cell and hidden states over all {n:,} characters and "
            f"scoring them in the same pass took {rec.seconds_best:.1f} s with "
            f"{plural(rec.threads, 'torch thread')} ({verdict} the "
            f"{limit:g} s allowed); scoring them with the default model took "
            f"{rec.seconds_default:.1f} s.")


def control_search(best_model, text: str, labels: dict[str, np.ndarray], seed: int,
                   threads: int = 0):
    """The unit search on an untrained model of the best model's shape (the control); its
    states are dropped once searched."""
    with torch_threads(threads):
        return unit_search(record_states(untrained_like(best_model, seed), text), labels)

# ---------------------------------------------------------------- colour scales


@dataclass(frozen=True)
class Scale:
    """Colour bins: value < ``edges[0]`` is bin 0, ``edges[k - 1] <= value < edges[k]`` bin k,
    and so on; ``colours`` has one more entry than ``edges``. ``css`` prefixes the class names,
    ``unit`` names what the values are in (the legend), ``fmt`` writes a value."""

    css: str
    edges: tuple[float, ...]
    colours: tuple[str, ...]
    unit: str
    fmt: str = "{:.2f}"
    dark: int = 2  # the last ``dark`` bins (and, diverging, the first) take white text
    diverging: bool = False

    def bins(self, values: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(self.edges), np.asarray(values, dtype=float), side="right")


BITS = Scale("ib", (0.5, 1, 2, 3, 4, 6, 8),
             ("#f3f0e6", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
             "bits paid for the character")
_DIVERGING = ("#08519c", "#3182bd", "#6baed6", "#c6dbef", "#ececec", "#fcbba1", "#fb6a4a",
              "#de2d26", "#a50f15")
DIFFERENCE = Scale("id", (-4, -2, -1, -0.25, 0.25, 1, 2, 4), _DIVERGING,
                   "bits of the best model minus bits of the default model (blue: the best "
                   "model pays fewer)", diverging=True)
UNIT = Scale("iu", (-0.75, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 0.75), _DIVERGING,
             "the unit's activation over its usual range (red: the property holds)",
             diverging=True)
SCALES = (BITS, DIFFERENCE, UNIT)
NEWLINE_MARK = "\u21b5"  # a visible mark before each line break


def _style(scales: Sequence[Scale] = SCALES) -> str:
    rules = []
    for s in scales:
        n = len(s.colours)
        for k, colour in enumerate(s.colours):
            dark = k >= n - s.dark or (s.diverging and k < s.dark)
            rules.append(f".{s.css}{k}{{background:{colour}{';color:#fff' if dark else ''}}}")
    return ("<style>.charlm-inside{white-space:pre-wrap;word-break:break-word;line-height:1.5;"
            "font-size:0.92em;padding:0.4em 0.6em;border-left:3px solid #ccc;margin:0.3em 0;"
            "-webkit-print-color-adjust:exact;print-color-adjust:exact}"
            ".charlm-inside i{font-style:normal;-webkit-print-color-adjust:exact;"
            "print-color-adjust:exact}"
            ".charlm-inside-label{font-weight:bold;margin:0.6em 0 0 0}"
            ".charlm-legend span{display:inline-block;padding:0 0.4em;margin-right:1px;"
            "-webkit-print-color-adjust:exact;print-color-adjust:exact}"
            + "".join(rules) + "</style>")


def coloured_html(text: str, values: np.ndarray, scale: Scale = BITS, titles: bool = True) -> str:
    """``text`` as a ``<pre>`` block, each character coloured by its value in ``values`` (one
    per character; NaN: no colour, e.g. the first character, which has no prediction). With
    ``titles`` each character is an element of its own carrying its value in its ``title``
    (shown on hover); without, a run of characters of one colour shares an element (fewer
    bytes). The text is escaped (``<``, ``&`` and quotes) and each newline shows as
    :data:`NEWLINE_MARK` before the line break. Needs the classes of :func:`_style` (see
    :func:`views_html`).

    Each coloured character is ``<i class=ib3 title=2.31>x</i>`` (``i`` set upright by the
    style): the shortest markup that carries a class and a value, since a passage has
    hundreds of them and the section must stay small."""
    values = np.asarray(values, dtype=float)
    if len(values) != len(text):
        raise DataError(f"{len(values)} values for a text of {len(text)} characters")
    bins = np.where(np.isnan(values), -1, scale.bins(np.nan_to_num(values)))
    cuts = np.arange(1, len(text)) if titles else np.flatnonzero(np.diff(bins)) + 1
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, len(text)]):
        shown = html.escape(text[lo:hi].replace("\n", NEWLINE_MARK + "\n"), quote=True)
        if bins[lo] < 0:
            parts.append(shown)
            continue
        title = f" title={scale.fmt.format(values[lo])}" if titles else ""
        parts.append(f"<i class={scale.css}{bins[lo]}{title}>{shown}</i>")
    return f'<pre class="charlm-inside">{"".join(parts)}</pre>'


def legend_html(scale: Scale) -> str:
    """One row of the scale's colours, each with its range of values, and what they mean."""
    e = [scale.fmt.format(x).rstrip("0").rstrip(".") for x in scale.edges]
    labels = [f"&lt; {e[0]}"] + [f"{a} to {b}" for a, b in zip(e, e[1:])] + [f"&ge; {e[-1]}"]
    cells = "".join(f'<span class="{scale.css}{k}">{label}</span>' for k, label in enumerate(labels))
    return (f'<div class="charlm-legend"><small>{html.escape(scale.unit)}:</small> {cells}</div>')


def views_html(views: Sequence[tuple[str, str, np.ndarray, Scale]], titles: bool = True) -> str:
    """Several coloured texts in one self-contained snippet: each view is ``(label, text,
    values, scale)``, shown as its label and the coloured text; the legend of a scale follows
    the last of consecutive views that share it (``titles``: see :func:`coloured_html`)."""
    scales = [scale for *_, scale in views]
    body = "".join(f'<p class="charlm-inside-label">{html.escape(label)}</p>'
                   f"{coloured_html(text, values, scale, titles)}"
                   + (legend_html(scale) if i + 1 == len(views) or scales[i + 1] != scale else "")
                   for i, (label, text, values, scale) in enumerate(views))
    return _style(list(dict.fromkeys(scale for *_, scale in views))) + body


def passage(text: str, offset: int, length: int) -> tuple[int, int]:
    """``(start, stop)`` of the passage: ``length`` characters from ``offset``, moved back to
    fit a shorter text (a QUICK build's)."""
    if length < 1:
        raise CharlmError(f"the passage needs at least 1 character, got {length}")
    start = max(0, min(offset, len(text) - length))
    return start, min(len(text), start + length)


def surprisal_views(text: str, start: int, stop: int, default_bits: np.ndarray,
                    best_bits: np.ndarray, names: tuple[str, str] = ("default model", "best model")):
    """The passage ``text[start:stop]`` three times: coloured by the default model's bits, by
    the best model's, and by the difference (best minus default), as one HTML output. The bits
    are of the whole text (:func:`charlm.inside.surprisal`), so the passage is read with the
    state of all the text before it."""
    piece = text[start:stop]
    d, b = np.asarray(default_bits)[start:stop], np.asarray(best_bits)[start:stop]
    views = [(f"Bits paid by the {names[0]} (mean {np.nanmean(d):.2f} over the passage)", piece, d, BITS),
             (f"Bits paid by the {names[1]} (mean {np.nanmean(b):.2f})", piece, b, BITS),
             (f"The difference: {names[1]} minus {names[0]}", piece, b - d, DIFFERENCE)]
    return HTML(views_html(views))


def passage_sentence(file: str, start: int, stop: int, text: str) -> str:
    """Where the passage is, in words."""
    lines = text[start:stop].count("\n")
    return (f"The passage: characters {start:,} to {stop:,} of `{file}` ({stop - start} characters, "
            f"{lines} line breaks), chosen by its fixed offset for its dialogue.")


# ---------------------------------------------------------------- where the bits go

KINDS_CAPTION = ("Bits by kind of character predicted, on the whole large test file: how many "
                 "characters of each kind there are, each model's bits per character of that "
                 "kind, and its share of the model's bits.")


def kinds_rules_table():
    """The kinds of character and the rule for each (the first rule that applies wins)."""
    return table(pd.DataFrame({"kind": list(KINDS), "rule (the first that applies)": [KIND_RULES[k] for k in KINDS]}))


def kinds_table(df: pd.DataFrame, caption: str = KINDS_CAPTION):
    """:func:`charlm.inside.bits_by_kind` as a table: shares as percentages, BPC to 3 places."""
    formats = {c: "{:.1%}" for c in df.columns if "share" in c}
    formats |= {c: "{:.3f}" for c in df.columns if c.endswith("BPC")}
    formats["chars"] = "{:,}"
    return table(df, formats=formats, caption=caption)


def _model_names(df: pd.DataFrame) -> list[str]:
    return [c[:-len(" BPC")] for c in df.columns if c.endswith(" BPC")]


def saving_by_kind(df: pd.DataFrame, worse: str, better: str) -> pd.DataFrame:
    """Per kind (the total row left out): the bits per character ``better`` saves against
    ``worse`` and the share of the whole saving that kind accounts for."""
    kinds = df[df["kind"] != "all"]
    per_char = kinds[f"{worse} BPC"] - kinds[f"{better} BPC"]
    total = per_char * kinds["chars"]
    return pd.DataFrame({"kind": kinds["kind"], "saving per char": per_char,
                         "share of saving": total / total.sum(), "chars": kinds["chars"]})


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def kinds_paragraph(df: pd.DataFrame, default: str, best: str, ngram: str) -> str:
    """What the bits-by-kind table shows, in sentences computed from it (``default``,
    ``best``, ``ngram``: the model names of its columns)."""
    rows = df.set_index("kind")
    first, inner = rows.loc["first letter of a word"], rows.loc["letter inside a word"]
    costly = first[f"{best} share of bits"] > first["share of chars"]
    out = [f"{'The bits go where a word begins: a' if costly else 'A'} word's first letter is "
           f"{_pct(first['share of chars'])} of the characters {'but' if costly else 'and'} "
           f"{_pct(first[f'{best} share of bits'])} "
           f"of the {best}'s bits ({first[f'{best} BPC']:.2f} bits each); a letter inside a word is "
           f"{_pct(inner['share of chars'])} of the characters and takes "
           f"{_pct(inner[f'{best} share of bits'])} ({inner[f'{best} BPC']:.2f} bits each)."]
    gain = saving_by_kind(df, default, best).set_index("kind")
    top = gain["share of saving"].idxmax()
    steep = gain[gain["chars"] >= 0.01 * gain["chars"].sum()]["saving per char"]
    steepest = steep.idxmax()
    total = rows.loc["all", f"{default} BPC"] - rows.loc["all", f"{best} BPC"]
    out.append(f"Against the {default}, the {best} saves {total:.2f} bits per character; "
               f"the largest part of the saving, {_pct(gain.loc[top, 'share of saving'])}, is on "
               f"{_kind_plural(top)} ({rows.loc[top, f'{default} BPC']:.2f} to "
               f"{rows.loc[top, f'{best} BPC']:.2f} bits each), and the steepest fall per "
               f"character among kinds of at least 1% of the text is on {_kind_plural(steepest)} "
               f"({rows.loc[steepest, f'{default} BPC']:.2f} to {rows.loc[steepest, f'{best} BPC']:.2f}).")
    vs = saving_by_kind(df, ngram, best).set_index("kind")
    common = vs[vs["chars"] >= 0.01 * vs["chars"].sum()]["saving per char"]
    ahead, behind = common.idxmax(), common.idxmin()
    lead = "ahead of" if common[behind] > 0 else "behind"
    out.append(f"Against the {ngram}, the {best} gains most on {_kind_plural(ahead)} "
               f"({common[ahead]:+.2f} bits each in its favour) and least on "
               f"{_kind_plural(behind)} ({common[behind]:+.2f}, {lead} the n-gram there).")
    return " ".join(out)


_PLURALS = {"first letter of a word": "first letters of words",
            "letter inside a word": "letters inside words", "capital": "capitals",
            "digit": "digits", "space": "spaces", "newline": "newlines",
            "punctuation and other": "punctuation and other symbols"}


def _kind_plural(kind: str) -> str:
    return _PLURALS.get(kind, kind)


# ---------------------------------------------------------------- the cells

UNITS_CAPTION = ("The unit whose activation follows each property most closely (absolute "
                 "correlation over the whole large test file), in the best model and in an "
                 f"untrained model of the same shape (the control). Found: at least "
                 f"{FOUND_MARGIN} above the control's best.")


def units_table(found: pd.DataFrame, caption: str = UNITS_CAPTION):
    """:func:`charlm.inside.found_units` as a table."""
    df = found.drop(columns=["unit"]).rename(columns={"name": "best unit (best model)",
                                                      "control name": "best unit (control)"})
    df["found"] = df["found"].map({True: "yes", False: "no"})
    return table(df, formats={"r": "{:+.3f}", "control r": "{:+.3f}"}, caption=caption)


def unit_scale(states: States, unit: int, quantile: float = 0.99) -> float:
    """The unit's usual range: the ``quantile`` of its absolute activation (1 if it is 0)."""
    q = float(np.quantile(np.abs(states.column(unit)), quantile))
    return q if q > 0 else 1.0


def unit_values(states: States, unit: int, r: float, scale: float) -> np.ndarray:
    """The unit's activation over its usual range, its sign turned so that a positive value
    means the property holds (the sign of its correlation ``r``)."""
    return np.sign(r or 1.0) * states.column(unit) / scale


def unit_views(text: str, start: int, stop: int, states: States, found: pd.DataFrame):
    """Each property's best unit as coloured text over ``text[start:stop]`` (``states`` of the
    whole text), next to its score, as one HTML output."""
    piece = states.slice(start, stop)
    views = []
    for _, row in found.iterrows():
        verdict = "found" if row["found"] else "not found"
        label = (f"{row['property']}: {row['name']}, r = {row['r']:+.2f} (the control's best: "
                 f"{row['control r']:+.2f}): {verdict}")
        values = unit_values(piece, int(row["unit"]), row["r"], unit_scale(states, int(row["unit"])))
        views.append((label, text[start:stop], values, UNIT))
    return HTML(views_html(views, titles=False))


def units_sentence(found: pd.DataFrame, margin: float = FOUND_MARGIN) -> str:
    """What was found and what was not, plainly."""
    def one(row) -> str:
        return (f"{row['property']} ({row['name']}, r = {row['r']:+.2f}; the control's best "
                f"{row['control r']:+.2f})")

    yes = [one(r) for _, r in found.iterrows() if r["found"]]
    no = [one(r) for _, r in found.iterrows() if not r["found"]]
    out = []
    if yes:
        out.append(f"Found, a unit at least {margin} above the control: {'; '.join(yes)}.")
    else:
        out.append(f"No property has a unit at least {margin} above the control.")
    if no:
        out.append(f"Not found: {'; '.join(no)}: no unit of the best model follows "
                   f"{'it' if len(no) == 1 else 'them'} clearly better than a unit of the "
                   f"untrained model does.")
    return " ".join(out)


# ---------------------------------------------------------------- the live box


def live_box(model, found: pd.DataFrame, states: States, text: str = ""):
    """An ``ipywidgets`` box: a text area and a choice of unit (each property's best, or any
    unit by number); every change colours the typed text by the model's surprisal and by the
    chosen unit (scaled by its usual range over ``states``), read from the zero state. A text
    the model cannot read shows the error instead."""
    import ipywidgets as widgets  # only in JupyterLab

    choices = {f"{r.property}: {r.name}": (int(r.unit), float(r.r)) for r in found.itertuples()}
    box = widgets.Textarea(value=text, description="text", layout=widgets.Layout(width="90%", height="7em"),
                           continuous_update=False)
    pick = widgets.Dropdown(options=list(choices), description="unit")
    number = widgets.BoundedIntText(value=choices[pick.value][0], min=0, max=states.n_units - 1,
                                    description="unit number")
    out = widgets.HTML()

    def update(*_):
        try:
            shown = box.value if len(box.value) >= 2 else box.value + " "
            typed = record_states(model, shown)
        except CharlmError as exc:
            out.value = f'<p style="color:#a00">{html.escape(str(exc))}</p>'
            return
        unit = number.value
        r = choices[pick.value][1] if unit == choices[pick.value][0] else 1.0
        values = unit_values(typed, unit, r, unit_scale(states, unit))
        out.value = views_html([(f"bits (mean {np.nanmean(typed.bits):.2f})", shown, typed.bits, BITS),
                                (states.name(unit), shown, values, UNIT)])

    def picked(_):
        number.value = choices[pick.value][0]

    pick.observe(picked, "value")
    for control in (box, number):
        control.observe(update, "value")
    update()
    return widgets.VBox([box, widgets.HBox([pick, number]), out])


__all__ = ["BITS", "DIFFERENCE", "SCALES", "UNIT", "Scale", "coloured_html", "kinds_paragraph",
           "kinds_rules_table", "kinds_table", "legend_html", "live_box", "passage",
           "passage_sentence", "saving_by_kind", "surprisal_views", "unit_scale", "unit_values",
           "unit_views", "units_sentence", "units_table", "views_html"]
