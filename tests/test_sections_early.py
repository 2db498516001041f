"""The sentences and tables of the first sections (setting, 4.1, 4.3), on small made-up inputs:
no training and no data files."""

from __future__ import annotations

import math
import string

import pandas as pd
import pytest
import torch

from charlm import TrainConfig
from charlm.model import CharRNN
from charlm.report.claims import Check, default_run_checks
from charlm.report.plots import plot_default_loss, plot_lr_curves
from charlm.report.sections import default_run, learning_rate, setting
from charlm.studies.summary import curve_stats

# ------------------------------------------------------------------ setting (00)


def test_files_frame_names_each_files_role():
    files = [{"file": "dickens_train.txt", "bytes": 10, "characters": 10, "sha256": "ab"},
             {"file": "other.txt", "bytes": 3, "characters": 3, "sha256": "cd"}]
    frame = setting.files_frame(files)
    assert list(frame.columns) == ["file", "role", "bytes", "characters", "sha256"]
    assert list(frame["role"]) == ["training", ""]
    html = setting.files_table(files).data
    assert setting.FILES_CAPTION in html and "other.txt" in html


def test_the_data_origin_is_checked_on_the_texts():
    train = "".join(chr(97 + i % 26) * 7 for i in range(400))
    large = "x" * 700 + train[:600]
    text = setting.data_origin(train, large[:300], large)
    # passages start at 0, 500 and 1000: the last lies inside the training text
    assert "Of 3 passages of 100 characters" in text and "1 of them are also in the training" in text
    assert "dickens_test.txt is exactly the first 300 characters of dickens_test_large.txt" in text
    text = setting.data_origin(train, "other", "x" * 1200)
    assert "none of them is in the training file" in text and "is not a part of" in text
    assert setting.shared_passages("abc" * 100, "zzz", window=10, stride=50) == 0


def test_vocabulary_counts_each_class_of_symbol():
    text = setting.vocabulary(string.printable)
    assert text.startswith("The vocabulary has **100 symbols**: 10 digits, 52 lower- and upper-case "
                           "letters, 32 punctuation marks and 6 whitespace characters")
    assert text.endswith("; a character is encoded as its position among them.")
    assert setting.vocabulary("0123").startswith("The vocabulary has **4 symbols**: 4 digits; ")
    assert "2 digits and 1 other symbols" in setting.vocabulary("01\u00e9")


def test_example_chunk_target_is_the_input_shifted_by_one():
    data = torch.arange(20) % 10  # indices of "0123456789" repeated
    ex = setting.example_chunk(data, 5, seed=3)
    assert len(ex.input) == len(ex.target) == 5 and ex.input[1:] == ex.target[:-1]
    assert setting.example_chunk(data, 5, seed=3) == ex  # the seed fixes it
    assert setting.example_intro(ex, 3, head=4) == (
        "The first 4 of the 5 characters of input and target of a chunk drawn at random (seed 3), "
        "one above the other, so that the shift by one is visible:")
    text = setting.example_text(setting.Example("abcdef", "bcdefg"), head=2)
    assert text == "input  'ab'\ntarget 'bc'"


@pytest.mark.parametrize("layers, word", [(1, "1 layer"), (2, "2 layers")])
def test_parameters_table_lists_tensors_and_totals_them(layers, word):
    model = CharRNN(hidden_size=4, n_layers=layers, vocab_size=5)
    frame = setting.parameters_frame(model)
    assert frame["parameters"].sum() == model.n_params()
    assert frame.loc[frame["tensor"] == "rnn.weight_ih_l0", "shape"].item() == "16 x 4"  # 4 x hidden
    assert setting.parameters_caption(model) == f"{model.n_params():,} trainable parameters with hidden_size 4 and {word}"
    # the formula of the notebook's text: V h + L (8 h^2 + 8 h) + (V h + V)
    assert model.n_params() == 5 * 4 + layers * (8 * 16 + 8 * 4) + 5 * 4 + 5
    assert setting.parameters_caption(model) in setting.parameters_table(model).data


def test_environment_table_shows_items_and_values():
    html = setting.environment_table({"Python": "3.11", "CPU": "x"}).data
    assert "What this report ran on" in html and "3.11" in html and "CPU" in html


# ------------------------------------------------------------------ default run (01)


def test_parameter_values_and_coverage():
    cfg = TrainConfig(n_epochs=30, lr=0.005, chunk_len=10)
    values = default_run.parameter_values(cfg)
    assert dict(zip(values["parameter"], values["value"]))["lr"] == "0.005"
    assert list(values["parameter"]) == list(default_run.PARAMETERS)
    assert default_run.VALUES_CAPTION in default_run.parameter_table(cfg).data
    assert default_run.coverage(cfg, 1200) == (
        "In all this run reads 300 characters (`n_epochs` x `chunk_len`), 25% of the length of "
        "the 1,200-character training text.")
    assert "600 characters (`n_epochs` x `chunk_len` x `batch_size`)" in \
        default_run.coverage(cfg.replace(batch_size=2), 1200)


