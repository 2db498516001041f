"""Issue 5 part 1-2: validation split, BPC uncertainty, truncated BPTT, learning-rate schedule."""

import math

import numpy as np
import pytest
import torch

from charlm import CharRNN, TrainConfig, bpc, encode, train
from charlm.data import SPLIT_BLOCK, sequential_chunks, split_corpus
from charlm.evaluate import bpc_interval, char_bits, paired_difference_interval
from charlm.errors import DataError
from charlm.corpora import corpus
from charlm.train import Clock, learning_rate


def test_validation_split_is_disjoint_fixed_and_five_percent():
    data = corpus("dickens_train.txt")
    train_a, valid_a = split_corpus(data, 0.05)
    train_b, valid_b = split_corpus(data, 0.05)
    assert torch.equal(valid_a, valid_b) and len(train_a) + len(valid_a) == len(data)
    assert 0.04 < len(valid_a) / len(data) < 0.06
    # every validation block is absent from the training part
    for start in range(0, len(valid_a), SPLIT_BLOCK):
        block = bytes(valid_a[start:start + 200].to(torch.uint8).tolist())
        assert block not in bytes(train_a.to(torch.uint8).tolist())
    assert split_corpus(data, 0.0) == (data, None)


def test_sequential_chunks_continue_and_wrap():
    data = torch.arange(1000)
    x0, y0, r0 = sequential_chunks(data, 10, 4, 0)
    x1, _, r1 = sequential_chunks(data, 10, 4, 1)
    assert r0 and not r1 and x0.shape == (4, 10)
    assert torch.equal(x1[:, 0], x0[:, -1] + 1)  # row b continues its own stream
    assert torch.equal(y0, x0 + 1) and torch.equal(x0[:, 0], torch.tensor([0, 250, 500, 750]))
    per_stream = (250 - 1) // 10
    assert sequential_chunks(data, 10, 4, per_stream)[2]  # wrapped: state must be reset


