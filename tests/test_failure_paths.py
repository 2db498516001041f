"""Failure paths, third round (issue 20): closed pipes, concurrent and damaged logs, damaged
cache entries, the report's destinations and executed copies, destinations that only root's
``os.access`` calls writable, unreadable files and odd environments, values the machine cannot
serve, YAML's ``1e-3``, and the memory of ``bpc``. Each failure is one line on stderr
(``charlm: error: ...``, or ``warning:`` where the work goes on) and loses nothing computed.
In process with tiny models, except the tests marked ``slow`` (real processes and pipes)."""

from __future__ import annotations

import errno
import fcntl
import os
import pathlib
import re
import subprocess
import sys
import tracemalloc

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _report_build import tiny_notebooks
from nbformat.v4 import new_code_cell

import charlm.atomic
import charlm.checkpoint
from conftest import one_line, run_main
from charlm import TrainConfig, build_model, load_checkpoint, save_checkpoint
from charlm import evaluate
from charlm.checkpoint import Checkpoint
from charlm.cli import PipeSafeOutput, main
from charlm.config import coerce, parse_as
from charlm.data import encode
from charlm.errors import CharlmError, CheckpointError, ConfigError
from charlm.evaluate import char_bits
from charlm.runs import cache_path, cached_run, load_cached, train_run
from charlm.report import build as report
from charlm.report import execute, schedule
from charlm.report import params as report_params
from charlm.sample import generate
from charlm.studies import runner
from charlm.studies.settings import load_settings

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY = ["--n_epochs", "20", "--hidden_size", "8", "--n_layers", "1", "--print_every", "10",
        "--plot_every", "5", "--chunk_len", "50", "--quiet"]


def tiny_cfg(**kw) -> TrainConfig:
    return TrainConfig(n_epochs=20, hidden_size=8, n_layers=1, print_every=10, plot_every=5,
                       chunk_len=50).replace(**kw)