META = {"status": "ok", "iterations": 3000, "wall_time": 36.0, "threads": 1,
        "torch_version": "2.0", "n_params": 289892}


def _results(meta=META, history=(3.5, 2.0, 1.8), untrained_bpc=6.65, vocab_size=100):
    st = curve_stats(list(history), 10)
    return default_run.results(meta, st, 10, 2.478, 2.540, untrained_bpc, vocab_size=vocab_size)


def test_results_of_a_normal_run():
    text = _results()
    lines = text.splitlines()
    assert len(lines) == 4 and all(ln.startswith("- ") for ln in lines)
    assert "status **ok** after 3,000 iterations and 0.6 minutes of training (1 torch thread," in text
    assert "289,892 parameters" in text
    assert "scores 6.650 bits per character on `dickens_test.txt`, that is 4.61 nats: about the " \
           "ln 100 = 4.61 of a uniform guess" in text
    assert "The loss falls fast at first: the first point of the curve, the mean of the first 10 " \
           "iterations, is already 3.50 nats." in text
    assert "ends at 1.80 nats per character (the mean of the last tenth of training, 10 iterations), which is 2.60 bits" in text
    assert "**BPC on `dickens_test.txt`: 2.478**; on `dickens_test_large.txt`: 2.540." in text


def test_results_of_other_runs():
    diverged = _results(meta=META | {"status": "diverged", "diverged_at": 1200, "threads": 2})
    assert "status **diverged** (at iteration 1,200)" in diverged and "(2 torch threads," in diverged
    far = _results(untrained_bpc=3.0)
    assert "far from the ln 100 = 4.61 of a uniform guess" in far
    assert "The loss does not fall at first" in far and "is 3.50 nats" in far
    empty = _results(history=())
    assert "Training recorded no point of the loss curve." in empty
    assert len(empty.splitlines()) == 3 and "training loss ends" not in empty


def test_gap_between_test_bpc_and_training_loss():
    assert default_run.gap(2.5, 2.4 * math.log(2)) == (
        "On the unseen test text this model needs 2.500 bits per character, 0.10 bits more than "
        "its final training loss in bits.")
    assert "0.20 bits fewer" in default_run.gap(2.4, 2.6 * math.log(2))
    assert "no final loss" in default_run.gap(2.4, math.nan)


def test_default_run_checks_take_the_untrained_bpc():
    hist = [3.5] * 270 + [1.75] * 30
    in_nats = default_run_checks(hist, 10, 3000, initial_loss=6.65 * math.log(2))
    in_bits = default_run_checks(hist, 10, 3000, initial_bpc=6.65)
    assert in_nats == in_bits and in_bits[0].observed.startswith("4.61 for the untrained model")
    other = default_run_checks(hist, 10, 30, reference_epochs=30)
    assert "after 30 iterations" in other[1].claim


# ------------------------------------------------------------------ learning rate (03)


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


# ------------------------------------------------------------------ the figures


def test_plot_default_loss_labels_the_run(tmp_path):
    cfg = TrainConfig(lr=0.005, plot_every=10)
    [(path, fig)] = plot_default_loss([4.0, 3.0, 2.5], cfg, tmp_path / "d.png", diverged_at=30)
    ax = fig.axes[0]
    assert path.is_file() and ax.get_title() == "Training loss with the default settings"
    assert ax.get_legend().get_texts()[0].get_text() == "default settings (lr=0.005) (diverged at 30)"


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


def test_the_41_answer_gives_the_run_its_scores_and_what_beats_it():
    cfg = TrainConfig(n_epochs=3000)
    meta = {"iterations": 3000, "wall_time": 18.0, "n_params": 289892}
    stats = {"final": 1.71}
    large = "dickens_test_large.txt"
    frame = pd.DataFrame({"name": ["uniform", "mine", "Kneser-Ney 5-gram", "Kneser-Ney 4-gram", "PPMd order 6"],
                          large: [6.64, 2.54, 2.13, 2.37, 1.97]})
    text = default_run.answer(cfg, meta, stats, math.log2(100), 2.464, 2.54, frame, "mine", 1_200_000)
    assert text.startswith("**Answer.** Training with the defaults takes 3,000 steps")
    assert "(600,000 characters in all, 50% of the length" in text and "0.3 minutes" in text
    assert "falls from 4.61 nats per character before training" in text and "to 1.71," in text
    assert "**2.464 bits per character** on dickens_test.txt and **2.540**" in text
    assert ("beats 1 of the 4 yardsticks of [](#fig-41-ladder) and loses to 3: even a count of "
            "which character follows which 3 characters (a Kneser-Ney 4-gram) beats it, and the "
            "best, PPMd order 6, needs 1.970.") in text
    alone = default_run.answer(cfg, meta, stats, 6.6, 2.4, 2.54, frame.iloc[:2], "mine", 1_200_000)
    assert alone.endswith("That beats all 1 yardsticks of [](#fig-41-ladder).")
