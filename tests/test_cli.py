"""The command line end to end on the real corpus with tiny settings, and its error handling."""

import csv
import json

import pytest

from charlm.cli import main
from conftest import run_cli

# --workers 1: these tests check behaviour, not the pool (tests/test_experiments.py does)
TINY = ["--n_epochs", "20", "--hidden_size", "16", "--print_every", "10", "--quiet", "--workers", "1"]



def test_every_mode_in_process(tmp_path, capsys):
    """The fast tier's end-to-end check: each mode once, in this process, tiny settings."""
    save, log = tmp_path / "d.pt", tmp_path / "log.csv"
    assert main(["--default_train", *TINY, "--save", str(save)]) == 0
    out = capsys.readouterr().out
    assert "(20 100%)" in out and "BPC on dickens_test_large.txt: " in out
    assert main(["generate", "--checkpoint", str(save), "--predict_len", "5", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out.rstrip("\n")) == 6
    assert main(["bpc", "--checkpoint", str(save), "data/dickens_test.txt"]) == 0
    assert 1.0 < float(capsys.readouterr().out) < 7.0
    assert main(["--custom_train", *TINY, "--settings", str(_settings(tmp_path)), "--log", str(log)]) == 0
    assert "best by dickens_test.txt" in capsys.readouterr().out and len(list(csv.DictReader(open(log)))) == 2
    assert main(["--plot_loss", *TINY, "--lrs", "0.001,0.01", "--log", str(log)]) == 0
    assert "figure: " in capsys.readouterr().out
    assert main(["--diff_temp", *TINY, "--checkpoint", str(save), "--temps", "0.5"]) == 0
    assert "--- temperature 0.5 ---" in capsys.readouterr().out


def _settings(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("- {hidden_size: 8}\n- {hidden_size: 12}\n")
    return path


@pytest.mark.slow
def test_default_train_prints_coursework_lines_and_saves(tmp_path):
    save = tmp_path / "d.pt"
    r = run_cli("--default_train", *TINY, "--save", str(save))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(l.startswith("0m ") and "(10 50%)" in l for l in lines)
    assert any(l.startswith("0m ") and "(20 100%)" in l for l in lines)
    sample = lines[lines.index(next(l for l in lines if "(10 50%)" in l)) + 1]
    assert sample.startswith("A")
    assert "BPC on dickens_test.txt: " in r.stdout and "BPC on dickens_test_large.txt: " in r.stdout
    assert save.is_file()

    g = run_cli("generate", "--checkpoint", str(save), "--prime_str", "The ", "--predict_len",
                "30", "--temperature", "0.5", "--seed", "3")
    g2 = run_cli("generate", "--checkpoint", str(save), "--prime_str", "The ", "--predict_len",
                 "30", "--temperature", "0.5", "--seed", "3")
    assert g.returncode == 0 and g.stdout == g2.stdout and g.stdout.startswith("The ")
    assert len(g.stdout.rstrip("\n")) == 34

    b = run_cli("bpc", "--checkpoint", str(save), "data/dickens_test.txt")
    assert b.returncode == 0 and 1.0 < float(b.stdout) < 7.0
    assert f"BPC on dickens_test.txt: {float(b.stdout):.4f}" in r.stdout


@pytest.mark.slow
def test_custom_train_writes_log_and_resumes(tmp_path):
    log = tmp_path / "experiment_logs.csv"
    r = run_cli("--custom_train", *TINY, "--log", str(log))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(log)))
    # hidden 64/128/256 around the base (16), then layers 1/3 and lr 0.001/0.01 with the base once
    assert len(rows) == 8
    for col in ("hidden_size", "n_layers", "lr", "seed", "iterations", "min_loss", "final_loss",
                "bpc_test", "wall_time_s", "n_params", "status", "torch_version", "threads"):
        assert all(row[col] != "" for row in rows), col
    assert {row["status"] for row in rows} == {"ok"}
    assert {row["hidden_size"] for row in rows} == {"16", "64", "128", "256"}
    again = run_cli("--custom_train", *TINY, "--log", str(log))
    assert "8 of 8 runs already" in again.stdout
    assert list(csv.DictReader(open(log))) == rows  # nothing retrained, no duplicate rows


@pytest.mark.slow
def test_custom_train_settings_file(tmp_path):
    log = tmp_path / "log.csv"
    settings = tmp_path / "s.yaml"
    settings.write_text("base: {hidden_size: 16, n_epochs: 20}\nvary: {n_layers: [1, 2]}\n")
    r = run_cli("--custom_train", "--settings", str(settings), "--log", str(log), "--quiet")
    assert r.returncode == 0, r.stderr
    assert [row["n_layers"] for row in csv.DictReader(open(log))] == ["1", "2"]
    assert "best by dickens_test.txt (the coursework's way" in r.stdout and "bpc_valid" not in r.stdout
    # with a validation split the choice is made on it, and its column is shown
    r = run_cli("--custom_train", "--settings", str(settings), "--log", str(log), "--quiet",
                "--valid_frac", "0.05")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(log)))[2:]
    best = min(rows, key=lambda row: float(row["bpc_valid"]))
    assert "bpc_valid" in r.stdout
    assert f"best by validation: lstm hidden=16 layers={best['n_layers']} " in r.stdout


