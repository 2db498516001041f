"""Training for a wall-clock budget, bfloat16 autocast, weight averaging, shifted chunks, weight
decay, ensembles, locked dropout and weight drop (budgets of seconds)."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys

import pytest
import torch

from charlm import TrainConfig, paths, train
from charlm.data import VOCAB_SIZE, encode
from charlm.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from charlm.errors import ConfigError
from charlm.evaluate import bpc
from charlm.model import CharRNN, Ensemble
from charlm.regularisers import FastDropout, LockedDropout
from charlm.sample import generate
from charlm.runs import run_key
from charlm.train import Clock, cosine_factor, learning_rate

train_module = importlib.import_module("charlm.train")  # the module, not the function
runs_module = importlib.import_module("charlm.runs")
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
    real_step = torch.optim.AdamW.step

    def step(self, *a, **kw):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *a, **kw)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    cfg = TrainConfig(budget_minutes=1.0 / 60, lr=0.01, lr_schedule="cosine", **SMALL)
    train(cfg, TEXT, verbose=False, progress=False)
    assert seen[0] == pytest.approx(0.01, rel=0.02) and seen[-1] < 0.01 * 0.1
    assert all(a >= b for a, b in zip(seen, seen[1:]))  # decays monotonically with time


def test_cosine_factor_runs_from_one_to_the_floor():
    assert cosine_factor(0.0) == 1.0 and cosine_factor(1.0) == pytest.approx(0.05)
    assert cosine_factor(0.5) == pytest.approx(0.525)
    cfg = TrainConfig(n_epochs=100, lr=0.01, lr_schedule="cosine")
    clock = Clock(cfg)
    assert learning_rate(cfg, clock) == 0.01
    clock.steps = 100
    assert learning_rate(cfg, clock) == pytest.approx(0.0005)
    clock.steps = 150  # past the end: the floor, not a rising cosine
    assert learning_rate(cfg, clock) == pytest.approx(0.0005)
    assert learning_rate(cfg.replace(lr_schedule="constant"), clock) == 0.01


def test_cache_keys_tell_budget_runs_from_iteration_runs(monkeypatch):
    base = TrainConfig()
    # keys are stable from one process to the next (no hash() of Python objects in them)
    other = subprocess.run([sys.executable, "-c", "from charlm.config import TrainConfig; "
                            "from charlm.runs import run_key; print(run_key(TrainConfig()))"],
                           capture_output=True, text=True, check=True,
                           env=os.environ | {"PYTHONHASHSEED": "12345"})
    assert other.stdout.strip() == run_key(base)
    monkeypatch.setattr(runs_module, "KEY_VERSION", runs_module.KEY_VERSION + 1)
    assert run_key(base) != other.stdout.strip()  # a new version of the training code: new keys
    monkeypatch.undo()
    budget = base.replace(budget_minutes=10.0)
    assert run_key(budget) != run_key(base)
    assert run_key(budget.replace(n_epochs=7)) == run_key(budget)  # n_epochs unused with a budget
    assert run_key(budget.replace(budget_minutes=5.0)) != run_key(budget)
    assert run_key(base.replace(precision="bf16")) != run_key(base)
    assert run_key(base.replace(ema=0.99)) != run_key(base)
    carried = base.replace(carry_state=True)
    assert run_key(carried.replace(shift_chunks=True)) != run_key(carried)
    assert run_key(base.replace(weight_decay=0.1)) != run_key(base)
    assert run_key(base.replace(ensemble=2)) != run_key(base)


@pytest.mark.parametrize("field, value", [("budget_minutes", -1.0), ("budget_minutes", math.inf),
                                          ("precision", "fp16"), ("ema", 1.0), ("ema", -0.1),
                                          ("shift_chunks", 1), ("weight_decay", -0.1),
                                          ("weight_decay", math.nan), ("ensemble", 0)])
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


def test_shifted_chunks_need_carried_state_and_ensembles_an_iteration_each():
    with pytest.raises(ConfigError, match="shift_chunks .*carry_state"):
        TrainConfig(shift_chunks=True)
    with pytest.raises(ConfigError, match="n_epochs \\(2\\) is shared by the 3 models"):
        TrainConfig(n_epochs=2, ensemble=3)
    TrainConfig(n_epochs=2, ensemble=3, budget_minutes=1.0)  # a budget is shared by time


def test_weight_decay_shrinks_the_weights_and_zero_is_plain_adam():
    cfg = TrainConfig(n_epochs=20, lr=0.01, **SMALL)
    plain = train(cfg, TEXT, verbose=False, progress=False)
    assert train(cfg.replace(weight_decay=0.0), TEXT, verbose=False, progress=False).history \
        == plain.history
    decayed = train(cfg.replace(weight_decay=5.0), TEXT, verbose=False, progress=False)

    def norm(model):
        return float(sum(p.detach().pow(2).sum() for p in model.parameters()))

    assert norm(decayed.model) < 0.9 * norm(plain.model)


def test_an_ensemble_trains_its_members_on_shares_and_averages_their_probabilities(monkeypatch):
    cfg = TrainConfig(n_epochs=25, ensemble=2, valid_frac=0.05, eval_every=5, **SMALL)
    valid = TEXT[:300]
    parts = []  # the members' own results, to compare times without timing anything

    def recorded(*args, **kwargs):
        parts.append(real(*args, **kwargs))
        return parts[-1]

    real = train_module._train_one
    monkeypatch.setattr(train_module, "_train_one", recorded)
    result = train(cfg, TEXT, valid, verbose=False, progress=False)
    monkeypatch.undo()
    first = train(cfg.replace(ensemble=1, n_epochs=13), TEXT, valid, verbose=False, progress=False)
    second = train(cfg.replace(ensemble=1, n_epochs=12, seed=cfg.seed + 1), TEXT, valid,
                   verbose=False, progress=False)
    assert result.status == "ok" and result.member_iterations == [13, 12]
    assert result.iterations == 25 and result.history == first.history + second.history
    assert len(parts) == 2 and result.wall_time == parts[0].wall_time + parts[1].wall_time
    # the members are the runs their configs describe, and the ensemble mixes probabilities
    x = TEXT[None, :60]
    p = [torch.softmax(m.model(x)[0], -1) for m in (first, second)]
    with torch.no_grad():
        mixed = torch.softmax(result.model(x)[0], -1)
    assert torch.allclose(mixed, (p[0] + p[1]).detach() / 2, atol=1e-5)
    # the curve: each member's points from the start of the run, then the ensemble's
    its = [it for it, _, _ in result.valid_curve]
    assert its == [5, 10, 13, 18, 23, 25, 25]
    assert [s for _, s, _ in result.valid_curve] == sorted(s for _, s, _ in result.valid_curve)
    assert result.valid_bpc == pytest.approx(bpc(result.model, valid))
    # -log of a mean probability is at most the mean of the -logs (Jensen)
    assert result.valid_bpc <= (first.valid_bpc + second.valid_bpc) / 2


def test_an_ensemble_survives_the_checkpoint_and_sampling(tmp_path):
    cfg = TrainConfig(n_epochs=6, ensemble=3, **SMALL)
    result = train(cfg, TEXT, verbose=False, progress=False)
    path = save_checkpoint(tmp_path / "e.pt", Checkpoint(result.model, result.config,
                                                         result.history, result.meta()))
    loaded = load_checkpoint(path)
    assert isinstance(loaded.model, Ensemble) and len(loaded.model.members) == 3
    assert loaded.meta["member_iterations"] == [2, 2, 2]
    assert generate(loaded.model, "It ", 30, 0.8, seed=3) == generate(result.model, "It ", 30, 0.8, seed=3)
    assert bpc(loaded.model, TEXT[:200]) == pytest.approx(bpc(result.model, TEXT[:200]))


def test_an_ensemble_stopped_early_keeps_the_members_it_has(monkeypatch):
    calls = []
    real = train_module._train_one

    def flaky(cfg, *args, **kwargs):
        result = real(cfg, *args, **kwargs)
        calls.append(cfg.seed)
        if len(calls) == 2:
            result.interrupted = True
        return result

    monkeypatch.setattr(train_module, "_train_one", flaky)
    result = train(TrainConfig(n_epochs=9, ensemble=3, **SMALL), TEXT, verbose=False, progress=False)
    assert result.status == "interrupted" and len(calls) == 2
    assert result.config.ensemble == 2 and len(result.model.members) == 2


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_layers_run_one_at_a_time_compute_what_the_fused_call_computes(cell):
    torch.manual_seed(0)
    layered = CharRNN(16, 2, cell, dropout=0.3, dropout_masks="locked", weight_drop=0.4).eval()
    fused = CharRNN(16, 2, cell, dropout=0.3).eval()
    assert layered.layered and not fused.layered
    fused.load_state_dict(layered.state_dict())  # one layout: the same names and shapes
    x = torch.randint(0, VOCAB_SIZE, (3, 11))
    a, state_a = layered(x)
    b, state_b = fused(x)
    assert torch.allclose(a, b, atol=1e-6)
    for s, t in zip(*(((s,) if torch.is_tensor(s) else s) for s in (state_a, state_b))):
        assert s.shape == t.shape == (2, 3, 16) and torch.allclose(s, t, atol=1e-6)
    # and from a carried state, as truncated BPTT runs it
    assert torch.allclose(layered(x, state_a)[0], fused(x, state_b)[0], atol=1e-6)


def test_one_parameter_layout_whatever_the_regularisers():
    names = [list(CharRNN(8, 3, **kw).state_dict()) for kw in (
        {}, dict(dropout=0.2), dict(dropout=0.2, dropout_masks="fast"), dict(weight_drop=0.3),
        dict(dropout=0.1, dropout_masks="locked", weight_drop=0.1))]
    assert all(n == names[0] for n in names)
    assert "rnn.weight_hh_l2" in names[0] and not any("layers" in n for n in names[0])


def test_a_checkpoint_in_the_older_layer_by_layer_layout_still_loads(tmp_path):
    torch.manual_seed(0)
    cfg = TrainConfig(dropout=0.2, dropout_masks="fast", hidden_size=8, n_layers=2)
    model = CharRNN(8, 2, dropout=0.2, dropout_masks="fast")
    older = {re.sub(r"^rnn\.(\w+)_l(\d)$", r"rnn.layers.\2.\1_l0", k): v
             for k, v in model.state_dict().items()}
    assert "rnn.layers.1.weight_hh_l0" in older
    path = save_checkpoint(tmp_path / "old.pt", Checkpoint(model, cfg, [], {}))
    payload = torch.load(path, weights_only=True)
    payload["state_dict"] = older
    torch.save(payload, path)
    loaded = load_checkpoint(path).model
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(),
                                                 model.state_dict().values()))


def test_locked_dropout_draws_one_mask_per_sequence():
    drop = LockedDropout(0.5).train()
    torch.manual_seed(0)
    out = drop(torch.ones(4, 20, 64))
    assert set(out.unique().tolist()) == {0.0, 2.0}  # kept units are scaled by 1 / (1 - p)
    assert torch.equal(out, out[:, :1].expand_as(out))  # the same along the sequence
    assert not torch.equal(out[0], out[1])  # one mask per sequence of the batch
    assert 0.3 < float((out == 0).float().mean()) < 0.7
    x = torch.randn(2, 5, 8)
    assert torch.equal(drop.eval()(x), x)


def test_fast_dropout_drops_each_element_with_probability_p():
    drop = FastDropout(0.2).train()
    torch.manual_seed(0)
    x = torch.ones(32, 100, 256, requires_grad=True)
    out = drop(x)
    keep = 1 - round(0.2 * 65536) / 65536
    assert out.unique().tolist() == [0.0, pytest.approx(1 / keep)]
    assert float((out == 0).float().mean()) == pytest.approx(0.2, abs=0.003)  # 819,200 draws
    assert float(out.detach().mean()) == pytest.approx(1.0, abs=0.005)  # the expectation is kept
    assert not torch.equal(out, drop(x))  # a new mask every call
    assert not torch.equal(out[:, :1].expand_as(out), out)  # per element, not per sequence
    out.sum().backward()
    assert torch.equal(x.grad, out.detach())  # the gradient passes the same mask
    torch.manual_seed(1)
    a = drop(x)
    torch.manual_seed(1)
    assert torch.equal(a, drop(x))  # reproducible from torch's seed
    assert torch.equal(drop.eval()(x), x)


def test_weight_drop_thins_the_recurrent_weights_in_training_only():
    torch.manual_seed(0)
    model = CharRNN(16, 1, weight_drop=0.5)
    before = model.rnn.weight_hh_l0.detach().clone()
    x = torch.randint(0, VOCAB_SIZE, (2, 12))
    a, b = model(x)[0], model(x)[0]
    assert not torch.allclose(a, b)  # a new DropConnect mask each call
    a.sum().backward()
    grad = model.rnn.weight_hh_l0.grad
    assert grad is not None and 0.2 < float((grad == 0).float().mean()) < 0.8  # dropped: no gradient
    assert torch.equal(model.rnn.weight_hh_l0, before)  # the weights are not changed
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])


def test_locked_dropout_and_weight_drop_train_save_and_load(tmp_path):
    with pytest.raises(ConfigError, match="dropout_masks 'fast' .*set dropout too"):
        TrainConfig(dropout_masks="fast")
    with pytest.raises(ConfigError, match="dropout_masks must be one of torch, fast, locked"):
        TrainConfig(dropout=0.2, dropout_masks="per-character")
    with pytest.raises(ConfigError, match="weight_drop must be in"):
        TrainConfig(weight_drop=1.0)
    plain = TrainConfig(n_epochs=6, dropout=0.2, **SMALL)
    cfg = plain.replace(dropout_masks="locked", weight_drop=0.2)
    assert run_key(cfg) != run_key(plain)
    result = train(cfg, TEXT, verbose=False, progress=False)
    assert result.status == "ok" and result.model.layered
    path = save_checkpoint(tmp_path / "w.pt", Checkpoint(result.model, result.config,
                                                         result.history, result.meta()))
    loaded = load_checkpoint(path)
    assert loaded.config.dropout_masks == "locked" and loaded.config.weight_drop == 0.2
    assert generate(loaded.model, "It ", 30, 0.8, seed=3) == generate(result.model, "It ", 30, 0.8, seed=3)


def test_the_search_refuses_a_results_file_with_other_columns_before_training(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "budget_search", paths.ROOT / "benchmarks" / "budget_search.py")
    search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(search)
    settings = tmp_path / "s.yaml"
    settings.write_text("- {dropout: 0.1}\n")
    out = tmp_path / "old.csv"
    out.write_text("key,hidden_size\nabc,256\n")
    monkeypatch.setattr(sys, "argv", ["budget_search.py", str(settings), "--out", str(out)])
    monkeypatch.setattr(search, "cached_run", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(SystemExit, match="has the columns .*add the new columns"):
        search.main()
    assert out.read_text() == "key,hidden_size\nabc,256\n"  # rows would not have lined up
