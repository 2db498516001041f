"""Issue 29: a run interrupted and resumed ends as it would have uninterrupted."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator

import pytest
import torch

from charlm import TrainConfig, load_checkpoint, save_checkpoint, train
from charlm.checkpoint import Checkpoint
from charlm.config import check_resumable
from charlm.corpora import corpus
from charlm.data import split_corpus
from charlm.errors import ConfigError
from charlm.train import Clock

TEXT = corpus("dickens_train.txt")[:60_000]
TRAIN, VALID = split_corpus(TEXT, 0.2)
SMALL = dict(n_epochs=40, hidden_size=16, n_layers=2, chunk_len=30, print_every=10, plot_every=3)
SETTINGS = {
    "default": TrainConfig(**SMALL),
    # everything that keeps state across iterations: carried streams and their resets, shifted
    # chunks, dropout masks, the cosine schedule, weight decay, clipping, the weight average,
    # validation points, batches of several chunks
    "stateful": TrainConfig(**SMALL, carry_state=True, shift_chunks=True, reset_prob=0.3,
                            batch_size=4, dropout=0.2, dropout_masks="fast", lr_schedule="cosine",
                            clip=1.0, weight_decay=0.1, decay_params="matrices", ema=0.9,
                            valid_frac=0.2, eval_every=10),
    "gru_weight_drop_bf16": TrainConfig(**SMALL, cell="gru", dropout=0.3, dropout_masks="locked",
                                        weight_drop=0.2, batch_size=2, precision="auto"),
    "ensemble": TrainConfig(**SMALL, ensemble=2, dropout=0.1, valid_frac=0.2),
}


def _run(cfg: TrainConfig, **kw):
    valid = VALID if cfg.valid_frac else None
    return train(cfg, TRAIN if valid is not None else TEXT, valid, verbose=False, progress=False,
                 **kw)


@contextmanager
def _interrupt_at(k: int, times: int = 1) -> Iterator[None]:
    """Ctrl-C (a real SIGINT to this process) during iteration ``k`` of the run in the block."""
    tick, count = Clock.tick, [0]

    def ticked(self):
        tick(self)
        count[0] += 1
        if count[0] == k:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Clock, "tick", ticked)
        yield


def _interrupted(cfg, tmp_path, k):
    """``cfg`` interrupted at iteration ``k``, saved and loaded back."""
    with _interrupt_at(k):
        part = _run(cfg)
    assert part.status == "interrupted" and part.iterations == k and part.resume is not None
    path = save_checkpoint(tmp_path / "part.pt", Checkpoint(part.model, part.config, part.history,
                                                            part.meta(), part.resume))
    return load_checkpoint(path)


def _timeless(log: list[str]) -> list[str]:
    return [line.split(" ", 2)[2] if line[:1].isdigit() and "m " in line[:6] else line
            for line in log]


@pytest.mark.parametrize("name", SETTINGS)
def test_a_run_interrupted_and_resumed_ends_as_the_uninterrupted_one(name, tmp_path):
    cfg = SETTINGS[name]
    whole = _run(cfg)
    saved = _interrupted(cfg, tmp_path, k=17)
    assert saved.meta["status"] == "interrupted" and saved.meta["iterations"] == 17
    resumed = _run(cfg, resume=saved.resume)
    assert resumed.status == "ok" and resumed.iterations == whole.iterations == 40
    assert resumed.history == whole.history  # bit for bit
    assert _timeless(resumed.log) == _timeless(whole.log)  # the printed samples too
    assert [v for *_, v in resumed.valid_curve] == [v for *_, v in whole.valid_curve]
    assert resumed.model.state_dict().keys() == whole.model.state_dict().keys()
    for key, value in whole.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key


def test_interrupted_at_the_first_and_the_last_iteration_too(tmp_path):
    cfg = SETTINGS["default"].replace(n_epochs=12)
    whole = _run(cfg)
    for k in (1, 12):
        resumed = _run(cfg, resume=_interrupted(cfg, tmp_path, k).resume)
        assert resumed.history == whole.history and resumed.status == "ok"
        assert all(torch.equal(a, b) for a, b in zip(resumed.model.parameters(),
                                                     whole.model.parameters()))


def test_a_budget_run_resumes_with_the_budget_it_has_left(tmp_path):
    cfg = TrainConfig(**SMALL | dict(print_every=10**6), budget_minutes=1.5 / 60,
                      lr_schedule="cosine")
    saved = _interrupted(cfg, tmp_path, k=5)
    used = saved.resume["loop"]["seconds"]
    assert 0 < used < 1.0
    resumed = _run(cfg, resume=saved.resume)
    assert resumed.status == "ok" and resumed.iterations > 5
    assert 1.5 <= resumed.wall_time < 2.0  # the whole budget, counted across both parts


def test_a_second_ctrl_c_stops_at_once_and_leaves_nothing_to_resume():
    with _interrupt_at(3, times=2):
        result = _run(SETTINGS["default"])
    assert result.status == "interrupted" and result.resume is None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_resuming_with_other_settings_is_refused_naming_the_first_that_differs(tmp_path):
    cfg = SETTINGS["default"]
    saved = _interrupted(cfg, tmp_path, k=5)
    with pytest.raises(ConfigError, match=r"^lr 0\.01 differs from the run being resumed \(lr "
                                          r"0\.005\).*--init_from"):
        _run(cfg.replace(lr=0.01), resume=saved.resume)
    with pytest.raises(ConfigError, match="no run can change the model's shape"):
        check_resumable(cfg.replace(hidden_size=8), cfg)
    check_resumable(cfg.replace(print_every=7, device="cpu"), cfg)  # printing and placement
