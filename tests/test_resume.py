"""Issue 29: a run interrupted and resumed ends as it would have uninterrupted; a run started from a
saved model's weights (fine-tuning) records where it started and is cached under its own key; the
run cache never holds an unfinished run."""

from __future__ import annotations

import os
import re
import shlex
import signal
from contextlib import contextmanager
from typing import Iterator

import pytest
import torch

from charlm import TrainConfig, load_checkpoint, save_checkpoint, train
from charlm.checkpoint import Checkpoint, weights_sha256
from charlm.config import check_resumable
from charlm.corpora import corpus
from charlm.data import split_corpus
from charlm.errors import CheckpointError, ConfigError
from charlm.runs import cache_path, cached_run, load_cached, run_key, save_cached, train_run
from charlm.train import Clock
from conftest import one_line, popen_cli, run_cli, run_main

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
def _interrupt_at(k: int, times: int = 1, sig: int = signal.SIGINT) -> Iterator[None]:
    """Ctrl-C (a real SIGINT to this process, or ``sig``) during iteration ``k`` of the run in
    the block."""
    tick, count = Clock.tick, [0]

    def ticked(self):
        tick(self)
        count[0] += 1
        if count[0] == k:
            for _ in range(times):
                os.kill(os.getpid(), sig)

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


def test_sigterm_mapped_to_ctrl_c_as_the_command_line_does_is_held_too(tmp_path):
    def interrupt(*_):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)  # what charlm.cli installs
    try:
        with _interrupt_at(6, sig=signal.SIGTERM):
            part = _run(SETTINGS["default"])
        assert signal.getsignal(signal.SIGTERM) is interrupt
    finally:
        signal.signal(signal.SIGTERM, before)
    assert part.status == "interrupted" and part.iterations == 6 and part.resume is not None
    assert _run(SETTINGS["default"], resume=part.resume).history == _run(SETTINGS["default"]).history


def test_resuming_with_other_settings_is_refused_naming_the_first_that_differs(tmp_path):
    cfg = SETTINGS["default"]
    saved = _interrupted(cfg, tmp_path, k=5)
    with pytest.raises(ConfigError, match=r"^lr 0\.01 differs from the run being resumed \(lr "
                                          r"0\.005\).*--init_from"):
        _run(cfg.replace(lr=0.01), resume=saved.resume)
    with pytest.raises(ConfigError, match="no run can change the model's shape"):
        check_resumable(cfg.replace(hidden_size=8), cfg)
    check_resumable(cfg.replace(print_every=7, device="cpu"), cfg)  # printing and placement


def test_the_command_line_refuses_a_resume_that_would_change_the_run(tmp_path, capsys):
    _interrupted(SETTINGS["default"], tmp_path, k=5)  # saved as part.pt
    path = str(tmp_path / "part.pt")
    cases = {("--lr", "0.01"): "--lr 0.01 differs from the run being resumed (lr 0.005)",
             ("--hidden_size", "8"): "--hidden_size 8 differs from the run being resumed",
             ("--corpus", "dickens_test.txt"): "--corpus 'dickens_test.txt' differs",
             ("--init_from", path): "not allowed with argument --resume"}
    for extra, message in cases.items():
        status, _, err = run_main(["--default_train", "--resume", path, *extra, "--quiet"], capsys)
        assert status == 2 and message in one_line(err)
    status, _, err = run_main(["--custom_train", "--resume", path], capsys)
    assert status == 2 and "--resume goes with --default_train or --best_train" in one_line(err)
    finished = tmp_path / "done.pt"
    torch.save(torch.load(path, weights_only=True) | {"resume": None}, finished)
    status, _, err = run_main(["--default_train", "--resume", finished], capsys)
    assert status == 2 and "holds no state to resume from" in one_line(err)


