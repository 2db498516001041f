"""Shared fixtures: real corpus (fetched through the data step), isolated output folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# One torch thread everywhere in the tests (this process and every CLI subprocess): tiny models
# do not gain from two, and spinning OpenMP threads on a busy 2-core machine can slow a run 100x.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from charlm import TrainConfig  # noqa: E402
from charlm.cli import main  # noqa: E402

torch.set_num_threads(1)
from charlm.fetch import fetch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def corpus_ready():
    """The Dickens files in data/, verified (the same step `make data` runs)."""
    fetch(quiet=True)


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path, monkeypatch):
    """Every test writes runs, caches and figures under its own temporary folder."""
    monkeypatch.setenv("CHARLM_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CHARLM_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("CHARLM_PROGRESS", "0")
    # the cores' tokens too: a build on the same machine must not hold a test's notebooks back
    monkeypatch.setenv("CHARLM_CORES_DIR", str(tmp_path / "cores"))
    return tmp_path


@pytest.fixture
def tiny() -> TrainConfig:
    """A configuration that trains in well under a second."""
    return TrainConfig(n_epochs=20, hidden_size=16, n_layers=1, print_every=10, plot_every=5,
                       chunk_len=50)


def run_main(argv, capsys) -> tuple[int, str, str]:
    """Run the command line in this process: (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str, kind: str = "error") -> str:
    """The single ``charlm: <kind>: ...`` line that stderr must be (no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"charlm: {kind}: "), err
    assert "Traceback" not in err
    return lines[0]


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run ``python -m charlm`` in a subprocess; returns the CompletedProcess."""
    full_env = os.environ | (env or {})
    return subprocess.run([sys.executable, "-m", "charlm", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=timeout)


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python keeps it ignored; the
    # child must get Ctrl-C as a user's terminal would deliver it, however pytest was started.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    """Start ``python -m charlm`` in the background, unbuffered, with Ctrl-C as a terminal has it."""
    return subprocess.Popen([sys.executable, "-m", "charlm", *map(str, args)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {}),
                            preexec_fn=_default_sigint)
