"""Issue 29: the command line trains with the number of torch threads that serves the model, says
which and why in one line, and --threads overrides it."""

from __future__ import annotations

import pytest
import torch

from charlm import TrainConfig, machine
from charlm.errors import ConfigError
from charlm.machine import choose_threads, step_work
from charlm.presets import preset
from conftest import one_line, run_main


@pytest.fixture
def two_free_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(machine, "usable_cores", lambda: 2)
    monkeypatch.setattr(machine.os, "getloadavg", lambda: (0.0, 0.0, 0.0))


def test_the_default_model_trains_with_one_thread(two_free_cores):
    threads, why = choose_threads(TrainConfig())
    assert threads == 1 and "too small to gain from a second thread" in why
    assert step_work(TrainConfig()) == 200 * 2 * 4 * 2 * 128 * 128


def test_only_a_step_large_enough_gets_more_on_free_cores(two_free_cores, monkeypatch):
    big = preset("best", hidden_size=1024)
    assert step_work(big) >= machine.MULTI_THREAD_WORK > step_work(TrainConfig())
    threads, why = choose_threads(big)
    assert threads == 2 and "large enough" in why
    monkeypatch.setattr(machine, "usable_cores", lambda: 1)
    assert choose_threads(big)[0] == 1
    monkeypatch.setattr(machine, "usable_cores", lambda: 2)
    monkeypatch.setattr(machine.os, "getloadavg", lambda: (1.5, 1.0, 1.0))  # a core is busy
    threads, why = choose_threads(big)
    assert threads == 1 and "busy" in why


def test_the_flag_then_a_resumed_run_then_the_environment_decide_first(two_free_cores,
                                                                      monkeypatch):
    assert choose_threads(TrainConfig(), given=3) == (3, "--threads")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert choose_threads(TrainConfig(), resumed=1)[0] == 1
    assert choose_threads(TrainConfig())[0] == 2
    with pytest.raises(ConfigError, match="threads must be a positive integer, got 0"):
        choose_threads(TrainConfig(), given=0)


def test_the_command_line_says_once_how_many_threads_train(tmp_path, capsys):
    before = torch.get_num_threads()
    status, out, _ = run_main(["--default_train", "--n_epochs", "5", "--hidden_size", "8",
                               "--print_every", "5", "--quiet", "--threads", "1",
                               "--save", tmp_path / "d.pt"], capsys)
    assert status == 0 and out.count("threads: ") == 1
    assert out.startswith("threads: 1 (--threads)\n")
    assert torch.get_num_threads() == before  # restored after the command
    status, _, err = run_main(["--custom_train", "--threads", "2"], capsys)
    assert status == 2 and "--threads sets the threads of one run" in one_line(err)