def _no_training(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("trained although the destination was refused")
    monkeypatch.setattr(charlm.commands, "train_run", refuse)


# --- 1. closed pipes: the output ends, the work does not ----------------------------------


class ClosedPipe:
    """A stdout whose reader has gone: every write raises BrokenPipeError."""

    def __init__(self):
        self.attempts = 0

    def write(self, text):
        self.attempts += 1
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_pipe_safe_output_drops_what_follows_a_closed_pipe():
    stream = ClosedPipe()
    out = PipeSafeOutput(stream)
    assert out.write("one\n") == 4 and out.pipe_closed
    out.write("two\n")
    out.flush()
    assert stream.attempts == 1  # after the first failure nothing more is tried


def test_a_closed_pipe_during_training_still_saves_the_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    save = tmp_path / "m.pt"
    assert main(["--default_train", *TINY, "--save", str(save)]) == 0
    assert load_checkpoint(save).meta["status"] == "ok"
    assert capsys.readouterr().err == ""  # quiet, as `yes | head` is


def test_generate_and_bpc_into_a_closed_pipe_exit_quietly(tmp_path, monkeypatch, capsys):
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, Checkpoint(build_model(tiny_cfg()), tiny_cfg()))
    text = tmp_path / "t.txt"
    text.write_text("It was the best of times, it was the worst of times.")
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["generate", "--checkpoint", str(ckpt), "--predict_len", "50"]) == 0
    assert main(["bpc", "--checkpoint", str(ckpt), str(text)]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_head_on_a_real_pipe_keeps_the_checkpoint_and_prints_no_traceback(tmp_path):
    # the pipe holds 4 KB; 100 printed iterations with a 100-character sample each, or 8,000
    # generated characters, are more, so the writer meets the closed pipe whatever the timing
    save = tmp_path / "m.pt"
    argv = ["--default_train", "--n_epochs", "100", "--hidden_size", "8", "--n_layers", "1",
            "--print_every", "1", "--chunk_len", "20", "--quiet", "--save", str(save)]
    for args in (argv, ["generate", "--checkpoint", str(save), "--predict_len", "8000"]):
        proc = subprocess.Popen([sys.executable, "-m", "charlm", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=ROOT, env=os.environ.copy())
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
        proc.stdout.readline()  # `| head -n 1`
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=300) == 0, err
        assert "Traceback" not in err and "Broken pipe" not in err and err == "", err
        assert load_checkpoint(save).meta["status"] == "ok"


# --- 2. the experiment log: a lock for appends, damaged rows set aside, a full disk --------


def test_a_study_that_logs_meanwhile_keeps_its_rows(tmp_path):
    # study A reads the log, study B logs two runs while A trains, then A logs: B's rows stay
    log = tmp_path / "log.csv"
    first = {"done": False}
    real_run_one = runner._run_one

    def run_one(cfg_dict):
        if not first["done"]:
            first["done"] = True
            runner.run_study([tiny_cfg(seed=3), tiny_cfg(seed=4)], log, workers=1, say=None)
        return real_run_one(cfg_dict)

    runner._run_one, saved = run_one, runner._run_one
    try:
        runner.run_study([tiny_cfg(seed=1), tiny_cfg(seed=2)], log, workers=1, say=None)
    finally:
        runner._run_one = saved
    seeds = sorted(int(r["seed"]) for r in runner.read_log(log))
    assert seeds == [1, 2, 3, 4]


@pytest.mark.slow
def test_two_studies_at_once_on_one_log_log_every_run(tmp_path):
    log = tmp_path / "log.csv"
    procs = []
    for seeds in ((1, 2), (3, 4)):
        settings = tmp_path / f"s{seeds[0]}.yaml"
        settings.write_text("".join(f"- {{seed: {s}}}\n" for s in seeds))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "charlm", "--custom_train", *TINY, "--workers", "1",
             "--settings", str(settings), "--log", str(log)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=os.environ.copy()))
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert sorted(int(r["seed"]) for r in runner.read_log(log)) == [1, 2, 3, 4]


def _logged(tmp_path, seeds=(1, 2)):
    log = tmp_path / "log.csv"
    runner.run_study([tiny_cfg(seed=s) for s in seeds], log, workers=1, say=None)
    return log


def test_damaged_rows_are_set_aside_with_one_warning_and_logged_again(tmp_path, capsys):
    log = _logged(tmp_path)
    good = log.read_text()
    lines = good.splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    row = dict(zip(header, lines[1].rstrip("\n").split(",")))
    bad_key = ",".join((row | {"key": row["key"][:7]})[k] for k in header) + "\n"
    bad_number = ",".join((row | {"bpc_test": "2.4x"})[k] for k in header) + "\n"
    cut_off = lines[2][:40]  # a crash in the middle of the write: no end of line
    log.write_text(lines[0] + bad_key + lines[1] + bad_number + lines[2] + cut_off)
    rows, damaged = runner.read_log_rows(log)
    assert [d.line for d in damaged] == [2, 4, 6]
    assert "not a run key" in damaged[0].reason and "not a number" in damaged[1].reason
    assert "cut off" in damaged[2].reason and len(rows) == 2
    capsys.readouterr()
    df = runner.run_study([tiny_cfg(seed=1), tiny_cfg(seed=2)], log, workers=1, say=None)
    warning = one_line(capsys.readouterr().err, "warning")
    assert "3 damaged row(s) set aside" in warning and "line 2" in warning
    assert list(df["bpc_test"].notna()) == [True, True]
    assert (tmp_path / "log.csv.damaged").read_text() == bad_key + bad_number + cut_off + "\n"
    assert log.read_text() == good  # whole again, the damaged rows kept beside it
    runner.run_study([tiny_cfg(seed=1)], log, workers=1, say=None)
    assert capsys.readouterr().err == ""  # set aside once


