"""Issue 5 part 1-2: validation split, BPC uncertainty, truncated BPTT, learning-rate schedule."""

import math

import numpy as np
import torch

from charlm import CharRNN, TrainConfig, bpc, encode, train
from charlm.data import SPLIT_BLOCK, sequential_chunks, split_corpus
from charlm.evaluate import bpc_interval, char_bits
from charlm.runs import corpus
from charlm.train import lr_factor


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
    f = lr_factor(TrainConfig(n_epochs=100, lr_schedule="cosine"))
    assert f(0) == 1.0 and abs(f(50) - 0.525) < 1e-9 and abs(f(100) - 0.05) < 1e-12
    assert lr_factor(TrainConfig())(77) == 1.0


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