def test_a_resumed_run_on_a_changed_corpus_is_refused(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("It was the best of times, it was the worst of times. " * 200)
    cfg = SETTINGS["default"].replace(corpus=str(text))
    with _interrupt_at(5):
        result, ckpt = train_run(cfg)
    path = save_checkpoint(tmp_path / "part.pt", ckpt)
    text.write_text("Another text altogether, and not the one the run started on. " * 200)
    status, _, err = run_main(["--default_train", "--resume", path], capsys)
    assert status == 2 and f"the corpus {text} has changed since the run started" in one_line(err)


def test_the_cache_never_holds_an_unfinished_run():
    cfg = SETTINGS["default"].replace(n_epochs=10)
    with _interrupt_at(4):
        result, ckpt = train_run(cfg)
    assert result.interrupted and ckpt.resume is not None
    with pytest.raises(CheckpointError, match="an unfinished run .* is not cached"):
        save_cached(ckpt)
    with _interrupt_at(4), pytest.raises(KeyboardInterrupt):  # cached_run saves nothing
        cached_run(cfg)
    assert not cache_path(cfg).exists()
    save_checkpoint(cache_path(cfg), ckpt)  # as if something had put it there
    warned = []
    assert load_cached(cfg, warn=warned.append) is None
    assert "holds an unfinished run (status 'interrupted')" in warned[0]
    assert cached_run(cfg).meta["status"] == "ok"  # trained again, finished, cached


def test_a_fine_tuned_run_records_its_source_and_has_its_own_cache_entry(monkeypatch, tmp_path):
    text = tmp_path / "other.txt"
    text.write_text("def f(x):\n    return x + 1\n\n" * 300)
    source_cfg = SETTINGS["default"].replace(n_epochs=10)
    tuned_cfg = source_cfg.replace(corpus=str(text), lr=1e-9, n_epochs=5, seed=7)
    tuned = cached_run(tuned_cfg, init_from=source_cfg)  # trains the source first, then tunes
    source = cached_run(source_cfg)
    digest = weights_sha256(source.model)
    assert tuned.meta["init_from"] == {"sha256": digest, "config": source_cfg.to_dict(),
                                       "key": run_key(source_cfg)}
    assert tuned.meta["key"] == run_key(tuned_cfg, digest) != run_key(tuned_cfg)
    assert not cache_path(tuned_cfg).exists() and cache_path(tuned_cfg, digest).exists()
    for a, b in zip(tuned.model.parameters(), source.model.parameters()):  # lr 1e-9: barely moved
        assert torch.allclose(a, b, atol=1e-6)
    monkeypatch.setattr("charlm.runs.train_run", lambda *a, **k: pytest.fail("trained again"))
    assert cached_run(tuned_cfg, init_from=source).meta["key"] == tuned.meta["key"]
    with pytest.raises(ConfigError, match=r"^hidden_size 8 conflicts with the model to start "
                                          r"from \(hidden_size 16\)"):
        cached_run(tuned_cfg.replace(hidden_size=8), init_from=source)


def test_init_from_on_the_command_line(tmp_path, capsys):
    source, tuned = tmp_path / "source.pt", tmp_path / "tuned.pt"
    text = tmp_path / "other.txt"
    text.write_text("def f(x):\n    return x + 1\n\n" * 300)
    tiny = ["--n_epochs", "10", "--print_every", "5", "--quiet"]
    assert main_ok(["--default_train", "--hidden_size", "16", "--n_layers", "1", *tiny,
                    "--save", source], capsys)
    status, out, err = run_main(["--default_train", "--init_from", source, "--corpus", text,
                                 "--lr", "0.001", *tiny, "--save", tuned], capsys)
    assert status == 0, err
    assert f"starting from the weights of {source} (lstm, hidden_size 16 x n_layers 1" in out
    src, got = load_checkpoint(source), load_checkpoint(tuned)
    assert got.config.hidden_size == 16 and got.config.n_layers == 1  # shape from the checkpoint
    assert got.config.corpus == str(text) and got.config.lr == 0.001  # the rest from the flags
    assert got.meta["init_from"]["sha256"] == weights_sha256(src.model)
    assert got.meta["init_from"]["config"] == src.config.to_dict()
    status, _, err = run_main(["--default_train", "--init_from", source, "--n_layers", "2"], capsys)
    assert status == 2 and "--n_layers 2 conflicts with the model to start from (n_layers 1)" \
        in one_line(err)


def main_ok(argv, capsys) -> bool:
    status, _, err = run_main(argv, capsys)
    assert status == 0, err
    return True


@pytest.mark.slow
def test_ctrl_c_during_default_train_then_resume_ends_as_the_uninterrupted_run(tmp_path):
    """The issue's acceptance test: Ctrl-C mid --default_train leaves a checkpoint and one line
    with the command that resumes it; that command finishes the run with the weights, history
    and final BPC of the same run left alone."""
    args = ["--default_train", "--n_epochs", "600", "--hidden_size", "16", "--print_every", "50",
            "--quiet"]
    whole = popen_cli(*args, "--save", tmp_path / "whole.pt")  # side by side
    part = popen_cli(*args, "--save", tmp_path / "part.pt")
    for line in part.stdout:
        if "(100 16%)" in line:
            break
    part.send_signal(signal.SIGINT)
    out, err = part.communicate(timeout=120)
    assert part.returncode == 130 and "Traceback" not in err, err
    said = re.search(r"^interrupted at iteration (\d+)/600; checkpoint of that point saved to "
                     r"(.+); resume it with: (python -m charlm .+)$", out, re.M)
    assert said and 100 <= int(said[1]) < 600 and said[2] == str(tmp_path / "part.pt")
    assert said[3] == f"python -m charlm --default_train --resume {tmp_path / 'part.pt'}"
    assert load_checkpoint(tmp_path / "part.pt").resume is not None
    resumed = run_cli(*shlex.split(said[3])[3:], "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {tmp_path / 'part.pt'} at iteration {said[1]} of 600" in resumed.stdout
    assert "threads: 1 (as the run being resumed had" in resumed.stdout
    whole_out, whole_err = whole.communicate(timeout=300)
    assert whole.returncode == 0, whole_err
    bpc_lines = [re.findall(r"^BPC on .*$", o, re.M) for o in (whole_out, resumed.stdout)]
    assert len(bpc_lines[0]) == 2 and bpc_lines[0] == bpc_lines[1]
    a, b = load_checkpoint(tmp_path / "whole.pt"), load_checkpoint(tmp_path / "part.pt")
    assert b.meta["status"] == "ok" and b.resume is None and a.history == b.history
    for key, value in a.model.state_dict().items():
        assert torch.equal(b.model.state_dict()[key], value), key