def test_a_full_disk_keeps_the_old_log_and_the_trained_runs(tmp_path, monkeypatch, capsys):
    log = _logged(tmp_path, seeds=(1,))
    before = log.read_text()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "write_log", full)
    status, out, err = run_main(["--custom_train", *TINY, "--workers", "1", "--log", log,
                             "--settings", _settings(tmp_path, "- {seed: 2}\n- {seed: 3}\n")], capsys)
    assert status == 2
    line = one_line(err)
    assert "cannot write the log" in line and "No space left on device" in line
    assert log.read_text() == before
    for seed in (2, 3):  # both trained and cached: a rerun logs them without training
        assert cache_path(tiny_cfg(seed=seed)).is_file()


def _settings(tmp_path, text: str, name: str = "s.yaml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- 3. damaged cache entries: set aside, reported, retrained -----------------------------


def _damage(path: pathlib.Path, how: str) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if how == "truncated" else b"overwritten by hand")
    return path.read_bytes()


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
def test_a_damaged_cache_entry_is_set_aside_and_retrained(how, capsys):
    cfg = tiny_cfg()
    first = cached_run(cfg)
    damaged = _damage(cache_path(cfg), how)
    again = cached_run(cfg)
    warning = one_line(capsys.readouterr().err, "warning")
    aside = cache_path(cfg).with_name(cache_path(cfg).name + ".damaged")
    assert f"set aside as {aside}" in warning and "training it again" in warning
    assert aside.read_bytes() == damaged  # moved, never deleted
    assert again.history == first.history and load_checkpoint(cache_path(cfg)).history == first.history
    _damage(cache_path(cfg), how)
    assert load_cached(cfg) is None and aside.with_name(aside.name + "-2").is_file()


def test_loss_curves_retrain_a_damaged_entry(capsys):
    # what --plot_loss and the report's 03 read after the study (which skips logged runs)
    cfg = tiny_cfg()
    history = cached_run(cfg).history
    _damage(cache_path(cfg), "truncated")
    assert runner.load_histories([cfg]) == {runner.run_key(cfg): history}
    assert "damaged cache entry" in one_line(capsys.readouterr().err, "warning")


def test_plot_loss_and_diff_temp_get_past_a_damaged_entry(tmp_path, capsys):
    log = tmp_path / "log.csv"
    argv = ["--plot_loss", *TINY, "--lrs", "0.01,0.02", "--workers", "1", "--log", log]
    assert run_main(argv, capsys)[0] == 0
    _damage(cache_path(tiny_cfg(lr=0.01)), "truncated")
    status, out, err = run_main(argv, capsys)
    assert status == 0 and "figure: " in out
    assert "damaged cache entry" in one_line(err, "warning")
    cached_run(tiny_cfg())
    _damage(cache_path(tiny_cfg()), "overwritten")
    status, out, err = run_main(["--diff_temp", *TINY, "--temps", "0.5"], capsys)
    assert status == 0 and "--- temperature 0.5 ---" in out
    assert "damaged cache entry" in one_line(err, "warning")


# --- 4. the report: destinations first, damaged executed copies, no stale temporaries ------


def _notebooks(folder: pathlib.Path) -> list[pathlib.Path]:
    return tiny_notebooks(folder, "n: int = 1  # a parameter\nlr: float = 0.1  # another")