def test_shifted_chunks_move_the_boundaries_on_every_pass():
    data = torch.arange(1000)
    per_stream = (1000 // 4 - 1) // 10 - 1  # one chunk fewer per pass leaves room to shift
    firsts = []
    for p in range(6):
        x, y, restart = sequential_chunks(data, 10, 4, p * per_stream, shift_seed=7)
        assert restart and torch.equal(y[:, :-1], x[:, 1:])
        offset = int(x[0, 0])
        assert 0 <= offset < 10 and x[:, 0].tolist() == [offset + b * 250 for b in range(4)]
        nxt, _, again = sequential_chunks(data, 10, 4, p * per_stream + 1, shift_seed=7)
        assert not again and int(nxt[0, 0]) == offset + 10  # within a pass, chunks continue
        last, _, _ = sequential_chunks(data, 10, 4, (p + 1) * per_stream - 1, shift_seed=7)
        assert int(last[0, -1]) + 1 < 250  # the last target stays in the stream
        firsts.append(offset)
    assert len(set(firsts)) > 2  # the passes start at different offsets
    same = [int(sequential_chunks(data, 10, 4, p * per_stream, shift_seed=7)[0][0, 0]) for p in range(6)]
    assert same == firsts  # reproducible from the seed


def test_carried_state_training_learns_and_records_validation_curve():
    text = encode("the quick brown fox jumps over the lazy dog. " * 60)
    cfg = TrainConfig(n_epochs=60, hidden_size=24, n_layers=1, lr=0.01, chunk_len=30,
                      batch_size=4, carry_state=True, lr_schedule="cosine", valid_frac=0.1,
                      eval_every=20, print_every=1000)
    result = train(cfg, text[:2400], text[2400:], verbose=False, progress=False)
    assert [p[0] for p in result.valid_curve] == [20, 40, 60]
    assert result.valid_curve[-1][2] < result.valid_curve[0][2] < math.log2(100)
    assert all(b[1] >= a[1] for a, b in zip(result.valid_curve, result.valid_curve[1:]))
    assert result.meta()["valid_bpc"] == result.valid_curve[-1][2]


def test_cosine_schedule_decays_to_five_percent():
    cfg = TrainConfig(n_epochs=100, lr=1.0, lr_schedule="cosine")
    clock = Clock(cfg)

    def at(step: int, c: TrainConfig = cfg) -> float:
        clock.steps = step
        return learning_rate(c, clock)

    assert at(0) == 1.0 and abs(at(50) - 0.525) < 1e-9 and abs(at(100) - 0.05) < 1e-12
    assert at(77, TrainConfig(lr=1.0)) == 1.0


def test_bpc_interval_brackets_the_estimate_and_shrinks_with_more_text():
    torch.manual_seed(0)
    model = CharRNN(hidden_size=16, n_layers=1)
    small = corpus("dickens_test.txt")
    large = corpus("dickens_test_large.txt")[:60_000]
    b, lo, hi = bpc_interval(model, small)
    assert lo < b < hi and abs(b - bpc(model, small)) < 1e-12
    b2, lo2, hi2 = bpc_interval(model, large)
    assert hi2 - lo2 < hi - lo
    assert np.isclose(char_bits(model, small).mean(), b)


def test_paired_difference_cancels_what_both_models_find_hard():
    import numpy as np

    rng = np.random.default_rng(1)
    hard = np.repeat(rng.uniform(0.5, 4.0, 50), 200)  # passages of very different difficulty
    a = hard + 0.05 + rng.normal(0, 0.01, hard.size)  # model A: 0.05 bits worse everywhere
    b = hard + rng.normal(0, 0.01, hard.size)
    diff, lo, hi = paired_difference_interval(a, b)
    assert diff == pytest.approx(a.mean() - b.mean())
    assert 0.04 < lo < diff < hi < 0.06  # tight and excluding 0, although each BPC varies a lot
    assert paired_difference_interval(b, b) == (0.0, 0.0, 0.0)
    same = paired_difference_interval(a, b, seed=3)
    assert same == paired_difference_interval(a, b, seed=3)
    with pytest.raises(DataError, match="same length"):
        paired_difference_interval(a, b[:-1])


def test_selection_optimism_is_large_among_equals_and_vanishes_for_a_clear_winner():
    from charlm.studies.selection import selection_optimism

    rng = np.random.default_rng(0)
    text = np.repeat(rng.uniform(1, 3, 30), 200)  # a shared 6,000-character text
    equals = [text + rng.normal(0, 1.0, text.size) for _ in range(6)]  # same quality, noisy
    opt = selection_optimism(equals, n_splits=400)
    assert opt.mean > 0.02 and opt.agreement < 0.6  # picking the luckiest flatters it
    assert len(opt.chosen) == 6 and sum(opt.chosen) == pytest.approx(1.0)
    clear = [text + rng.normal(0, 1.0, text.size)] + [text + 0.5 + rng.normal(0, 1.0, text.size)
                                                       for _ in range(5)]
    sure = selection_optimism(clear, n_splits=400)
    assert abs(sure.mean) < 0.02 and sure.agreement > 0.95 and sure.chosen[0] > 0.95
    assert sure.half_chars == pytest.approx(3000, rel=0.05)
    assert (sure.block, sure.level, sure.n_splits) == (200, 0.95, 400)
    wide = selection_optimism(equals, n_splits=400, level=0.5)
    assert wide.level == 0.5 and opt.low < wide.low < wide.high < opt.high  # same splits, inner quantiles
    with pytest.raises(DataError, match="same text"):
        selection_optimism([text, text[:-5]])
    with pytest.raises(DataError, match="at least 2 runs"):
        selection_optimism([text])


def test_choosing_on_validation_when_every_run_has_it():
    import pandas as pd

    from charlm.studies.summary import best_row, selection_metric, valid_bpc_at

    df = pd.DataFrame({"status": ["ok", "ok", "diverged"], "bpc_valid": [2.0, 1.9, float("nan")],
                       "bpc_test": [1.8, 2.1, float("nan")]})
    assert selection_metric(df) == "bpc_valid"
    assert best_row(df, "bpc_valid").name == 1 and best_row(df).name == 0
    assert selection_metric(df.assign(bpc_valid=[2.0, float("nan"), float("nan")])) == "bpc_test"
    curve = [(250, 30.0, 2.5), (500, 60.0, 2.2), (750, 90.0, 2.1)]
    assert valid_bpc_at(curve, 1.0) == 2.2 and valid_bpc_at(curve, 0.4) is None


def test_torch_threads_sets_and_restores():
    from charlm.runs import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    with torch_threads(0) as n:
        assert n >= 1 and torch.get_num_threads() == n
    assert torch.get_num_threads() == before


def test_valid_curves_figure(tmp_path):
    from charlm.report.plots import plot_valid_curves

    runs = [{"label": "a", "curve": [(10, 6.0, 3.0), (20, 12.0, 2.5)], "chars_per_iteration": 3200},
            {"label": "b", "curve": [], "chars_per_iteration": 200}]
    fig = plot_valid_curves(runs, tmp_path / "v.png")
    assert (tmp_path / "v.png").stat().st_size > 1000
    assert fig.axes[1].lines[0].get_xdata().tolist() == [10 * 3200 / 1e6, 20 * 3200 / 1e6]
    assert fig.axes[0].lines[0].get_xdata().tolist() == [0.1, 0.2]


def test_valid_curves_figure_draws_each_member_and_the_ensemble(tmp_path):
    from charlm.report.plots import plot_valid_curves

    curve = [(5, 6.0, 3.0), (10, 12.0, 2.5), (15, 18.0, 3.1), (20, 24.0, 2.6), (20, 24.0, 2.3)]
    fig = plot_valid_curves([{"label": "e", "curve": curve, "chars_per_iteration": 100,
                              "members": [10, 10]}], tmp_path / "v.png")
    first, second, star = fig.axes[0].lines
    assert first.get_ydata().tolist() == [3.0, 2.5] and second.get_ydata().tolist() == [3.1, 2.6]
    assert star.get_ydata().tolist() == [2.3] and star.get_marker() == "*"
    assert first.get_color() == second.get_color() == star.get_color()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["e: each model", "e: the ensemble"]
