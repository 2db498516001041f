"""The figures of 4.1: the loss curve from the untrained model on, and the ladder's legend
computed from what its models know."""

from __future__ import annotations

import math

from charlm import TrainConfig
from charlm.baselines import ADAPTS, END_ADAPTS, NOTHING, TRAINING
from charlm.report.plots import plot_default_loss, plot_ladder
from charlm.studies import ladder


def test_the_loss_curve_starts_at_the_untrained_model(tmp_path):
    cfg = TrainConfig(lr=0.005, plot_every=10)
    [(path, fig)] = plot_default_loss([4.0, 3.0, 2.5], cfg, tmp_path / "d.png", diverged_at=30,
                                      untrained=4.61, uniform=math.log(100))
    ax = fig.axes[0]
    assert path.is_file() and ax.get_title() == "Training loss with the default settings"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "default settings (lr=0.005) (diverged at 30)" and len(labels) == 3
    low, high = ax.get_ylim()
    assert low < 2.5 and high > 4.61 and ax.get_xlim()[0] < 0  # the untrained point is in view
    [(_, plain)] = plot_default_loss([4.0, 3.0], cfg, tmp_path / "e.png")
    assert len(plain.axes[0].get_legend().get_texts()) == 1


def test_the_ladder_legend_names_the_classes_present(tmp_path):
    rungs = [ladder.Rung(n, k, ladder.KIND_BASELINE, {"a.txt": b}) for n, k, b in
             [("uniform", NOTHING, 6.6), ("n-gram", TRAINING, 2.1), ("zlib -9", END_ADAPTS, 3.1)]]
    fig = plot_ladder(ladder.ladder_frame(rungs), ["a.txt"], tmp_path / "l.png")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["knows: nothing", "knows: training text", "knows: end of training text, adapts"]
    rungs.append(ladder.Rung("PPMd order 6", ADAPTS, ladder.KIND_COMPRESSOR, {"a.txt": 1.9}))
    fig = plot_ladder(ladder.ladder_frame(rungs), ["a.txt"])
    assert len(fig.legends[0].get_texts()) == 4
