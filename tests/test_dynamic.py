"""Dynamic evaluation on tiny models: honest scores, an untouched model, real adaptation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from charlm.dynamic import DynamicSettings, dynamic_char_bits, grad_rms, tune_dynamic
from charlm.errors import ConfigError
from charlm.evaluate import char_bits
from charlm.model import CharRNN

TEXT = "the cat sat on the mat. " * 12
TRAIN = "a quick brown fox jumps over the lazy dog; the cat sat. " * 10
SMALL = dict(stat_streams=4, stat_chars=100)  # quick gradient statistics


@pytest.fixture
def model() -> CharRNN:
    torch.manual_seed(0)
    return CharRNN(16, 1)


@pytest.mark.parametrize("cell,segment", [("lstm", 20), ("gru", 7), ("lstm", 1000)])
def test_step_zero_is_the_static_score(cell, segment):
    torch.manual_seed(1)
    m = CharRNN(16, 2, cell=cell)
    static = char_bits(m, TEXT)
    dynamic = dynamic_char_bits(m, TEXT, TRAIN, step=0.0, segment=segment, **SMALL)
    assert dynamic.shape == static.shape == (len(TEXT) - 1,)
    np.testing.assert_allclose(dynamic, static, atol=1e-6)


def test_the_model_passed_in_is_never_changed(model):
    model.train()  # whatever mode it is in stays
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dynamic_char_bits(model, TEXT, TRAIN, step=1e-2, decay=1e-3, segment=10, **SMALL)
    grad_rms(model, TRAIN, 10, **SMALL)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert model.training


def test_each_segment_is_scored_before_its_step(model):
    segment = 20
    static = char_bits(model, TEXT)
    bits = dynamic_char_bits(model, TEXT, TRAIN, step=1e-2, segment=segment, **SMALL)
    # the first segment is scored by the trained weights; the second already by adapted ones
    np.testing.assert_allclose(bits[:segment], static[:segment], atol=1e-6)
    assert np.abs(bits[segment:2 * segment] - static[segment:2 * segment]).max() > 1e-3
    # a code length: the score of character t never depends on characters after it, even inside
    # a segment (change character 45, in the third segment: positions before it are untouched)
    changed = TEXT[:45] + ("X" if TEXT[45] != "X" else "Y") + TEXT[46:]
    other = dynamic_char_bits(model, changed, TRAIN, step=1e-2, segment=segment, **SMALL)
    np.testing.assert_array_equal(other[:44], bits[:44])
    assert other[44] != bits[44]


def test_dynamic_evaluation_learns_a_repetitive_text(model):
    static = char_bits(model, TEXT).mean()
    dynamic = dynamic_char_bits(model, TEXT, TRAIN, step=3e-3, decay=1e-3, segment=10, **SMALL).mean()
    assert dynamic < static - 1.0  # an untrained model picks up the repeated sentence


def test_precomputed_statistics_give_the_same_scores(model):
    rms = grad_rms(model, TRAIN, 20, **SMALL)
    assert [r.shape for r in rms] == [p.shape for p in model.parameters()]
    assert all(bool((r > 0).all()) for r in rms)  # floored: no weight gets an infinite step
    settings = DynamicSettings(step=1e-3, segment=20, **SMALL)
    np.testing.assert_array_equal(dynamic_char_bits(model, TEXT, TRAIN, settings),
                                  dynamic_char_bits(model, TEXT, None, settings, rms=rms))


@pytest.mark.parametrize("bad,match", [
    (dict(step=-1e-3), "step"), (dict(step=float("nan")), "step"), (dict(decay=1.5), "decay"),
    (dict(segment=0), "segment"), (dict(segment=2.5), "segment"), (dict(stat_streams=0), "stat_streams"),
    (dict(stat_chars=True), "stat_chars"), (dict(lr=1e-3), "unknown"),
])
def test_bad_settings_raise_a_one_line_config_error(model, bad, match):
    with pytest.raises(ConfigError, match=match) as info:
        dynamic_char_bits(model, TEXT, TRAIN, **bad)
    assert "\n" not in str(info.value)


def test_threads_are_restored_and_checked(model):
    before = torch.get_num_threads()
    dynamic_char_bits(model, TEXT, TRAIN, step=1e-3, segment=20, threads=1, **SMALL)
    assert torch.get_num_threads() == before
    with pytest.raises(ConfigError, match="threads"):
        dynamic_char_bits(model, TEXT, TRAIN, threads=0)
    assert torch.get_num_threads() == before


def test_statistics_need_enough_training_text(model):
    with pytest.raises(ConfigError, match="too short"):
        dynamic_char_bits(model, TEXT, "abc", step=1e-3, stat_streams=4)


def test_tuning_picks_the_best_validation_setting(model):
    tuning = tune_dynamic(model, TEXT, TRAIN, steps=(0.0, 1e-3), decays=(1e-3, 1e-2),
                          segments=(10, 20), base=DynamicSettings(**SMALL))
    assert len(tuning.grid) == 8
    assert tuning.best_bpc == min(b for _, b in tuning.grid)
    assert tuning.best.step == 1e-3  # adapting beats not adapting on a repetitive text
    static = [b for s, b in tuning.grid if s.step == 0]
    np.testing.assert_allclose(static, tuning.static_bpc, atol=1e-6)
    assert "valid BPC" in tuning.table()


def test_gradient_statistics_with_a_last_shorter_segment(model):
    # 100 characters per stream in segments of 7: the last one has 2 (it failed before)
    rms = grad_rms(model, TRAIN, 7, stat_streams=4, stat_chars=100)
    assert all(bool(torch.isfinite(r).all()) and bool((r > 0).all()) for r in rms)
