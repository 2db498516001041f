"""Claims checked against the run (charlm.report.claims), and study summaries."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.errors import CharlmError
from charlm.report.claims import temperature_checks
from charlm.studies.summary import curve_stats, format_value, param_effects, varied_label, varied_params
from charlm.studies.temperature import summarise, temperature_grid


def _curve(start, end, n=300, noise=0.02, seed=0, wobble=0.0):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, n)
    base = end + (start - end) * np.exp(-6 * x)
    return list(base + rng.normal(0, noise, n) + wobble * np.sign(np.sin(40 * x)))


def test_curve_stats_reads_start_final_and_jumpiness():
    st = curve_stats([4.6] + [2.0] * 89 + [1.8] * 10, plot_every=10)
    assert st["start"] == 4.6 and st["final"] == pytest.approx(1.8) and st["tail_iterations"] == 100
    calm, jumpy = curve_stats(_curve(4.6, 2.0), 10), curve_stats(_curve(4.6, 2.0, wobble=0.3), 10)
    assert jumpy["roughness"] > 3 * calm["roughness"]
    assert math.isnan(curve_stats([], 10)["final"])




def _measured(rows, reference=None):
    """A summarise() table from hand-made per-sample measures: ``rows`` maps a temperature to
    (distinct_chars, in_vocab, repeat_4gram, distinct_words) per seed; ``reference`` gives one
    such tuple."""
    def rec(decoding, t, seed, d, v, r, w):
        return {"decoding": decoding, "temperature": t, "seed": seed, "distinct_chars": d,
                "in_vocab": v, "distinct_words": w, "repeat_4gram": r, "bpc": 1.0,
                "entropy_bits": 1.0}

    recs = [rec("sample", t, i, *m) for t, seeds in rows.items() for i, m in enumerate(seeds)]
    if reference is not None:
        recs.append(rec("reference", math.nan, 0, *reference))
    return summarise(pd.DataFrame(recs))


def test_temperature_checks_read_the_measured_table():
    # the sample of issue 18: few distinct words (16 of 46) though few 4-grams repeat (2%)
    loop, prose = [(15, 1.0, 0.02, 0.35), (17, 0.95, 0.10, 0.25)], [(30, 0.9, 0.0, 0.6)] * 2
    noise = [(70, 0.2, 0.0, 0.95)] * 2
    as_reported = _measured({0.1: loop, 0.5: prose, 1.0: prose, 2.0: noise},
                            reference=(35, 0.97, 0.0, 0.81))
    checks = temperature_checks(as_reported)
    assert [c.agrees for c in checks] == [True, True, True]
    assert "fewer than 50% of its words are distinct" in checks[1].claim
    assert checks[1].observed.startswith("30% are (25% to 35% across its 2 samples), and 6% of "
                                         "its word 4-grams repeat an earlier one")
    assert checks[1].observed.endswith("; real held-out text: 81% and 0%")
    assert "(2 samples each)" in checks[0].observed and "distinct words +" in checks[0].observed
    assert "fewer than 50% of its words" in checks[2].claim
    assert "real held-out text: 97%" in checks[2].observed
    flipped = temperature_checks(_measured({0.1: noise, 1.0: prose, 2.0: loop}))
    assert [c.agrees for c in flipped] == [False, False, False]
    assert "real held-out" not in flipped[1].observed + flipped[2].observed
    # a stricter reading of "a few words" disagrees with the same data
    assert temperature_checks(as_reported, distinct_share=0.2)[1].agrees is False
    # no words at all: not checkable; too few temperatures for a rank correlation
    wordless = temperature_checks(_measured({0.1: [(3, math.nan, math.nan, math.nan)],
                                             2.0: [(9, math.nan, math.nan, math.nan)]}))
    assert [c.agrees for c in wordless] == [None, None, None]
    # neither end of the range reaches the reference's temperatures; unequal seed counts
    middle = temperature_checks(_measured({0.5: prose, 0.8: prose[:1], 1.0: noise}))
    assert len(middle) == 1 and "(1 to 2 samples each)" in middle[0].observed
    assert temperature_checks(_measured({}, reference=(35, 0.97, 0.01, 0.8))) == []


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
    assert effects["lr"] == [(0.005, 2.2, 1.0), (0.01, 2.1, 1.0)]  # trends: test_sections_tuning
    assert [format_value(v) for v in (0.005, 128, np.float64(0.01), True, "lstm")] == \
        ["0.005", "128", "0.01", "True", "lstm"]


def test_temperature_grid_is_exact():
    grid = temperature_grid(0.1, 2.0, 0.1)
    assert len(grid) == 20 and grid[0] == 0.1 and grid[2] == 0.3 and grid[-1] == 2.0
    assert temperature_grid(0.5, 1.5, 0.25) == [0.5, 0.75, 1.0, 1.25, 1.5]
    for bad in ((0, 2, 0.1), (1, 0.5, 0.1), (0.1, 2, float("nan"))):
        with pytest.raises(CharlmError):
            temperature_grid(*bad)
