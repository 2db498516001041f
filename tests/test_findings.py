"""The report's helpers that need no kernel: conclusion checks, sample measures, the slider."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.errors import CharlmError
from charlm.report.claims import default_run_checks, lr_checks, temperature_checks, verdict
from charlm.studies.summary import (curve_stats, describe_trend, param_effects, varied_label, varied_params)
from charlm.studies.temperature import sample_stats
from charlm.report.slider import static_slider
from charlm.studies.temperature import temperature_grid


def _curve(start, end, n=300, noise=0.02, seed=0, wobble=0.0):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, n)
    base = end + (start - end) * np.exp(-6 * x)
    return list(base + rng.normal(0, noise, n) + wobble * np.sign(np.sin(40 * x)))


def _lr_run(lr, hist, status="ok", n_epochs=3000):
    return dict(curve_stats(hist, 10), lr=lr, status=status, n_epochs=n_epochs)


def test_curve_stats_reads_start_final_and_jumpiness():
    st = curve_stats([4.6] + [2.0] * 89 + [1.8] * 10, plot_every=10)
    assert st["start"] == 4.6 and st["final"] == pytest.approx(1.8) and st["tail_iterations"] == 100
    calm, jumpy = curve_stats(_curve(4.6, 2.0), 10), curve_stats(_curve(4.6, 2.0, wobble=0.3), 10)
    assert jumpy["roughness"] > 3 * calm["roughness"]
    assert math.isnan(curve_stats([], 10)["final"])


def test_default_run_checks_agree_disagree_or_say_not_comparable():
    good = default_run_checks(_curve(4.6, 1.75), 10, 3000)
    assert [c.agrees for c in good] == [True, True]
    bad = default_run_checks(_curve(4.6, 2.3), 10, 3000)
    assert bad[1].agrees is False and "2.3" in bad[1].observed
    assert "disagrees with 1 of 2" in verdict(bad)
    quick = default_run_checks(_curve(4.6, 3.0, n=10), 3, 30)
    assert all(c.agrees is None for c in quick) and "not comparable" in quick[0].observed


def test_lr_checks_follow_the_data_not_the_reference():
    as_reported = [_lr_run(0.0001, _curve(4.6, 2.4)), _lr_run(0.001, _curve(4.6, 1.9)),
                   _lr_run(0.005, _curve(4.6, 1.7)), _lr_run(0.01, _curve(4.6, 1.72)),
                   _lr_run(0.1, _curve(4.6, 2.3, wobble=0.3))]
    checks = lr_checks(as_reported)
    assert all(c.agrees for c in checks), [(c.claim, c.observed) for c in checks]
    # a run where the large rate is calm and best, and the small one is not the worst
    contrary = [_lr_run(0.0001, _curve(4.6, 2.0)), _lr_run(0.005, _curve(4.6, 2.1)),
                _lr_run(0.01, _curve(4.6, 2.2)), _lr_run(0.1, _curve(4.6, 1.6))]
    by_claim = {c.claim: c for c in lr_checks(contrary)}
    osc = next(c for k, c in by_claim.items() if "oscillate" in k)
    assert osc.agrees is False and "lr=0.1" in osc.observed
    assert next(c for k, c in by_claim.items() if "did best" in k).agrees is False
    assert "disagrees" in verdict(list(by_claim.values()))
    diverged = lr_checks([_lr_run(0.001, _curve(4.6, 2.0)), _lr_run(0.1, [4.6, 9.0], status="diverged")])
    assert any(c.claim == "lr=0.1 trains" and c.agrees is False for c in diverged)


def test_sample_stats_and_temperature_checks():
    known = {"the", "said", "and", "of"}
    loop = sample_stats("the said the said the said the said the said the said", known)
    noise = sample_stats("xq#Zb! k;3Lp wQz&$ 7gYv+ nRt", known)
    assert loop["repeated 10-grams"] > 0.8 and loop["known words"] == 1.0
    assert noise["repeated 10-grams"] == 0 and noise["known words"] == 0
    stats = {0.1: loop, 1.0: sample_stats("the old man said little of it", known), 2.0: noise}
    assert [c.agrees for c in temperature_checks(stats)] == [True, True, True]
    flipped = {0.1: noise, 1.0: stats[1.0], 2.0: loop}
    assert [c.agrees for c in temperature_checks(flipped)] == [False, False, False]


def test_study_helpers_label_and_summarise_one_at_a_time_runs():
    base = TrainConfig()
    configs = [base, base.replace(hidden_size=64), base.replace(lr=0.01)]
    assert varied_params(configs, base) == ["hidden_size", "lr"]
    df = pd.DataFrame([dict(c.to_dict(), status="ok", bpc_test=b, wall_time_s=60.0)
                       for c, b in zip(configs, [2.2, 2.4, 2.1])])
    b = base.to_dict()
    assert varied_label(df.iloc[0], b, ["hidden_size", "lr"]) == "base"
    assert varied_label(df.iloc[2], b, ["hidden_size", "lr"]) == "lr = 0.01"
    effects = param_effects(df, b, ["hidden_size", "lr"])
    assert effects["hidden_size"] == [(64, 2.4, 1.0), (128, 2.2, 1.0)]
    assert "BPC falls as it grows" in describe_trend(effects["hidden_size"], "hidden_size")
    assert "spread is 0.100" in describe_trend(effects["lr"], "lr")


def test_temperature_grid_is_exact():
    grid = temperature_grid(0.1, 2.0, 0.1)
    assert len(grid) == 20 and grid[0] == 0.1 and grid[2] == 0.3 and grid[-1] == 2.0
    assert temperature_grid(0.5, 1.5, 0.25) == [0.5, 0.75, 1.0, 1.25, 1.5]
    for bad in ((0, 2, 0.1), (1, 0.5, 0.1), (0.1, 2, float("nan"))):
        with pytest.raises(CharlmError):
            temperature_grid(*bad)


def test_static_slider_is_escaped_deterministic_and_starts_where_asked():
    samples = {0.5: "a <b> & c", 1.0: "plain", 2.0: "</pre><script>alert(1)</script>"}
    html = static_slider(samples, prime="It <was>", initial=1.0)
    assert html == static_slider(samples, prime="It <was>", initial=1.0)
    assert "<script>alert(1)" not in html and "&lt;/pre&gt;&lt;script&gt;" in html
    assert "a &lt;b&gt; &amp; c" in html and "It &lt;was&gt;" in html
    pres = re.findall(r'<pre data-temperature="([^"]+)"( hidden)?>', html)
    assert [(t, h) for t, h in pres] == [("0.5", " hidden"), ("1", ""), ("2", " hidden")]
    assert 'min="0" max="2"' in html and 'value="1"' in html
    with pytest.raises(CharlmError):
        static_slider({})


def test_live_slider_regenerates_on_change_and_shows_errors_as_text():
    pytest.importorskip("ipywidgets")
    from charlm import TrainConfig, build_model
    from charlm.report.slider import live_slider

    box = live_slider(build_model(TrainConfig(hidden_size=8, n_layers=1)), prime="It was",
                      predict_len=30, seed=3)
    (slider, prime_box, _again), out = box.children[0].children, box.children[1]
    first = out.value
    assert first.startswith("<pre") and "<b>It was</b>" in first
    slider.value = 2.0
    assert out.value != first
    prime_box.value = "a <b> & c"
    assert "<b>a &lt;b&gt; &amp; c</b>" in out.value
    prime_box.value = "bad \x01"
    assert out.value.startswith('<p style="color:#a00">') and "not in the vocabulary" in out.value