def _no_kernels(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a notebook ran before the destinations were checked")
    monkeypatch.setattr(execute, "run_notebook", refuse)


@pytest.mark.parametrize("case, message", [
    ("output is a folder", "the report .* is a directory"),
    ("executed is a file", "the executed notebook .* is not a folder"),
    ("report folder read-only", r"the report .* is not writable \(.*Read-only file system\)"),
    ("executed read-only", r"the executed notebook .* is not writable \(.*Read-only file system\)"),
])
def test_the_report_checks_its_destinations_before_any_notebook_runs(
        tmp_path, monkeypatch, case, message, capsys):
    nbs = _notebooks(tmp_path / "notebooks")
    out_dir = tmp_path / "report"
    (out_dir / "executed").mkdir(parents=True)
    output = out_dir / "report.html"
    if case == "output is a folder":
        output.mkdir()
    if case == "executed is a file":
        (out_dir / "executed").rmdir()
        (out_dir / "executed").write_text("x")
    if "read-only" in case:
        locked = out_dir.resolve() if case.startswith("report") else (out_dir / "executed").resolve()
        real = charlm.atomic.tempfile.mkstemp

        def mkstemp(*a, dir=None, **k):
            if dir is not None and pathlib.Path(dir) == locked:
                raise OSError(errno.EROFS, "Read-only file system")
            return real(*a, dir=dir, **k)

        monkeypatch.setattr(charlm.atomic.tempfile, "mkstemp", mkstemp)
    _no_kernels(monkeypatch)
    with pytest.raises(CharlmError, match=message):
        report.build(notebooks_dir=nbs[0].parent, output=output, say=None)
    status = report.main(["--notebooks", str(nbs[0].parent), "--output", str(output)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("charlm report: error: "), err


@pytest.mark.parametrize("content", [b"", b'{"cells": [', b"{}", b"[]", b"\xff\xfe garbage",
                                     b'{"cells": 3, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'])
def test_a_damaged_executed_copy_is_out_of_date_not_fatal(tmp_path, content):
    path = tmp_path / "00_a.ipynb"
    path.write_bytes(content)
    assert execute.executed_key(path) is None and execute.read_executed(path) is None


def _fake_runs(monkeypatch):
    ran = []

    def run_notebook(src, dst, parameters, kernel, key, kernels=None, hooks=None):
        ran.append(src.name)
        nb = nbformat.read(str(src), as_version=4)
        nb.metadata["charlm"] = {"execution_key": key}
        nbformat.write(nb, str(dst))
        return 0.0

    monkeypatch.setattr(schedule, "run_notebook", run_notebook)
    return ran


def test_only_re_executes_a_damaged_copy_and_stale_temporaries_are_removed(tmp_path, monkeypatch):
    nbs = _notebooks(tmp_path / "notebooks")
    executed = tmp_path / "executed"
    executed.mkdir()
    ran = _fake_runs(monkeypatch)
    schedule.run_notebooks(nbs, executed, {}, say=None)
    assert sorted(ran) == ["00_a.ipynb", "01_b.ipynb"]  # side by side: in either order
    (executed / "01_b.ipynb").write_text('{"cells": [')  # truncated
    stale = [executed / ".00_a.ipynb.k1ll3d.ipynb", executed / ".01_b.ipynb.x.tmp"]
    for f in stale:
        f.write_text("left by a kill -9")
    (executed / "notes.txt").write_text("not ours")
    lines = []
    schedule.run_notebooks(nbs, executed, {}, say=lines.append, only=["00"])
    assert sorted(ran[2:]) == ["00_a.ipynb", "01_b.ipynb"]
    assert "[2/2] 01_b.ipynb: the executed copy is damaged; executing it again" in lines
    assert not any(f.exists() for f in stale) and (executed / "notes.txt").exists()


@pytest.mark.slow
def test_a_killed_build_leaves_no_temporary_file_once_built_again(tmp_path):
    nbs = _notebooks(tmp_path / "notebooks")
    nb = nbformat.read(str(nbs[1]), as_version=4)
    nb.cells.append(new_code_cell("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    nbformat.write(nb, str(nbs[1]))
    out = tmp_path / "out" / "report.html"
    cmd = [sys.executable, "-m", "charlm.report", "--notebooks", str(nbs[0].parent),
           "--output", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == -9  # the kernel killed the build in the middle of 01
    assert list((out.parent / "executed").glob(".*"))  # the temporary file it left
    nb.cells.pop()
    nbformat.write(nb, str(nbs[1]))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not list((out.parent / "executed").glob(".*"))


# --- 5. destination checks create a file: root's os.access says yes to /proc --------------


@pytest.mark.parametrize("argv", [
    ["--default_train", *TINY, "--save", "/proc/x.pt"],
    ["--custom_train", *TINY, "--log", "/proc/x.csv"],
    ["--plot_loss", *TINY, "--log", "/proc/charlm/x.csv"],
])
def test_a_destination_where_no_file_can_be_created_is_refused_before_training(
        argv, monkeypatch, capsys):
    _no_training(monkeypatch)
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("a study ran"))
    status, out, err = run_main(argv, capsys)
    assert status == 2 and "folder /proc is not writable" in one_line(err)


# --- 6. unreadable files and environments that point at files -----------------------------


def _unreadable(monkeypatch, module, target):
    """``open`` in ``module`` refuses ``target``, as for a user without read permission (as
    root, chmod 000 stops nothing)."""
    real = open

    def fake_open(path, *a, **k):
        if pathlib.Path(path) == pathlib.Path(target):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(module, "open", fake_open, raising=False)


def _unreadable_path(monkeypatch, target, method):
    real = getattr(pathlib.Path, method)

    def fake(self, *a, **k):
        if self == pathlib.Path(target):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, method, fake)


def test_unreadable_files_are_one_line_errors(tmp_path, monkeypatch, capsys):
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, Checkpoint(build_model(tiny_cfg()), tiny_cfg()))
    text = tmp_path / "t.txt"
    text.write_text("some text to score")
    settings = _settings(tmp_path, "- {seed: 2}\n")
    log = _logged(tmp_path, seeds=(1,))
    _unreadable(monkeypatch, charlm.checkpoint, ckpt)
    _unreadable(monkeypatch, runner, log)
    _unreadable_path(monkeypatch, text, "read_bytes")
    _unreadable_path(monkeypatch, settings, "read_text")
    for argv, message in [
        (["generate", "--checkpoint", ckpt], f"checkpoint {ckpt} cannot be read (Permission denied)"),
        (["bpc", "--checkpoint", tmp_path / "other.pt", text], f"text file {text} cannot be read"),
        (["--custom_train", *TINY, "--settings", settings, "--log", tmp_path / "new.csv"],
         f"settings file {settings} cannot be read"),
        (["--custom_train", *TINY, "--log", log], f"log {log} cannot be read"),
    ]:
        status, out, err = run_main(argv, capsys)
        assert status == 2 and message in one_line(err), (argv, err)


@pytest.mark.parametrize("variable", ["CHARLM_DATA_DIR", "CHARLM_RUNS_DIR"])
@pytest.mark.parametrize("under", [False, True])
def test_a_data_or_runs_dir_that_is_a_file_isone_line(tmp_path, monkeypatch, capsys, variable, under):
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv(variable, str(afile / "sub" if under else afile))
    status, out, err = run_main(["--default_train", *TINY], capsys)
    line = one_line(err)
    assert status == 2 and f"{variable}=" in line and "not a folder" in line, line


def test_make_data_with_the_data_dir_at_a_file_isone_line(tmp_path, monkeypatch, capsys):
    from charlm import fetch
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("CHARLM_DATA_DIR", str(tmp_path / "afile"))
    assert fetch.main([]) == 2
    assert "CHARLM_DATA_DIR=" in one_line(capsys.readouterr().err)


def test_any_other_os_error_isone_line(monkeypatch, capsys):
    def boom(args):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", "/some/where")
    monkeypatch.setattr(charlm.commands, "cmd_bpc", boom)
    status, out, err = run_main(["bpc", "x.txt"], capsys)
    assert status == 2 and one_line(err) == "charlm: error: /some/where: Is a directory"


# --- 7. values the argument checks let through and the machine cannot serve ----------------


@pytest.mark.parametrize("argv, message", [
    (["--default_train", "--hidden_size", "1000000"], "training hidden_size 1000000 .* needs at least"),
    (["--default_train", "--batch_size", "1000000000000"], "batch_size 1000000000000 .* GB available"),
    (["--default_train", "--seed", str(2**64)], r"seed must be an integer from 0 to 2\*\*64 - 1"),
    (["generate", "--seed", str(2**64)], r"seed must be an integer from 0 to 2\*\*64 - 1"),
    (["--default_train", "--device", "xpu"], "device 'xpu' is not supported"),
    (["--default_train", "--device", "meta"], "device 'meta' is not supported"),
    (["--default_train", "--device", "cpu:3"], "device 'cpu:3' is not supported"),
    (["--default_train", "--device", "warp9"], "device must be a torch device name"),
    (["generate", "--prime_str", "\U0001F600"], "has no character in the vocabulary"),
])
def test_what_the_machine_cannot_serve_is_refused_at_once(argv, message, monkeypatch, capsys, tmp_path):
    _no_training(monkeypatch)
    if argv[0] == "generate":
        ckpt = tmp_path / "m.pt"
        save_checkpoint(ckpt, Checkpoint(build_model(tiny_cfg()), tiny_cfg()))
        argv = [*argv, "--checkpoint", str(ckpt)]
    status, out, err = run_main(argv, capsys)
    assert status == 2
    assert re.search(message, one_line(err)), err


@pytest.mark.parametrize("kw", [{}, {"cell": "gru", "hidden_size": 20}, {"cell": "rnn", "n_layers": 3},
                                {"ensemble": 2, "dropout": 0.2, "weight_drop": 0.1}])
def test_the_parameter_count_is_the_model_s(kw):
    from charlm.machine import parameter_count
    cfg = tiny_cfg(**kw)
    assert parameter_count(cfg) == sum(p.numel() for p in build_model(cfg).parameters())


def test_the_memory_limit_is_checked_before_allocating():
    from charlm.machine import available_memory, training_bytes
    assert training_bytes(TrainConfig()) < 50e6 < available_memory()
    with pytest.raises(ConfigError, match="needs at least"):
        train_run(TrainConfig(hidden_size=10**6))
    assert TrainConfig(seed=2**64 - 1).seed == 2**64 - 1
    with pytest.raises(ConfigError, match="prime_str"):
        generate(build_model(tiny_cfg()), "\U0001F600\U0001F600", 5, seed=1)


@pytest.mark.parametrize("text, how", [
    ("- {seed: 5}\n- {seed: 5}\n", "they are identical"),
    ("- {seed: 5, print_every: 10}\n- {seed: 5, print_every: 20}\n", "they differ only in print_every"),
    ("vary: {device: [cpu, 'cpu:0']}\n", "they differ only in device"),
])
def test_settings_that_name_one_run_twice_areone_line(tmp_path, capsys, text, how):
    settings = _settings(tmp_path, text)
    with pytest.raises(ConfigError, match=f"runs 1 and 2 are the same run \\({how}"):
        load_settings(str(settings), tiny_cfg())
    status, out, err = run_main(["--custom_train", *TINY, "--settings", settings,
                             "--log", tmp_path / "log.csv"], capsys)
    assert status == 2 and "are the same run" in one_line(err)


# --- 8. one numeric parser for YAML, papermill and the command line ------------------------


@pytest.mark.parametrize("text, kind, want", [
    ("1e-3", "float", 0.001), ("5e-3", "float", 0.005), (" 0.01 ", "float", 0.01),
    ("3", "float", 3.0), ("1e3", "int", 1000), ("3000", "int", 3000), ("true", "bool", True),
])
def test_one_parser_reads_numbers_written_as_text(text, kind, want, tmp_path):
    assert parse_as(kind, text) == want and type(parse_as(kind, text)) is type(want)
    assert coerce("x", text, kind) == want
    assert report_params._coerce("x", report_params.parse_value(text.strip()), kind, "nb") == want


@pytest.mark.parametrize("text, kind", [("1e-3x", "float"), ("1.5", "int"), ("2", "bool"), (True, "int")])
def test_one_parser_refuses_what_is_not_the_type(text, kind):
    with pytest.raises(ValueError):
        parse_as(kind, text)


def test_lr_1e_3_in_a_settings_file_and_a_report_parameter(tmp_path):
    settings = _settings(tmp_path, "base: {lr: 1e-3}\nvary: {clip: [1e-1, 1]}\n")
    assert [(c.lr, c.clip) for c in load_settings(str(settings), tiny_cfg())] == [(0.001, 0.1), (0.001, 1.0)]
    nbs = _notebooks(tmp_path / "notebooks")
    parse = report_params.parse_value
    per_nb = report_params.split_params({"lr": parse("1e-3"), "n": parse("7")}, nbs)
    assert per_nb[nbs[0]] == {"lr": 0.001, "n": 7}
    params = tmp_path / "p.yaml"
    params.write_text("lr: 1e-3\n")
    assert report_params.split_params(report_params.read_params_file(params), nbs)[nbs[1]] == {"lr": 0.001}


def test_the_cli_reads_1e_3_as_the_settings_do(tmp_path, capsys):
    status, out, err = run_main(["--custom_train", *TINY, "--lr", "1e-3", "--n_epochs", "2e1",
                             "--workers", "1", "--log", tmp_path / "log.csv"], capsys)
    assert status == 0, err
    assert {r["lr"] for r in runner.read_log(tmp_path / "log.csv")} >= {"0.001"}


# --- 9. bpc streams: the same numbers, flat memory, a progress bar -------------------------


def _reference_bits(model, text, slice_len=2048):
    """char_bits as it was before: every slice's result kept, concatenated at the end."""
    data = encode(text)
    out, state = [], None
    with torch.no_grad():
        model.eval()
        for start in range(0, len(data) - 1, slice_len):
            logits, state = model(data[:-1][start:start + slice_len][None, :], state)
            out.append(F.cross_entropy(logits[0].double(), data[1:][start:start + slice_len],
                                       reduction="none").numpy())
    return np.concatenate(out) / np.log(2)


def test_streaming_bits_are_exactly_what_they_were():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(hidden_size=16, n_layers=2))
    text = (ROOT / "data" / "dickens_test.txt").read_text()
    for slice_len in (2048, 100, 7):
        new = char_bits(model, text, slice_len)
        assert new.dtype == np.float64 and np.array_equal(new, _reference_bits(model, text, slice_len))
    assert np.array_equal(char_bits(model, encode(text)), char_bits(model, text))


def test_bpc_memory_beside_the_result_is_about_one_byte_per_character():
    model = build_model(tiny_cfg())
    text = ("It was the best of times, it was the worst of times. " * 40_000)[:2_000_000]
    tracemalloc.start()
    try:
        bits = char_bits(model, text, slice_len=4096)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the result is 8 bytes a character; before, the text was held as 8-byte indices and every
    # slice's result twice (the list and its concatenation): over 24 bytes a character
    assert len(bits) == len(text) - 1 and peak < 10.5 * len(text), peak / len(text)


def test_long_texts_show_a_progress_bar(monkeypatch, capsys):
    monkeypatch.delenv("CHARLM_PROGRESS")
    monkeypatch.setattr(evaluate, "PROGRESS_FROM", 1000)
    model = build_model(tiny_cfg())
    char_bits(model, "abc " * 500, progress=True)
    assert "bpc" in capsys.readouterr().err
    char_bits(model, "abc " * 200, progress=True)  # short: no bar
    assert capsys.readouterr().err == ""


def test_a_checkpoint_error_is_still_a_checkpoint_error(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "x.pt")
