"""The sentences and tables of 4.1, the default run (notebook 01), and its figure, on small
made-up inputs: no training and no data files."""

from __future__ import annotations

import math

import pandas as pd

from charlm import TrainConfig
from charlm.report.claims import default_run_checks
from charlm.report.plots import plot_default_loss
from charlm.report.sections import default_run
from charlm.studies.summary import curve_stats


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


def test_plot_default_loss_labels_the_run(tmp_path):
    cfg = TrainConfig(lr=0.005, plot_every=10)
    [(path, fig)] = plot_default_loss([4.0, 3.0, 2.5], cfg, tmp_path / "d.png", diverged_at=30)
    ax = fig.axes[0]
    assert path.is_file() and ax.get_title() == "Training loss with the default settings"
    assert ax.get_legend().get_texts()[0].get_text() == "default settings (lr=0.005) (diverged at 30)"


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
