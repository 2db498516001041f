"""The command line's failure paths (issue 10): bad destinations are refused before any work,
nothing the project did not write is overwritten, a late failed write keeps the result, a
diverged run exits 1 and keeps its checkpoint, and a model with non-finite weights gives one
line and exit 2 wherever it is used. In process (``charlm.cli.main``), tiny models."""

from __future__ import annotations

import errno
import re

import pytest

from conftest import one_line, run_main
from charlm import checkpoint, commands, load_checkpoint
from charlm.studies import runner

TINY = ["--n_epochs", "20", "--hidden_size", "8", "--print_every", "10", "--quiet"]


@pytest.mark.parametrize("argv, message", [
    (["--default_train", "--save", "{tmp}"], "--save .* is a directory"),
    (["--best_train", "--save", "{tmp}/afile/x.pt"], "afile is not a folder"),
    (["--custom_train", "--log", "{tmp}"], "--log .* is a directory"),
    (["--plot_loss", "--log", "{tmp}/afile/log.csv"], "afile is not a folder"),
    (["--default_train", "--save", "{tmp}/notes.txt"], "not a charlm checkpoint; it will not be overwritten"),
    (["--custom_train", "--log", "{tmp}/notes.txt"], "not an experiment log .*; it will not be overwritten"),
])
def test_bad_destinations_are_refused_before_any_training(tmp_path, capsys, monkeypatch, argv, message):
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "notes.txt").write_text("my notes\n")

    def no_training(*args, **kwargs):
        raise AssertionError("training started before the destination was checked")

    monkeypatch.setattr(commands, "train_run", no_training)
    monkeypatch.setattr(runner, "cached_run", no_training)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + TINY + ["--workers", "1"]
    status, out, err = run_main(argv, capsys)
    assert status == 2 and out == ""
    assert re.search(message, one_line(err))
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"


def test_a_write_that_fails_at_the_end_keeps_the_checkpoint_under_runs(tmp_path, capsys, monkeypatch):
    target = tmp_path / "model.pt"
    real = checkpoint.save_checkpoint

    def disk_full(path, ckpt):
        if str(path) == str(target):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, ckpt)

    monkeypatch.setattr(checkpoint, "save_checkpoint", disk_full)
    status, out, err = run_main(["--default_train", *TINY, "--save", str(target)], capsys)
    assert status == 0 and not target.exists()
    assert "could not write" in err and "No space left on device" in err
    rescued = sorted((tmp_path / "runs").glob("rescued-*.pt"))
    assert len(rescued) == 1 and load_checkpoint(rescued[0]).meta["status"] == "ok"
    assert f"saved {rescued[0]}" in out


@pytest.fixture
def diverged(tmp_path, capsys):
    save = tmp_path / "diverged.pt"
    status, out, err = run_main(["--default_train", *TINY, "--lr", "1e308", "--save", str(save)],
                               capsys)
    return status, out, err, save


def test_a_diverged_run_exits_1_and_keeps_its_checkpoint(diverged):
    status, out, err, save = diverged
    assert status == 1
    assert "training diverged at iteration" in one_line(err) and str(save) in err
    ckpt = load_checkpoint(save)
    assert ckpt.meta["status"] == "diverged" and ckpt.meta["diverged_at"] >= 1
    assert "BPC on" not in out


@pytest.mark.parametrize("argv", [
    ["generate", "--checkpoint", "{save}"],
    ["generate", "--checkpoint", "{save}", "--greedy"],
    ["bpc", "--checkpoint", "{save}", "data/dickens_test.txt"],
    ["--diff_temp", "--checkpoint", "{save}"],
])
def test_every_use_of_a_non_finite_model_is_one_line_and_exit_2(diverged, capsys, argv):
    save = diverged[3]
    status, out, err = run_main([a.replace("{save}", str(save)) for a in argv], capsys)
    assert status == 2 and "non-finite scores" in one_line(err)


def test_abbreviated_flags_are_refused(capsys):
    status, out, err = run_main(["--default_train", "--hidden", "5"], capsys)
    assert status == 2 and "unrecognized arguments: --hidden 5" in one_line(err)
