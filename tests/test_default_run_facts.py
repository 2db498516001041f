"""Part 4.1's facts and verdicts (charlm.studies.default_run): each branch on hand-made inputs,
Adam's burst against PyTorch's own optimiser, and the facts of a tiny run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from charlm.corpora import TEST_FILE, corpus
from charlm.evaluate import bpc
from charlm.model import build_model
from charlm.studies import default_run as dr


def test_gap_has_a_sign_and_an_about_the_same_case():
    assert dr.gap_phrase(2.5, 2.4) == "0.10 bits more than"
    assert dr.gap_phrase(2.4, 2.6) == "0.20 bits fewer than"
    assert dr.gap_phrase(2.478, 2.4751) == "about as many bits as"  # rounds to 0.00: no sign
    assert dr.gap_phrase(2.478, 2.4751, digits=3) == "0.003 bits more than"
    assert "no loss" in dr.gap_phrase(2.4, math.nan)


def test_untrained_loss_near_a_uniform_guess_and_the_first_fall():
    uniform = math.log(100)
    assert dr.near_uniform(uniform * 1.04) == "about" and dr.near_uniform(uniform * 0.9) == "far from"
    assert dr.near_uniform(uniform * 0.9, within=0.2) == "about"
    assert dr.early_fall(3.5, 4.6) == "falls" and dr.early_fall(4.7, 4.6) == "does not fall"


def test_status_count_and_agreement_phrases():
    assert dr.status_phrase({"status": "ok"}) == "ok"
    assert dr.status_phrase({"status": "diverged", "diverged_at": 1200}) == "diverged at iteration 1,200"
    assert dr.counted(1, "LSTM layer") == "1 LSTM layer" and dr.counted(2, "LSTM layer") == "2 LSTM layers"
    assert [dr.agreement(v) for v in (True, False, None)] == ["yes", "no", "not comparable"]


def test_the_reference_rules():
    assert dr.start_agrees(4.61, 3000) is True and dr.start_agrees(4.0, 3000) is False
    assert dr.start_agrees(4.61, 30) is None  # another length: not comparable
    assert dr.final_agrees(1.71, 3000) is True and dr.final_agrees(2.3, 3000) is False
    assert dr.final_agrees(math.nan, 3000) is None and dr.final_agrees(1.7, 500) is None
    good = dr.reference_checks([3.5] * 270 + [1.75] * 30, 10, 3000, untrained_bpc=6.65)
    assert (good.start_agrees, good.final_agrees) == ("yes", "yes")
    assert good.start == pytest.approx(6.65 * math.log(2)) and good.final == pytest.approx(1.75)
    bad = dr.reference_checks([3.5] * 270 + [2.3] * 30, 10, 3000, untrained_bpc=6.65)
    assert bad.final_agrees == "no"
    quick = dr.reference_checks([4.0, 3.0], 3, 30, untrained_bpc=6.65)
    assert quick.start_agrees == quick.final_agrees == "not comparable"


def test_adam_burst_matches_the_optimiser():
    b = dr.adam_burst()
    assert (float(b.beta1), float(b.beta2)) == (0.9, 0.999)
    assert b.first == pytest.approx(0.1 / math.sqrt(0.001))
    assert (b.peak_from, b.peak_to) == (11, 13) and b.peak == pytest.approx(6.6)
    assert b.late == pytest.approx(dr.burst_step(50, 0.9, 0.999))
    # PyTorch's AdamW after 3000 zero gradients, then 20 equal ones: the k-th step in lr units
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.AdamW([w], lr=1e-3, weight_decay=0.0)
    steps = []
    for grad in [0.0] * 3000 + [1.0] * 20:
        before = w.item()
        w.grad = torch.tensor([grad])
        opt.step()
        steps.append((before - w.item()) / 1e-3)
    # the formula holds long after the start, where the bias corrections 1 - beta^t are 1; here
    # t = 3000 + k, so they are put back
    t = 3000 + np.arange(1, 21)
    corrected = dr.burst_step(np.arange(1, 21), 0.9, 0.999) * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
    np.testing.assert_allclose(steps[3000:], corrected, rtol=1e-4)


def test_the_facts_of_a_tiny_run(tiny):
    a = dr.default_run_facts(tiny)
    assert a.status == "ok" and a.iterations == 20 and a.chunk_len == 50
    assert a.chars_read == 20 * 50 and a.read_share == pytest.approx(1000 / len(corpus()))
    assert a.layers == "1 LSTM layer" and a.hidden_size == 16
    torch.manual_seed(tiny.seed)
    assert a.untrained_bpc == pytest.approx(bpc(build_model(tiny), corpus(TEST_FILE)))
    assert a.untrained_nats == pytest.approx(a.untrained_bpc * math.log(2))
    assert a.final_bits == pytest.approx(a.final_nats / math.log(2))
    assert a.gap == dr.gap_phrase(a.test_bpc, a.final_nats / math.log(2))
    assert repr(a.test_bpc) == f"{float(a.test_bpc):.3f}"  # shown as the report writes BPC
