"""Training for a wall-clock budget, bfloat16 autocast and weight averaging (budgets of seconds)."""

from __future__ import annotations

import importlib
import math

import pytest
import torch

from charlm import TrainConfig, train
from charlm.data import encode
from charlm.errors import ConfigError
from charlm.runs import run_key
from charlm.train import cosine_factor, lr_factor

train_module = importlib.import_module("charlm.train")  # the module, not the function
TEXT = encode("It was the best of times, it was the worst of times. " * 40)
SMALL = dict(hidden_size=16, n_layers=1, chunk_len=40, print_every=10**6, plot_every=5)


def test_a_budget_run_trains_for_its_time_not_its_iterations():
    cfg = TrainConfig(n_epochs=3, budget_minutes=1.5 / 60, lr_schedule="cosine", **SMALL)
    result = train(cfg, TEXT, verbose=False, progress=False)
    assert result.status == "ok"
    assert result.iterations > 3  # n_epochs does not stop a budget run
    assert 1.5 <= result.wall_time < 1.5 + 0.5  # stops at the first iteration past the budget
    assert len(result.history) == result.iterations // cfg.plot_every
    assert result.meta()["iterations"] == result.iterations


def test_the_budget_schedule_follows_elapsed_time(monkeypatch):
    seen = []
    real_step = torch.optim.Adam.step

    def step(self, *a, **kw):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *a, **kw)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    cfg = TrainConfig(budget_minutes=1.0 / 60, lr=0.01, lr_schedule="cosine", **SMALL)
    train(cfg, TEXT, verbose=False, progress=False)
    assert seen[0] == pytest.approx(0.01, rel=0.02) and seen[-1] < 0.01 * 0.1
    assert all(a >= b for a, b in zip(seen, seen[1:]))  # decays monotonically with time


def test_cosine_factor_runs_from_one_to_the_floor():
    assert cosine_factor(0.0) == 1.0 and cosine_factor(1.0) == pytest.approx(0.05)
    assert cosine_factor(0.5) == pytest.approx(0.525)
    f = lr_factor(TrainConfig(n_epochs=100, lr_schedule="cosine"))
    assert [f(0), f(100)] == [1.0, pytest.approx(0.05)]


def test_cache_keys_tell_budget_runs_from_iteration_runs():
    base = TrainConfig()
    # the keys of runs cached before these fields existed are unchanged (default settings,
    # the committed checksum of dickens_train.txt)
    assert run_key(base) == "63495b82d58dea6c"
    budget = base.replace(budget_minutes=10.0)
    assert run_key(budget) != run_key(base)
    assert run_key(budget.replace(n_epochs=7)) == run_key(budget)  # n_epochs unused with a budget
    assert run_key(budget.replace(budget_minutes=5.0)) != run_key(budget)
    assert run_key(base.replace(precision="bf16")) != run_key(base)
    assert run_key(base.replace(ema=0.99)) != run_key(base)


@pytest.mark.parametrize("field, value", [("budget_minutes", -1.0), ("budget_minutes", math.inf),
                                          ("precision", "fp16"), ("ema", 1.0), ("ema", -0.1)])
def test_new_fields_are_validated(field, value):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**{field: value})


def test_precision_auto_falls_back_and_bf16_is_refused_without_support(monkeypatch):
    monkeypatch.setattr(train_module, "bf16_supported", lambda: False)
    cfg = TrainConfig(n_epochs=5, precision="auto", **SMALL)
    plain = train(cfg.replace(precision="fp32"), TEXT, verbose=False, progress=False)
    auto = train(cfg, TEXT, verbose=False, progress=False)
    assert auto.history == plain.history  # fp32 exactly
    with pytest.raises(ConfigError, match="no native bfloat16"):
        train(cfg.replace(precision="bf16"), TEXT, verbose=False, progress=False)


def test_bf16_autocast_trains_and_keeps_fp32_weights(monkeypatch):
    monkeypatch.setattr(train_module, "bf16_supported", lambda: True)  # emulated if need be
    cfg = TrainConfig(n_epochs=20, precision="bf16", **SMALL)
    result = train(cfg, TEXT, verbose=False, progress=False)
    plain = train(cfg.replace(precision="fp32"), TEXT, verbose=False, progress=False)
    assert result.status == "ok" and result.history != plain.history
    assert abs(result.history[-1] - plain.history[-1]) < 0.2  # the same learning, rounded
    assert all(p.dtype == torch.float32 for p in result.model.parameters())


def test_weight_averaging_returns_the_average():
    cfg = TrainConfig(n_epochs=10, lr=0.05, **SMALL)
    first = train(cfg.replace(n_epochs=1), TEXT, verbose=False, progress=False).model
    plain = train(cfg, TEXT, verbose=False, progress=False).model
    slow = train(cfg.replace(ema=0.999), TEXT, verbose=False, progress=False).model
    fast = train(cfg.replace(ema=1e-9), TEXT, verbose=False, progress=False).model

    def distance(a, b):
        with torch.no_grad():
            return sum(float((p - q).abs().sum()) for p, q in zip(a.parameters(), b.parameters()))

    # the average starts at the weights after the first step; with decay 0.999 it stays there,
    # with a decay near 0 it follows the last weights
    assert distance(slow, first) < 0.05 * distance(plain, first)
    assert distance(fast, plain) < 1e-3 * distance(plain, first)
