"""Issue 4: user mistakes end in one clear line (exit 2), and nothing computed is lost."""

import csv
import os
import signal
import time

import pytest
import torch

from charlm import load_checkpoint
from charlm.atomic import atomic_write, atomic_write_text
from charlm.cli import main
from charlm.paths import environ
from conftest import ROOT, popen_cli, run_cli


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A tiny trained checkpoint (shared by the tests of this module)."""
    folder = tmp_path_factory.mktemp("ckpt")
    path = folder / "tiny.pt"
    with environ({"CHARLM_RUNS_DIR": str(folder / "runs")}):
        assert main(["--default_train", "--n_epochs", "10", "--hidden_size", "8", "--quiet",
                     "--save", str(path)]) == 0
    return path


def _one_line_error(argv, capsys) -> str:
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("charlm: error: ") and err.count("\n") == 1, err
    return err


def test_priming_string_errors_and_unidecode(ckpt, capsys):
    err = _one_line_error(["generate", "--checkpoint", ckpt, "--prime_str", "ab\x01"], capsys)
    assert "'\\x01'" in err and "position 2" in err
    err = _one_line_error(["generate", "--checkpoint", ckpt, "--prime_str", ""], capsys)
    assert "prime_str must be a non-empty string" in err
    assert main(["generate", "--checkpoint", str(ckpt), "--prime_str", "caf\u00e9",
                 "--predict_len", "5", "--seed", "1"]) == 0
    assert capsys.readouterr().out.startswith("cafe")


def test_bad_checkpoints_on_the_command_line(tmp_path, ckpt, capsys):
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "text.pt").write_text("hello")
    (tmp_path / "random.pt").write_bytes(os.urandom(1000))
    (tmp_path / "trunc.pt").write_bytes(ckpt.read_bytes()[:3000])
    cases = {tmp_path: "is a directory", tmp_path / "empty.pt": "is empty",
             tmp_path / "text.pt": "not a torch file", tmp_path / "random.pt": "not a torch file",
             tmp_path / "trunc.pt": "truncated or corrupt", tmp_path / "nope.pt": "does not exist"}
    for path, message in cases.items():
        for argv in (["generate", "--checkpoint", path],
                     ["bpc", "--checkpoint", path, "data/dickens_test.txt"],
                     ["--diff_temp", "--checkpoint", path]):
            assert message in _one_line_error(argv, capsys)


@pytest.mark.parametrize("content,message", [
    ("base: {hidden_size: [1, 2\n", "is not valid YAML/JSON at line"),
    ("[{hiden_size: 16}]", "unknown key 'hiden_size'"),
    ("[{hidden_size: 'big'}]", "key 'hidden_size' must be int, got 'big'"),
    ("[{lr: -1}]", "lr must be a finite number > 0"),
    ("vary: {n_layers: 2}", "vary.n_layers must be a non-empty list"),
    ("vary: {n_layers: [1, x]}", "key 'n_layers' must be int, got 'x'"),
    ("just a string", "must hold a non-empty list of settings"),
    ("[]", "must hold a non-empty list of settings"),
])
def test_bad_settings_files(tmp_path, content, message, capsys):
    path = tmp_path / "settings.yaml"
    path.write_text(content)
    err = _one_line_error(["--custom_train", "--settings", path, "--log", tmp_path / "l.csv"],
                          capsys)
    assert message in err


def test_bad_corpus_and_short_bpc_text(tmp_path, ckpt, capsys):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bin.txt").write_bytes(b"\x89PNG\x00\x00")
    (tmp_path / "one.txt").write_text("x")
    for corpus, message in [(tmp_path / "missing.txt", "does not exist"),
                            (tmp_path / "empty.txt", "holds 0 characters"),
                            (tmp_path / "bin.txt", "is not a text file")]:
        err = _one_line_error(["--default_train", "--n_epochs", "1", "--corpus", corpus], capsys)
        assert message in err
    err = _one_line_error(["bpc", "--checkpoint", ckpt, tmp_path / "one.txt"], capsys)
    assert "holds 1 characters; at least 2 are needed" in err


def test_corpus_failing_its_checksum_is_refused(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("dickens_train.txt", "dickens_test.txt", "dickens_test_large.txt"):
        (data / name).write_bytes((ROOT / "data" / name).read_bytes())
    (data / "dickens_train.txt").write_text("It was the best of times. " * 100)
    monkeypatch.setenv("CHARLM_DATA_DIR", str(data))
    monkeypatch.setenv("CHARLM_DATA_MIRROR", str(tmp_path / "no_mirror"))
    err = _one_line_error(["--default_train", "--n_epochs", "1"], capsys)
    assert "dickens_train.txt fails its checksum: expected sha256 4164ad85" in err


def test_atomic_write_keeps_the_old_file_on_a_crash(tmp_path):
    target = tmp_path / "log.csv"
    atomic_write_text(target, "good\n")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as fh:
            fh.write("half a fi")
            raise RuntimeError("crash in the middle of a write")
    assert target.read_text() == "good\n"
    assert list(tmp_path.iterdir()) == [target]


_popen = popen_cli


@pytest.mark.slow
def test_ctrl_c_during_default_train_saves_a_checkpoint(tmp_path):
    save = tmp_path / "d.pt"
    proc = _popen("--default_train", "--n_epochs", "100000", "--hidden_size", "16",
                  "--print_every", "50", "--quiet", "--save", str(save))
    for line in proc.stdout:
        if "(50 0%)" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "checkpoint of that point saved to" in out and "charlm: interrupted" in err
    assert "Traceback" not in err
    ckpt = load_checkpoint(save)
    assert ckpt.meta["status"] == "interrupted" and ckpt.meta["iterations"] >= 50


def _study(tmp_path, n=5):
    settings = tmp_path / "study.yaml"
    settings.write_text("base: {n_epochs: 200, hidden_size: 32, print_every: 1000}\n"
                        f"vary: {{seed: {list(range(1, n + 1))}}}\n")
    return ["--custom_train", "--settings", str(settings), "--log", str(tmp_path / "log.csv"),
            "--workers", "2", "--quiet"]


def _rows(tmp_path):
    path = tmp_path / "log.csv"
    return list(csv.DictReader(open(path))) if path.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_interrupted_study_keeps_finished_runs_and_resumes(tmp_path, how):
    args = _study(tmp_path)
    proc = _popen(*args)
    deadline = time.time() + 120
    while not _rows(tmp_path) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(how)
    out, err = proc.communicate(timeout=60)
    kept = _rows(tmp_path)
    assert 1 <= len(kept) < 5, "the study should have been stopped part-way"
    if how == signal.SIGTERM:
        assert proc.returncode == 130 and "Traceback" not in err
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert f"{len(kept)} of 5 runs already" in again.stdout
    rows = _rows(tmp_path)
    assert len(rows) == len({r["key"] for r in rows}) == 5  # no duplicates
    for old in kept:  # finished rows kept exactly
        assert old in rows


@pytest.mark.slow
def test_same_seed_same_run_twice(tmp_path):
    procs = [_popen("--default_train", "--n_epochs", "200", "--quiet", "--save",
                    str(tmp_path / name)) for name in ("a.pt", "b.pt")]  # side by side
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outs.append([l for l in out.splitlines() if not l.startswith(("0m", "saved"))])
    a, b = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(tmp_path / "b.pt")
    assert a.history == b.history and outs[0] == outs[1]
    for key in ("torch_version", "threads", "seed"):
        assert a.meta[key] == b.meta[key] is not None
    x = torch.arange(20)[None, :]
    assert torch.equal(a.model(x)[0], b.model(x)[0])
