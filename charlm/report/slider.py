"""The temperature slider, twice: live in JupyterLab, static in the HTML report.

* :func:`live_slider` is an ``ipywidgets`` slider plus a priming-text box; every change
  calls :func:`charlm.sample.generate` with the trained model (needs a running kernel).
* :func:`static_slider` needs no kernel: the samples are generated beforehand, one per
  temperature of a grid, and written into the page as HTML-escaped ``<pre>`` blocks; an
  ``<input type="range">`` and a few lines of script show the one for the chosen
  temperature. Without script (or when printed) the page still shows the initial sample, and
  the print stylesheet shows them all.

Generated text is data, never markup: every sample goes through :func:`html.escape`, so a
model that writes ``<script>`` (the vocabulary has ``<``, ``>`` and ``&``) shows it as text.
"""

from __future__ import annotations

import hashlib
import html
from typing import Mapping, Sequence

import numpy as np

from ..data import normalise
from ..errors import CharlmError
from ..model import CharRNN
from ..sample import generate


_STYLE = """<style>
.charlm-slider { border: 1px solid #ccc; border-radius: 4px; padding: 0.6em 0.8em; margin: 0.5em 0; }
.charlm-slider label { font-weight: bold; margin-right: 0.6em; }
.charlm-slider input[type=range] { width: 22em; max-width: 100%; vertical-align: middle; }
.charlm-slider pre { white-space: pre-wrap; word-break: break-word; background: #f7f7f7;
  padding: 0.5em; margin: 0.5em 0 0 0; min-height: 6em; }
.charlm-slider pre[hidden] { display: none; }
.charlm-slider .charlm-prime { color: #1a5fb4; font-weight: bold; }
@media print {
  .charlm-slider input, .charlm-slider .charlm-controls { display: none; }
  .charlm-slider pre[hidden] { display: block; }
  .charlm-slider pre::before { content: "T = " attr(data-temperature) ":  "; font-weight: bold; }
}
</style>"""

_SCRIPT = """<script>
(function () {
  var root = document.getElementById("%(uid)s");
  if (!root) { return; }
  var range = root.querySelector("input[type=range]");
  var value = root.querySelector("output");
  var samples = root.querySelectorAll("pre[data-temperature]");
  function show() {
    var i = Number(range.value);
    for (var j = 0; j < samples.length; j++) { samples[j].hidden = (j !== i); }
    value.textContent = samples[i].getAttribute("data-temperature");
    range.setAttribute("aria-valuetext", "temperature " + value.textContent);
  }
  range.addEventListener("input", show);
  range.addEventListener("change", show);
  show();
})();
</script>"""


def static_slider(
    samples: Mapping[float, str], prime: str = "", initial: float | None = None
) -> str:
    """A self-contained HTML snippet: a range input over the temperatures of ``samples``
    (temperature -> generated continuation) showing ``prime`` + the chosen sample.

    Needs no kernel, no network and no library: the samples are in the page, escaped with
    :func:`html.escape`, and a dozen lines of plain script switch which one is visible. The
    element id is derived from the content, so the same samples give the same HTML.
    """
    if not samples:
        raise CharlmError("static_slider needs at least one sample")
    temps = sorted(float(t) for t in samples)
    by_t = {float(t): s for t, s in samples.items()}
    start = 0 if initial is None else int(np.argmin([abs(t - initial) for t in temps]))
    digest = hashlib.sha256(repr((prime, [(t, by_t[t]) for t in temps])).encode()).hexdigest()
    uid = f"charlm-slider-{digest[:12]}"
    pres = []
    for i, t in enumerate(temps):
        hidden = "" if i == start else " hidden"
        pres.append(
            f'<pre data-temperature="{t:g}"{hidden}><span class="charlm-prime">'
            f"{html.escape(prime)}</span>{html.escape(by_t[t])}</pre>"
        )
    controls = (
        f'<div class="charlm-controls"><label for="{uid}-range">Temperature</label>'
        f'<input type="range" id="{uid}-range" min="0" max="{len(temps) - 1}" step="1" '
        f'value="{start}" aria-valuetext="temperature {temps[start]:g}"> '
        f'T = <output for="{uid}-range">{temps[start]:g}</output>'
        f' <small>(from {temps[0]:g} to {temps[-1]:g}; priming text in blue)</small></div>'
    )
    return "\n".join([_STYLE, f'<div class="charlm-slider" id="{uid}">', controls, *pres,
                      "</div>", _SCRIPT % {"uid": uid}])


def live_slider(
    model: CharRNN,
    prime: str = "A",
    predict_len: int = 200,
    seed: int | None = 0,
    temps: Sequence[float] = (0.1, 2.0),
    step: float = 0.1,
    value: float = 0.8,
):
    """An ``ipywidgets`` box: a temperature slider, a priming-text box and the sample.

    Every change generates a new sample with :func:`charlm.sample.generate`. With a fixed
    ``seed`` the random draws are the same for every temperature, so what changes when the
    slider moves is the effect of the temperature alone; "new draw" moves to the next seed.
    A priming text the model cannot read (e.g. a control character) shows the error instead.
    """
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=value, min=temps[0], max=temps[-1], step=step,
                                 description="temperature", continuous_update=False,
                                 readout_format=".1f", style={"description_width": "initial"})
    box = widgets.Text(value=prime, description="priming text", continuous_update=False)
    again = widgets.Button(description="new draw", tooltip="sample again with the next seed")
    out = widgets.HTML()
    state = {"seed": seed}

    def update(*_):
        try:
            prime_text = normalise(box.value, what="priming text")
            text = generate(model, box.value, predict_len, slider.value, seed=state["seed"])
        except CharlmError as exc:
            out.value = f'<p style="color:#a00">{html.escape(str(exc))}</p>'
            return
        out.value = (f'<pre style="white-space:pre-wrap"><b>{html.escape(prime_text)}</b>'
                     f"{html.escape(text[len(prime_text):])}</pre>")

    def redraw(_):
        state["seed"] = None if state["seed"] is None else state["seed"] + 1
        update()

    slider.observe(update, "value")
    box.observe(update, "value")
    again.on_click(redraw)
    update()
    return widgets.VBox([widgets.HBox([slider, box, again]), out])


__all__ = ["live_slider", "static_slider"]
