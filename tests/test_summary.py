"""Study summaries: loss-curve statistics, one-at-a-time labels, the temperature grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.errors import CharlmError
from charlm.studies.summary import curve_stats, format_value, param_effects, varied_label, varied_params
from charlm.studies.temperature import temperature_grid


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
