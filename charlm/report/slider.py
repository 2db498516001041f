"""The sampling sliders, twice: live in JupyterLab, static in the HTML report.

* :func:`live_slider` is an ``ipywidgets`` temperature slider, top-k and top-p sliders and a
  priming-text box; every change calls :func:`charlm.sample.generate` with the trained model
  (needs a running kernel).
* :func:`static_slider` needs no kernel: the samples are generated beforehand, one per
  value of a grid (of temperatures, or of top-k or top-p cuts), and written into the page as
  HTML-escaped ``<pre>`` blocks; an
  ``<input type="range">`` and a few lines of script show the one for the chosen
  value. Without script (or when printed) the page still shows the initial sample, and
  the print stylesheet shows them all.

Generated text is data, never markup: every sample goes through :func:`html.escape`, so a
model that writes ``<script>`` (the vocabulary has ``<``, ``>`` and ``&``) shows it as text.
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..data import VOCAB_SIZE, normalise
from ..errors import CharlmError
from ..model import CharRNN
from ..sample import generate

TEMPLATES = Path(__file__).parent / "templates"


# The slider's stylesheet and script (package data beside the report's template): a
# ``<style>`` block, and a ``<script>`` formatted with ``%(uid)s`` (the element) and ``%(name)s``.
_STYLE = (TEMPLATES / "slider.css.j2").read_text()
_SCRIPT = (TEMPLATES / "slider.js.j2").read_text()


# What a static slider can run over: (label, symbol) of each control.
CONTROLS = {"temperature": ("Temperature", "T"), "top_k": ("Top-k", "k"), "top_p": ("Top-p", "p")}


def static_slider(
    samples: Mapping[float, str], prime: str = "", initial: float | None = None,
    control: str = "temperature", note: str = "",
) -> str:
    """A self-contained HTML snippet: a range input over the values of ``samples``
    (value of ``control`` -> generated continuation) showing ``prime`` + the chosen sample.
    ``control`` is one of :data:`CONTROLS`; ``note`` is added to the controls' small print
    (e.g. the temperature a top-p grid was sampled at).

    Needs no kernel, no network and no library: the samples are in the page, escaped with
    :func:`html.escape`, and a dozen lines of plain script switch which one is visible. The
    element id is derived from the content, so the same samples give the same HTML.
    """
    if not samples:
        raise CharlmError("static_slider needs at least one sample")
    if control not in CONTROLS:
        raise CharlmError(f"control must be one of {', '.join(CONTROLS)}, got {control!r}")
    label, symbol = CONTROLS[control]
    values = sorted(float(t) for t in samples)
    by_v = {float(t): s for t, s in samples.items()}
    start = 0 if initial is None else int(np.argmin([abs(t - initial) for t in values]))
    digest = hashlib.sha256(repr((control, prime, [(t, by_v[t]) for t in values])).encode()).hexdigest()
    uid = f"charlm-slider-{digest[:12]}"
    pres = [f'<pre data-value="{t:g}" data-symbol="{symbol}"{"" if i == start else " hidden"}>'
            f'<span class="charlm-prime">{html.escape(prime)}</span>{html.escape(by_v[t])}</pre>'
            for i, t in enumerate(values)]
    small = f"from {values[0]:g} to {values[-1]:g}; " + (f"{html.escape(note)}; " if note else "")
    controls = (f'<div class="charlm-controls"><label for="{uid}-range">{label}</label>'
                f'<input type="range" id="{uid}-range" min="0" max="{len(values) - 1}" step="1" '
                f'value="{start}" aria-valuetext="{label.lower()} {values[start]:g}"> '
                f'{symbol} = <output for="{uid}-range">{values[start]:g}</output>'
                f' <small>({small}priming text in blue)</small></div>')
    return "\n".join([_STYLE, f'<div class="charlm-slider" id="{uid}">', controls, *pres,
                      "</div>", _SCRIPT % {"uid": uid, "name": label.lower()}])


def live_slider(
    model: CharRNN,
    prime: str = "A",
    predict_len: int = 200,
    seed: int | None = 0,
    temps: Sequence[float] = (0.1, 2.0),
    step: float = 0.1,
    value: float = 0.8,
):
    """An ``ipywidgets`` box: a temperature slider, a priming-text box, top-k and top-p sliders
    (0 and 1 are off) and the sample.

    Every change generates a new sample with :func:`charlm.sample.generate`. With a fixed
    ``seed`` the random draws are the same for every temperature, so what changes when the
    slider moves is the effect of the temperature alone; "new draw" moves to the next seed.
    A priming text the model cannot read (e.g. a control character) shows the error instead.
    """
    import ipywidgets as widgets

    opts = {"continuous_update": False, "style": {"description_width": "initial"}}  # on release
    slider = widgets.FloatSlider(value=value, min=temps[0], max=temps[-1], step=step,
                                 description="temperature", readout_format=".1f", **opts)
    box = widgets.Text(value=prime, description="priming text", continuous_update=False)
    again = widgets.Button(description="new draw", tooltip="sample again with the next seed")
    top_k = widgets.IntSlider(value=0, min=0, max=VOCAB_SIZE, step=1, description="top-k (0 = off)",
                              **opts)
    top_p = widgets.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05,
                                description="top-p (1 = off)", readout_format=".2f", **opts)
    out = widgets.HTML()
    state = {"seed": seed}

    def update(*_):
        try:
            prime_text = normalise(box.value, what="priming text")
            text = generate(model, box.value, predict_len, slider.value, seed=state["seed"],
                            top_k=top_k.value, top_p=top_p.value)
        except CharlmError as exc:
            out.value = f'<p style="color:#a00">{html.escape(str(exc))}</p>'
            return
        out.value = (f'<pre style="white-space:pre-wrap"><b>{html.escape(prime_text)}</b>'
                     f"{html.escape(text[len(prime_text):])}</pre>")

    def redraw(_):
        state["seed"] = None if state["seed"] is None else state["seed"] + 1
        update()

    for control in (slider, box, top_k, top_p):
        control.observe(update, "value")
    again.on_click(redraw)
    update()
    return widgets.VBox([widgets.HBox([slider, box, again]), widgets.HBox([top_k, top_p]), out])


__all__ = ["live_slider", "static_slider"]
