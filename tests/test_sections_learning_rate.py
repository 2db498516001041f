"""The sentences, tables and figures of 4.3, the learning rate (notebook 03), on small
made-up inputs: no training and no data files."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.report.claims import Check
from charlm.report.plots import plot_lr_curves
from charlm.report.sections import learning_rate


@pytest.mark.parametrize("lrs, expected", [
    ([], "With hidden_size = 100 the LSTM's weights start within ±0.10."),
    ([0.1], ("lr = 0.1 (1.0 times that range), takes steps about as large as a weight itself, so its "
             "updates can be expected to overshoot")),
    ([0.0001, 0.5], "(5.0 times that range), takes steps several times as large as a weight itself"),
    ([0.001, 0.01], ("(0.1 times that range), takes steps a modest fraction of a weight, so no rate "
                     "here is expected to overshoot badly.")),
    ([0.0001, 0.1], ("The smallest, lr = 0.0001, would need about 1,000 steps, all in the same "
                     "direction, to move a weight by that much, so that model should learn slowly")),
    ([0.01, 0.1], ("The smallest, lr = 0.01, moves a weight by that much in about 10 steps, so no "
                   "rate here is expected to be too slow.")),
])
def test_step_scale_says_what_to_expect_of_the_rates(lrs, expected):
    text = learning_rate.step_scale(100, lrs)
    assert text.startswith("With hidden_size = 100 the LSTM's weights start within ±0.10.")
    assert expected in text
    if len(lrs) == 1:
        assert "smallest" not in text


def _study():
    configs = [TrainConfig(n_epochs=30, plot_every=3, lr=v) for v in (0.001, 0.01, 0.1)]
    df = pd.DataFrame({"status": ["ok", "ok", "diverged"], "diverged_at": [None, None, 12.0],
                       "bpc_test": [3.1, 2.9, None]})
    histories = {"0.001": [4.0, 3.8, 3.6, 3.5], "0.01": [4.0, 3.0, 2.5, 2.4]}
    return configs, df, histories


def test_curves_join_configs_rows_and_histories():
    configs, df, histories = _study()
    runs = learning_rate.curves(configs, df, histories, key=lambda c: f"{c.lr:g}")
    assert [r["label"] for r in runs] == ["lr=0.001", "lr=0.01", "lr=0.1"]
    assert runs[2]["history"] == [] and runs[2]["diverged_at"] == 12 and runs[0]["diverged_at"] is None
    assert runs[1] | {"history": None} == {"label": "lr=0.01", "history": None, "plot_every": 3,
                                           "diverged_at": None, "lr": 0.01, "status": "ok",
                                           "n_epochs": 30, "bpc": 2.9}
    with pytest.raises(ValueError, match="3 configs but 2 rows"):
        learning_rate.curves(configs, df.iloc[:2], histories, key=lambda c: f"{c.lr:g}")
    stats = learning_rate.study_stats(runs, smooth_window=2)
    assert stats[1]["final"] == pytest.approx(2.4) and stats[1]["lr"] == 0.01
    assert stats[2]["status"] == "diverged" and math.isnan(stats[2]["final"])
    frame = learning_rate.stats_frame(stats)
    assert list(frame.columns) == list(learning_rate.STATS_COLUMNS.values())
    assert list(frame["lr"]) == ["0.001", "0.01", "0.1"]
    html = learning_rate.stats_table(stats).data
    assert "2.400" in html and "status" in html and "first loss" not in html  # a run diverged
    assert "status" not in learning_rate.stats_table(stats[:2]).data
    assert list(learning_rate.stats_frame(stats, ["lr", "final"]).columns) == ["lr", "final loss"]


def test_captions_of_the_two_charts():
    assert learning_rate.curves_caption(10) == (
        "Figure {#fig-43-loss-by-lr}: Training loss (nats per character) against iteration, one "
        "curve per learning rate; each point is the mean loss of 10 iterations.")
    assert learning_rate.smoothed_caption(10, 10) == (
        "Figure {#fig-43-loss-by-lr-smoothed}: The same curves as a moving average over 10 points "
        "(100 iterations), with the loss axis cut to the range where they differ.")
    assert "The same curves, unsmoothed, with" in learning_rate.smoothed_caption(1, 10)


def _stat(lr, final, rise=0.0, roughness=0.01, status="ok", bpc=2.5, early=None):
    return {"lr": lr, "final": final, "rise": rise, "roughness": roughness, "status": status,
            "bpc": bpc, "early": final + 0.5 if early is None else early, "n_epochs": 3000}


def test_answer_reads_the_curves_and_says_tie_where_there_is_one():
    stats = [_stat(0.0001, 2.36, early=2.9), _stat(0.005, 1.71, bpc=2.478, early=1.95),
             _stat(0.1, 2.30, rise=0.15, roughness=0.05, early=2.4)]
    assert learning_rate.answer(stats) == (
        "**Answer.** 3 models, the same but for the learning rate (0.0001, 0.005, 0.1), trained "
        "3,000 iterations each. The slowest to learn is **lr = 0.0001**: a quarter of the way in, its "
        "smoothed loss is 2.90 nats, against 1.95 for lr = 0.005. The least stable is **lr = 0.1**: "
        "after the first quarter its smoothed loss climbs back 0.15 nats, and its curve is the "
        "jumpiest (0.050 nats from point to point). **lr = 0.005** ends lowest (1.71 nats, BPC 2.478 "
        "on dickens_test.txt). **lr = 0.0001** ends highest (2.36 nats).")
    # the reference's "0.0001 ended highest": 0.013 apart, less than the jumpiness: a tie
    tie = [_stat(0.0001, 2.355), _stat(0.005, 1.71, bpc=2.464, roughness=0.066),
           _stat(0.01, 1.733, bpc=2.536, roughness=0.069), _stat(0.1, 2.342, roughness=0.079)]
    text = learning_rate.answer(tie)
    assert ("lr = 0.0001 and 0.1 end highest in a tie (2.35 and 2.34 nats: 0.013 apart, less than "
            "their curves' jumpiness, 0.079).") in text
    assert ("lr = 0.005 and 0.01 end lowest in a tie (1.71 and 1.73 nats: 0.023 apart, less than "
            "their curves' jumpiness, 0.069); BPC 2.464 and 2.536 on dickens_test.txt.") in text
    calm = learning_rate.answer([_stat(0.001, 2.0, rise=0.2, roughness=0.01),
                                 _stat(0.1, 2.5, rise=0.1, roughness=0.09)])
    assert "climbs back 0.20 nats; the jumpiest curve is lr = 0.1's (0.090 nats from point to point)." in calm
    one_failed = learning_rate.answer(stats + [_stat(1.0, math.nan, status="diverged")])
    assert one_failed.endswith("**1 run did not finish normally** (see the status column).")
    assert "**2 runs did not finish normally**" in learning_rate.answer(
        stats + [_stat(1.0, math.nan, status="diverged")] * 2)


def test_answer_with_one_or_no_finished_run():
    only = learning_rate.answer([_stat(0.01, 1.9), _stat(0.1, math.nan, status="diverged")])
    assert only == ("**Answer.** 2 models, the same but for the learning rate (0.01, 0.1), trained "
                    "3,000 iterations each. Fewer than two finished normally, so there is nothing to "
                    "compare; see the status of each run below.")
    assert learning_rate.answer([]).startswith("**Answer.** This study has no runs.")


def test_checks_summary_counts_and_names_the_undecided():
    checks = [Check("the coursework: too small learns slowly (rule)", "yes", True),
              Check("the reference: lr 0.0001 ended highest", "a tie: lr=0.0001 ...", None),
              Check("the reference: lr 0.1 plateaued around 2.3 nats (agreement = within 0.25)",
                    "2.9", False)]
    assert learning_rate.checks_summary(checks) == (
        "Of the 3 claims of the coursework and the reference write-up checked against these curves, "
        "1 holds; these do not: “the reference: lr 0.1 plateaued around 2.3 nats” (here: 2.9); "
        "undecided: “the reference: lr 0.0001 ended highest” (a tie here).")
    assert learning_rate.checks_summary(checks[:1] * 2).endswith("curves, 2 hold.")
    assert learning_rate.checks_summary([Check("x; agreement = y", "n/a: other length", None)]) \
        .endswith("0 hold; undecided: “x” (n/a: other length).")


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
