"""Part 4.3 (charlm.studies.learning_rates, its facts and table): the paired comparison of two
curves, the rules of the claims on hand-made curves, and, marked slow, a tiny study end to
end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from charlm import TrainConfig
from charlm.report.plots import plot_lr_curves
from charlm.report.sections import learning_rate
from charlm.studies.learning_rates import (LrStudy, best_two, comparable, ended_highest, final_near,
                                           jumpiness_ratio, learns_slowly, lr_configs, lr_study,
                                           oscillates, run_lr_study)
from charlm.studies.summary import curve_stats, paired_gap, t95
from charlm.studies.tuning_facts import agreement, lr_facts, tie_verdict


def _curve(start, end, n=300, noise=0.02, seed=0, wobble=0.0, shared=None):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, n)
    out = end + (start - end) * np.exp(-6 * x) + rng.normal(0, noise, n)
    out += wobble * np.sign(np.sin(40 * x))
    return list(out + (shared if shared is not None else 0))


def _study(curves: dict[float, list[float]], status=None, n_epochs=3000) -> LrStudy:
    status = status or {}
    stats, runs = [], []
    for lr, h in curves.items():
        about = dict(lr=lr, status=status.get(lr, "ok"), n_epochs=n_epochs, bpc=2.5)
        runs.append(dict(about, label=f"lr={lr:g}", history=h, plot_every=10, diverged_at=None))
        stats.append(dict(curve_stats(h, 10), **about))
    return LrStudy(tuple(runs), tuple(stats), 10)


# ---------------------------------------------------------------- the paired comparison


def test_a_paired_gap_cancels_the_chunks_both_curves_read():
    rng = np.random.default_rng(1)
    chunks = rng.normal(0, 0.2, 300)  # each point's chunks, hard or easy for both runs alike
    a = _curve(4.0, 1.70, noise=0.01, seed=2, shared=chunks)
    b = _curve(4.0, 1.73, noise=0.01, seed=3, shared=chunks)
    gap = paired_gap(a, b)
    assert gap.points == 30 and gap.batches == 5 and gap.dof == 4 and gap.t == pytest.approx(2.776)
    assert gap.gap == pytest.approx(curve_stats(a, 10)["final"] - curve_stats(b, 10)["final"])
    assert gap.gap == pytest.approx(-0.03, abs=0.01) and not gap.tie and gap.ratio > 5
    # the same gap is within the noise of two runs that read different chunks
    other = _curve(4.0, 1.73, noise=0.01, seed=3, shared=rng.normal(0, 0.2, 300))
    assert paired_gap(a, other).tie
    same = paired_gap(a, _curve(4.0, 1.70, noise=0.01, seed=4, shared=chunks))
    assert same.tie
    with pytest.raises(Exception, match="same length"):
        paired_gap(a, a[:-10])
    short = paired_gap([1.0, 2.0], [1.0, 2.5])  # too short for batches: no standard error
    assert math.isnan(short.se) and math.isnan(short.ratio) and short.tie


def test_t95_and_the_climbs_position():
    assert t95(1) == pytest.approx(12.706) and t95(5) == pytest.approx(2.571)
    assert t95(100) == pytest.approx(1.96) and math.isnan(t95(0))
    h = [3.0] * 40 + [2.0] * 20 + [2.6] * 10 + [2.0] * 30  # 100 points, a climb after point 60
    st = curve_stats(h, 10, smooth_window=1)
    assert st["rise"] == pytest.approx(0.6) and st["rise_at"] == 610


# ---------------------------------------------------------------- the claims


def _as_reported(wobble=0.3):
    return {0.0001: _curve(4.6, 3.4, seed=1), 0.001: _curve(4.6, 1.9, seed=2),
            0.005: _curve(4.6, 1.7, seed=3), 0.01: _curve(4.6, 1.75, seed=4),
            0.1: _curve(4.6, 2.3, seed=5, wobble=wobble)}


def test_the_claims_follow_the_data():
    s = _study(_as_reported())
    assert learns_slowly(s.ok) and oscillates(s.ok) and jumpiness_ratio(s.ok) > 1.5
    assert best_two(s) and ended_highest(s) and final_near(s, 0.0001, 3.4, 0.05)
    assert final_near(s, 0.1, 2.3) and not final_near(s, 0.1, 1.0)
    calm = _study(_as_reported(wobble=0.0))
    assert oscillates(calm.ok) is False and 0.8 < jumpiness_ratio(calm.ok) < 1.2
    # the large rate calm and best, the small one not the slowest or the highest
    contrary = _study({0.0001: _curve(3.0, 2.0, seed=1), 0.005: _curve(4.6, 2.1, seed=2),
                       0.01: _curve(4.6, 2.2, seed=3), 0.1: _curve(4.6, 1.6, seed=4)})
    assert learns_slowly(contrary.ok) is False and oscillates(contrary.ok) is False
    assert best_two(contrary) is False and ended_highest(contrary) is False


def test_claims_the_data_cannot_decide():
    chunks = np.random.default_rng(9).normal(0, 0.05, 300)
    # 0.0001 and 0.1 end 0.005 apart, reading the same chunks: a tie, not an order
    tie = _study({0.0001: _curve(4.6, 2.305, seed=1, shared=chunks), 0.005: _curve(4.6, 1.7, seed=2),
                  0.1: _curve(4.6, 2.30, seed=3, shared=chunks)})
    end = tie.end(highest=True)
    assert end.paired.tie and ended_highest(tie) is None and tie_verdict(end) == "tied"
    assert best_two(tie) is None  # 0.01 is not in the grid
    other_length = _study(_as_reported(), n_epochs=30)
    assert not comparable(other_length.stats)
    assert best_two(other_length) is None and final_near(other_length, 0.1, 2.3) is None
    assert learns_slowly([]) is None and oscillates(tie.ok[:1]) is None
    assert [agreement(v) for v in (True, False, None)] == ["yes", "NO", "n/a"]


def test_a_run_that_did_not_finish_counts_as_highest():
    curves = _as_reported()
    diverged = _study(curves, status={0.0001: "diverged"})
    assert len(diverged.ok) == 4 and ended_highest(diverged)
    assert ended_highest(_study(curves, status={0.1: "diverged"})) is False


# ---------------------------------------------------------------- facts and table


def test_lr_facts_of_made_up_curves():
    b = lr_facts(_study(_as_reported()), hidden_size=100, plot_every=10)
    assert (b.n_runs, b.n_failed, b.rates) == (5, 0, "0.0001, 0.001, 0.005, 0.01 and 0.1")
    assert repr(b.scale) == "0.10" and repr(b.large_ratio) == "1.0" and b.small_steps == 1000
    assert b.slow.lr == 0.0001 and b.large.lr == 0.1 and b.small.lr == 0.0001
    assert (b.low.first.lr, b.low.second.lr) == (0.005, 0.01) and b.low.verdict == "apart"
    assert b.oscillates == "yes" and b.osc_answer == "yes" and b.small_near == "NO"
    assert (b.n_held, b.n_claims) == (5, 6)  # the reference: 0.0001 ended near 2.4, here 3.4
    assert (b.batches, b.batch_points, b.tail_points, b.dof) == (5, 6, 30, 4)
    one = lr_facts(_study({0.01: _curve(4.6, 2.0)}), hidden_size=100, plot_every=10)
    assert one.low.verdict == "not compared" and one.osc_answer == "undecided"


def test_stats_table_shows_the_status_when_a_run_did_not_finish():
    s = _study(_as_reported(), status={0.1: "diverged"})
    assert list(learning_rate.stats_frame(s.stats).columns) == list(learning_rate.STATS_COLUMNS.values())
    assert "status" in learning_rate.stats_table(s).data
    assert "status" not in learning_rate.stats_table(_study(_as_reported())).data


@pytest.mark.parametrize("smooth_window, ylim, title", [
    (1, None, "Training loss by learning rate"),
    (10, (1.0, 3.0), "Training loss by learning rate, smoothed and zoomed"),
    (10, None, "Training loss by learning rate, smoothed"),
    (1, (1.0, 3.0), "Training loss by learning rate, zoomed"),
])
def test_plot_lr_curves_titles(tmp_path, smooth_window, ylim, title):
    runs = [{"label": "lr=0.01", "history": [4.0, 3.0, 2.5], "plot_every": 10}]
    [(path, fig)] = plot_lr_curves(runs, tmp_path / "lr.png", smooth_window=smooth_window, ylim=ylim)
    assert path.is_file() and fig.axes[0].get_title() == title


@pytest.mark.slow
def test_a_tiny_study_end_to_end(tmp_path):
    base = TrainConfig(n_epochs=30, hidden_size=16, n_layers=1, chunk_len=50, plot_every=3)
    configs = run_lr_study(base, "0.001,0.01,1000", tmp_path / "log.csv", workers=1)
    assert configs == lr_configs(base, "0.001,0.01,1000")
    s = lr_study(configs, 2)
    assert [c["status"] for c in s.curves] == ["ok", "ok", "diverged"] and len(s.ok) == 2
    assert s.curves[2]["diverged_at"] is not None
    b = lr_facts(s, 16, 3)
    # 10 points: the last tenth is one point, too few for a standard error
    assert b.n_failed == 1 and b.low.verdict == "not compared" and b.best_two == "n/a"
