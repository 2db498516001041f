"""The temperature sliders (charlm.report.slider): the static one, escaped and deterministic,
and the live one, which samples again on every change."""

from __future__ import annotations

import re

import pytest

from charlm.errors import CharlmError
from charlm.report.slider import static_slider


def test_static_slider_is_escaped_deterministic_and_starts_where_asked():
    samples = {0.5: "a <b> & c", 1.0: "plain", 2.0: "</pre><script>alert(1)</script>"}
    html = static_slider(samples, prime="It <was>", initial=1.0)
    assert html == static_slider(samples, prime="It <was>", initial=1.0)
    assert "<script>alert(1)" not in html and "&lt;/pre&gt;&lt;script&gt;" in html
    assert "a &lt;b&gt; &amp; c" in html and "It &lt;was&gt;" in html
    pres = re.findall(r'<pre data-value="([^"]+)" data-symbol="T"( hidden)?>', html)
    assert [(t, h) for t, h in pres] == [("0.5", " hidden"), ("1", ""), ("2", " hidden")]
    assert 'min="0" max="2"' in html and 'value="1"' in html
    with pytest.raises(CharlmError):
        static_slider({})
    with pytest.raises(CharlmError, match="control must be one of"):
        static_slider(samples, control="top_q")
    cut = static_slider({2: "x", 40: "y"}, control="top_k", note="at T = 1")
    assert re.findall(r'<pre data-value="([^"]+)" data-symbol="k"', cut) == ["2", "40"]
    assert "Top-k</label>" in cut and "at T = 1" in cut


def test_live_slider_regenerates_on_change_and_shows_errors_as_text():
    pytest.importorskip("ipywidgets")
    from charlm import TrainConfig, build_model
    from charlm.report.slider import live_slider

    box = live_slider(build_model(TrainConfig(hidden_size=8, n_layers=1)), prime="It was",
                      predict_len=30, seed=3)
    (slider, prime_box, _again), out = box.children[0].children, box.children[-1]
    top_k, top_p = box.children[1].children
    first = out.value
    assert first.startswith("<pre") and "<b>It was</b>" in first
    slider.value = 2.0
    assert out.value != first
    prime_box.value = "a <b> & c"
    assert "<b>a &lt;b&gt; &amp; c</b>" in out.value
    prime_box.value = "bad \x01"
    assert out.value.startswith('<p style="color:#a00">') and "not in the vocabulary" in out.value
    prime_box.value = "It was"
    top_k.value = 1  # top-k 1 is greedy decoding, whatever the temperature
    greedy = out.value
    slider.value = 0.5
    assert out.value == greedy
    top_k.value = 0
    uncut = out.value
    top_p.value = 0.05  # the nucleus changes the draw
    assert out.value != uncut and out.value.startswith("<pre")
