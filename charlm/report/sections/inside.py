"""Section "inside the model" (notebook 07 and Appendix G): the coloured text, the tables of
kinds and units, and the live text box for JupyterLab. What they show is computed once in
:mod:`charlm.studies.inside`; the prose around them is the notebooks' markdown.

The coloured text is static HTML: one element per character with a CSS class for its colour
bin and a ``title`` holding its value (the bits, shown on hover), every character escaped with
:func:`html.escape` (see :func:`coloured_html`). It needs no script and no network; newlines show as a visible mark before
the line break, every colour (the lightest too) is a tint, so that spaces show as coloured
boxes, and the print rules keep the backgrounds on paper.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import HTML

from ...errors import CharlmError, DataError
from ...inside import KIND_RULES, KINDS, record_states
from ...studies.inside import Recording
from ..display import table

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
             "bits")
_DIVERGING = ("#08519c", "#3182bd", "#6baed6", "#c6dbef", "#ececec", "#fcbba1", "#fb6a4a",
              "#de2d26", "#a50f15")
# The legends name the unit only; the captions (markdown) say what the colours mean.
DIFFERENCE = Scale("id", (-4, -2, -1, -0.25, 0.25, 1, 2, 4), _DIVERGING, "bits, best − default",
                   diverging=True)
UNIT = Scale("iu", (-0.75, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 0.75), _DIVERGING,
             "activation × sign(r) / usual range", diverging=True)
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


def surprisal_views(text: str, start: int, stop: int, default_bits: np.ndarray,
                    best_bits: np.ndarray, names: tuple[str, str] = ("default model", "best model")):
    """The passage ``text[start:stop]`` three times: coloured by the default model's bits, by
    the best model's, and by the difference (best minus default), as one HTML output. The bits
    are of the whole text, one per character (NaN first), so the passage is read with the
    state of all the text before it."""
    piece = text[start:stop]
    d, b = np.asarray(default_bits)[start:stop], np.asarray(best_bits)[start:stop]
    views = [(names[0], piece, d, BITS), (names[1], piece, b, BITS),
             (f"{names[1]} minus {names[0]}", piece, b - d, DIFFERENCE)]
    return HTML(views_html(views))


def kinds_rules_table():
    """The kinds of character and the rule for each (the first rule that applies wins)."""
    return table(pd.DataFrame({"kind": list(KINDS), "rule (the first that applies)": [KIND_RULES[k] for k in KINDS]}))


def kinds_table(df: pd.DataFrame):
    """:func:`charlm.inside.bits_by_kind` as a table: shares as percentages, BPC to 3 places."""
    formats = {c: "{:.1%}" for c in df.columns if "share" in c}
    formats |= {c: "{:.3f}" for c in df.columns if c.endswith("BPC")}
    formats["chars"] = "{:,}"
    return table(df, formats=formats)


def units_table(found: pd.DataFrame):
    """:func:`charlm.inside.found_units` as a table."""
    df = found.drop(columns=["unit"]).rename(columns={"name": "best unit (best model)",
                                                      "control name": "best unit (control)"})
    df["found"] = df["found"].map({True: "yes", False: "no"})
    return table(df, formats={"r": "{:+.3f}", "control r": "{:+.3f}"})


def unit_values(activation: np.ndarray, r: float, scale: float) -> np.ndarray:
    """A unit's activation over its usual range ``scale``, times the sign of its correlation
    ``r``, so that a positive value means the property holds."""
    return np.sign(r or 1.0) * np.asarray(activation) / scale


def unit_views(text: str, start: int, stop: int, rec: Recording, found: pd.DataFrame):
    """Each property's best unit as coloured text over ``text[start:stop]`` (``rec``: the
    recording of the whole text), labelled with its correlation, the control's and the
    verdict, as one HTML output."""
    views = []
    for _, row in found.iterrows():
        unit = int(row["unit"])
        verdict = "found" if row["found"] else "not found"
        label = f"{row['property']}: {row['name']}, r = {row['r']:+.2f}, control {row['control r']:+.2f}, {verdict}"
        values = unit_values(rec.traces[unit][start:stop], row["r"], rec.scales[unit])
        views.append((label, text[start:stop], values, UNIT))
    return HTML(views_html(views, titles=False))


# ---------------------------------------------------------------- the live box


def live_box(model, found: pd.DataFrame, rec: Recording, text: str = ""):
    """An ``ipywidgets`` box: a text area and a choice of unit (each property's best, or any
    unit by number); every change colours the typed text by the model's surprisal and by the
    chosen unit (scaled by its usual range in ``rec``), read from the zero state. A text the
    model cannot read shows the error instead."""
    import ipywidgets as widgets  # only in JupyterLab

    choices = {f"{r.property}: {r.name}": (int(r.unit), float(r.r)) for r in found.itertuples()}
    box = widgets.Textarea(value=text, description="text", layout=widgets.Layout(width="90%", height="7em"),
                           continuous_update=False)
    pick = widgets.Dropdown(options=list(choices), description="unit")
    number = widgets.BoundedIntText(value=choices[pick.value][0], min=0, max=rec.n_units - 1,
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
        values = unit_values(typed.column(unit), r, rec.scales[unit])
        out.value = views_html([(f"bits (mean {np.nanmean(typed.bits):.2f})", shown, typed.bits, BITS),
                                (rec.name(unit), shown, values, UNIT)])

    def picked(_):
        number.value = choices[pick.value][0]

    pick.observe(picked, "value")
    for control in (box, number):
        control.observe(update, "value")
    update()
    return widgets.VBox([box, widgets.HBox([pick, number]), out])


__all__ = ["BITS", "DIFFERENCE", "SCALES", "UNIT", "Scale", "coloured_html", "kinds_rules_table",
           "kinds_table", "legend_html", "live_box", "surprisal_views", "unit_values", "unit_views",
           "units_table", "views_html"]
