"""Failures met at the edges: NaN models, unwritable destinations, binary text files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import charlm.atomic
import charlm.sample
from charlm import VOCAB, TrainConfig, build_model, load_checkpoint, save_checkpoint
from charlm.atomic import atomic_write, atomic_write_text, check_destination
from charlm.checkpoint import Checkpoint, save_checkpoint_or_fallback
from charlm.data import read_text
from charlm.errors import (
    CharlmError,
    CheckpointError,
    ConfigError,
    DataError,
    ModelError,
)
from charlm.evaluate import bpc, bpc_interval, char_bits
from charlm.model import check_finite
from charlm.sample import generate

TEXT = "It was the best of times, it was the worst of times."


def tiny_model():
    torch.manual_seed(0)
    return build_model(TrainConfig(hidden_size=8, n_layers=1))


def nan_model():
    model = tiny_model()
    with torch.no_grad():
        model.rnn.weight_hh_l0[0, 0] = float("nan")  # one weight, as a diverged run leaves it
    return model


# --- non-finite models -------------------------------------------------------------------


def test_finite_model_passes_the_check_and_samples():
    model = tiny_model()
    check_finite(model)
    assert len(generate(model, "A", 20, seed=1)) == 21
    assert 0 < bpc(model, TEXT) < 10


def test_check_finite_names_what_was_checked():
    with pytest.raises(ModelError, match="^checkpoint x.pt gives non-finite scores .*divergence"):
        check_finite(nan_model(), "checkpoint x.pt")
    assert issubclass(ModelError, CharlmError)


@pytest.mark.parametrize("greedy", [False, True])
def test_generate_on_nan_weights_is_a_model_error(greedy):
    with pytest.raises(ModelError, match="non-finite scores"):
        generate(nan_model(), "The ", 20, seed=1, greedy=greedy)


def test_generate_on_inf_decoder_bias_is_a_model_error():
    model = tiny_model()
    with torch.no_grad():
        model.decoder.bias[3] = float("inf")
    for greedy in (False, True):
        with pytest.raises(ModelError):
            generate(model, "The ", 5, seed=1, greedy=greedy)


@pytest.mark.parametrize("greedy", [False, True])
def test_nan_first_met_while_generating_is_a_model_error(greedy, monkeypatch):
    """Past the up-front weight check, the per-step checks still catch non-finite scores."""
    monkeypatch.setattr(charlm.sample, "check_finite", lambda *args, **kwargs: None)
    text = generate(tiny_model(), "A", 40, seed=3, greedy=greedy)
    fed = next(ch for ch in text[1:-2] if ch != "A")  # generated, then fed, never primed
    model = tiny_model()
    with torch.no_grad():
        model.encoder.weight[VOCAB.index(fed)] = float("nan")
    with pytest.raises(ModelError, match="non-finite scores"):
        generate(model, "A", 40, seed=3, greedy=greedy)


def test_bpc_and_char_bits_on_nan_weights_are_model_errors():
    model = nan_model()
    with pytest.raises(ModelError):
        char_bits(model, TEXT)
    with pytest.raises(ModelError):
        bpc(model, TEXT)
    with pytest.raises(ModelError):
        bpc_interval(model, TEXT, n_boot=10)


def test_nan_checkpoint_loads_for_its_history_but_does_not_sample(tmp_path):
    cfg = TrainConfig(hidden_size=8, n_layers=1)
    path = save_checkpoint(tmp_path / "diverged.pt",
                           Checkpoint(nan_model(), cfg, [4.6, 3.1, float("nan")],
                                      {"status": "diverged", "diverged_at": 30}))
    ckpt = load_checkpoint(path)
    assert ckpt.history[:2] == [4.6, 3.1] and ckpt.meta["status"] == "diverged"
    with pytest.raises(ModelError):
        generate(ckpt.model, "A", 10, seed=1)
    with pytest.raises(ModelError):
        bpc(ckpt.model, TEXT)


# --- destinations ----------------------------------------------------------------------


def test_check_destination_accepts_new_and_existing_files(tmp_path):
    assert check_destination(tmp_path / "new.pt", "--save") == (tmp_path / "new.pt").resolve()
    # missing folders are created by atomic_write, under the nearest existing (writable) one
    assert check_destination(tmp_path / "a" / "b" / "new.pt", "--save").parent.name == "b"
    (tmp_path / "old.pt").write_bytes(b"x")
    assert check_destination(str(tmp_path / "old.pt"), "--save") == (tmp_path / "old.pt").resolve()


@pytest.mark.parametrize("make, name, message", [
    (lambda d: (d / "folder").mkdir(), "folder", "is a directory"),
    (lambda d: None, "newfolder/", "is a directory"),
    (lambda d: (d / "afile").write_text("x"), "afile/x.pt", "afile is not a folder"),
    (lambda d: (d / "afile").write_text("x"), "afile/new/x.pt", "afile is not a folder"),
    (lambda d: os.mkfifo(d / "fifo"), "fifo", "is not a regular file"),
])
def test_check_destination_refuses(tmp_path, make, name, message):
    make(tmp_path)
    with pytest.raises(ConfigError, match=f"^--save .*{message}"):
        check_destination(f"{tmp_path}/{name}", "--save")


def test_check_destination_refuses_an_unwritable_folder(tmp_path, monkeypatch):
    # the tests run as root, for whom chmod 0o500 changes nothing: creating a file is the test
    real_mkstemp = charlm.atomic.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kw):
        if dir is not None and Path(dir) == tmp_path.resolve():
            raise PermissionError(13, "Permission denied")
        return real_mkstemp(*args, dir=dir, **kw)

    monkeypatch.setattr(charlm.atomic.tempfile, "mkstemp", mkstemp)
    with pytest.raises(ConfigError, match=r"is not writable \(creating a file there: Permission denied\)"):
        check_destination(tmp_path / "x.pt", "--save")


def test_atomic_write_to_a_directory_leaves_no_temporary_file_in_its_parent(tmp_path):
    (tmp_path / "runs").mkdir()
    for target in (tmp_path / "runs", f"{tmp_path}/runs/", f"{tmp_path}/new/"):
        with pytest.raises(IsADirectoryError):
            atomic_write_text(target, "hello")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    assert list((tmp_path / "runs").iterdir()) == []


def test_atomic_write_puts_its_temporary_file_next_to_the_final_file(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "log.csv").write_text("old")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real" / "log.csv")
    with atomic_write(tmp_path / "link.csv", "w") as fh:
        fh.write("new")
        temporary = [p for p in tmp_path.rglob("*.tmp")]
    assert [p.parent for p in temporary] == [tmp_path / "real"]
    assert (tmp_path / "link.csv").is_symlink()  # the link is kept, the file it names replaced
    assert (tmp_path / "real" / "log.csv").read_text() == "new"


def test_save_checkpoint_to_a_directory_creates_no_temporary_file(tmp_path, monkeypatch):
    cfg = TrainConfig(hidden_size=8, n_layers=1)
    (tmp_path / "out").mkdir()
    folders = []
    real_mkstemp = charlm.atomic.tempfile.mkstemp
    monkeypatch.setattr(charlm.atomic.tempfile, "mkstemp",
                        lambda **kw: folders.append(kw["dir"]) or real_mkstemp(**kw))
    with pytest.raises(IsADirectoryError):
        save_checkpoint(tmp_path / "out", Checkpoint(tiny_model(), cfg))
    assert folders == []  # refused before a temporary file was made (in out's parent)
    save_checkpoint(tmp_path / "out" / "x.pt", Checkpoint(tiny_model(), cfg))
    assert folders == [tmp_path / "out"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_fallback_save_keeps_the_checkpoint(tmp_path):
    cfg = TrainConfig(hidden_size=8, n_layers=1)
    ckpt = Checkpoint(tiny_model(), cfg, [4.6, 2.0])
    rescue_dir = tmp_path / "runs"
    # the destination works: no fallback, no message
    messages = []
    assert save_checkpoint_or_fallback(tmp_path / "ok.pt", ckpt, rescue_dir, messages.append) \
        == tmp_path / "ok.pt"
    assert messages == [] and not rescue_dir.exists()
    # the destination fails (its folder is a file): two rescues, never overwriting each other
    (tmp_path / "blocker").write_text("x")
    first = save_checkpoint_or_fallback(tmp_path / "blocker" / "x.pt", ckpt, rescue_dir,
                                        messages.append)
    second = save_checkpoint_or_fallback(tmp_path / "blocker" / "x.pt", ckpt, rescue_dir,
                                         messages.append)
    assert first != second and first.parent == second.parent == rescue_dir
    assert first.name.startswith("rescued-") and first.suffix == ".pt"
    assert load_checkpoint(first).history == [4.6, 2.0] == load_checkpoint(second).history
    assert len(messages) == 2
    assert messages[0].startswith(f"could not write {tmp_path / 'blocker' / 'x.pt'} (")
    assert messages[0].endswith(f"; saved the checkpoint to {first} instead")


def test_fallback_save_that_fails_too_names_both_reasons(tmp_path):
    cfg = TrainConfig(hidden_size=8, n_layers=1)
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(CheckpointError, match="could not write the checkpoint to .* nor to "):
        save_checkpoint_or_fallback(tmp_path / "blocker" / "x.pt",
                                    Checkpoint(tiny_model(), cfg), tmp_path / "blocker" / "runs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_fallback_message_goes_to_stderr_by_default(tmp_path, capsys):
    cfg = TrainConfig(hidden_size=8, n_layers=1)
    saved = save_checkpoint_or_fallback(f"{tmp_path}/gone/", Checkpoint(tiny_model(), cfg),
                                        tmp_path / "runs")
    assert saved.parent == tmp_path / "runs"
    err = capsys.readouterr().err
    assert err.startswith("charlm: warning: could not write ") and err.count("\n") == 1


# --- text files ------------------------------------------------------------------------


def test_nul_byte_error_gives_its_offset(tmp_path):
    path = tmp_path / "binary.txt"
    path.write_bytes(b"Some text\x00more\x00")
    with pytest.raises(DataError, match=r"contains a NUL byte at offset 9\)$"):
        read_text(path)