@pytest.mark.slow
def test_plot_loss_draws_one_chart_per_ten_runs(tmp_path):
    figs = tmp_path / "figures"
    r = run_cli("--plot_loss", *TINY, "--lrs", "0.001,0.01", "--log", str(tmp_path / "l.csv"))
    assert r.returncode == 0, r.stderr
    assert (figs / "loss_by_lr.png").stat().st_size > 5000
    lrs = ",".join(str(0.001 * (i + 1)) for i in range(11))
    r = run_cli("--plot_loss", "--n_epochs", "10", "--hidden_size", "8", "--quiet", "--lrs", lrs,
                "--log", str(tmp_path / "l.csv"))
    assert r.returncode == 0, r.stderr
    assert (figs / "loss_by_lr_1.png").is_file() and (figs / "loss_by_lr_2.png").is_file()


@pytest.mark.slow
def test_diff_temp_trains_default_if_missing_then_reuses(tmp_path):
    r = run_cli("--diff_temp", *TINY)
    assert r.returncode == 0, r.stderr
    assert "training the default model first" in r.stdout
    out = json.loads((tmp_path / "runs" / "diff_temp.json").read_text())
    assert list(out["samples"]) == ["0.1", "0.5", "1", "2"]
    assert all(len(s) == 200 for s in out["samples"].values()) and len(out["prime_str"]) == 10
    again = run_cli("--diff_temp", *TINY, "--temps", "0.3,1.5")
    assert again.returncode == 0 and "training" not in again.stdout
    assert "--- temperature 0.3 ---" in again.stdout


BAD = [
    (["--default_train", "--lr", "0"], "lr must be a finite number > 0"),
    (["--default_train", "--lr", "nan"], "lr must be a finite number > 0"),
    (["--default_train", "--lr", "fast"], "--lr: must be a number"),
    (["--default_train", "--n_epochs", "0"], "n_epochs must be a positive integer"),
    (["--default_train", "--hidden_size", "-5"], "hidden_size must be a positive integer"),
    (["--default_train", "--n_layers", "0"], "n_layers must be a positive integer"),
    (["--default_train", "--chunk_len", "0"], "chunk_len must be a positive integer"),
    (["--default_train", "--batch_size", "-1"], "batch_size must be a positive integer"),
    (["--default_train", "--print_every", "0"], "print_every must be a positive integer"),
    (["--default_train", "--plot_every", "-2"], "plot_every must be a positive integer"),
    (["--default_train", "--chunk_len", "2000000"], "chunk_len 2000000 is larger than the corpus"),
    (["--default_train", "--cell", "tcn"], "cell must be one of lstm, gru, rnn"),
    (["--default_train", "--plot_loss"], "not allowed with argument"),
    ([], "one of the arguments"),
    (["--plot_loss", "--lrs", ""], "--lrs must be a comma-separated list"),
    (["--plot_loss", "--lrs", "0.1,abc"], "got 'abc'"),
    (["--plot_loss", "--lrs", "0.1,-1"], "values must be finite numbers > 0"),
    (["--diff_temp", "--temps", "0.5,nan"], "values must be finite numbers > 0"),
    (["--diff_temp", "--temps", ","], "--temps must be a comma-separated list"),
    (["generate", "--temperature", "0"], "temperature must be a finite number > 0"),
    (["generate", "--temperature", "inf"], "temperature must be a finite number > 0"),
    (["generate", "--temperature", "warm"], "temperature must be a finite number > 0"),
    (["generate", "--predict_len", "-1"], "predict_len must be an integer from 0 to 100,000"),
    (["generate", "--predict_len", "10000000"], "predict_len must be an integer from 0 to 100,000"),
    (["generate", "--checkpoint", "nope.pt"], "checkpoint nope.pt does not exist"),
    (["bpc", "--checkpoint", "nope.pt", "data/dickens_test.txt"], "does not exist"),
    (["--custom_train", "--settings", "missing.yaml"], "settings file missing.yaml does not exist"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) or "none" for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("charlm: error: "), err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_bad_input_in_a_real_process_has_no_traceback():
    r = run_cli("--default_train", "--lr", "-1")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "charlm: error: lr must be a finite number > 0, got -1.0\n"


@pytest.mark.slow
def test_best_train_preset_with_overrides_reports_validation_and_intervals(tmp_path):
    save = tmp_path / "best.pt"
    r = run_cli("--best_train", "--n_epochs", "20", "--hidden_size", "16", "--batch_size", "4",
                "--chunk_len", "50", "--eval_every", "10", "--print_every", "10", "--quiet",
                "--save", str(save))
    assert r.returncode == 0, r.stderr
    assert "validation BPC" in r.stdout and "95% bootstrap interval" in r.stdout
    from charlm import load_checkpoint

    ckpt = load_checkpoint(save)
    assert ckpt.config.carry_state and ckpt.config.lr_schedule == "cosine"  # from the preset
    assert ckpt.config.hidden_size == 16  # the flag wins over the preset
    assert [p[0] for p in ckpt.meta["valid_curve"]] == [10, 20]  # --n_epochs replaced the budget
    assert ckpt.config.budget_minutes == 0 and ckpt.config.precision == "auto"
