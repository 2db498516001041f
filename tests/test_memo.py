"""charlm.memo: results computed once, keyed by their inputs and their code, kept safely."""

from __future__ import annotations

import json
import multiprocessing as mp
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from charlm import TrainConfig, build_model, codegraph, memo, runs
from charlm.memo import canonical, entries, key_of

CALLS: list[tuple] = []


@memo.memo
def double(x, label: str = "") -> dict:
    CALLS.append((x, label))
    return {"x": x * 2, "label": label}


@memo.memo
def slow_count(path: str) -> int:
    with open(path, "a") as fh:  # one line per real computation
        fh.write("computed\n")
    time.sleep(0.5)
    return 7


@dataclass
class Point:
    x: float
    y: float


def test_a_result_is_computed_once_and_read_back():
    CALLS.clear()
    assert double(3, label="a") == {"x": 6, "label": "a"}
    assert double(3, label="a") == {"x": 6, "label": "a"}
    assert CALLS == [(3, "a")]
    assert double(4, label="a")["x"] == 8 and len(CALLS) == 2  # another argument, another key
    assert double.entry(3, label="a").is_file()
    assert double(x=3, label="a") == {"x": 6, "label": "a"} and len(CALLS) == 2  # the same call
    assert double.entry(5) == double.entry(5, "") == double.entry(x=5, label="")


def test_the_entry_says_what_its_key_is_made_of():
    double(5)
    (info,) = [e for e in entries() if e["function"].endswith("double")]
    assert len(info["code"]) == 64 and info["function"] == f"{__name__}.double"
    assert info["arguments"] == {"mapping": {"x": 5, "label": ""}}
    assert info["threads"] == torch.get_num_threads()
    assert json.loads(Path(info["path"]).with_suffix(".json").read_text())["seconds"] >= 0


def test_configs_are_keyed_by_their_run_and_models_by_their_weights():
    a, b = TrainConfig(), TrainConfig(lr=0.01)
    assert canonical(a) != canonical(b) and canonical(a) == canonical(TrainConfig())
    torch.manual_seed(0)
    m1 = build_model(TrainConfig(hidden_size=8, n_layers=1))
    torch.manual_seed(0)
    m2 = build_model(TrainConfig(hidden_size=8, n_layers=1))
    assert canonical(m1) == canonical(m2)
    with torch.no_grad():
        next(m2.parameters())[0, 0] += 1e-6
    assert canonical(m1) != canonical(m2)
    long = "x" * 10_000
    assert canonical(long) == {"sha256": canonical(long)["sha256"]}
    assert canonical(Point(1.0, 2.0)) != canonical(Point(1.0, 2.5))
    with pytest.raises(TypeError, match="no canonical form"):
        canonical(object())


def test_a_change_in_the_code_changes_the_key(monkeypatch):
    before, _ = key_of(double.uncached, (1,), {})
    monkeypatch.setattr(memo, "_code", lambda module: "another digest")
    after, _ = key_of(double.uncached, (1,), {})
    assert before != after


def test_the_code_digest_follows_the_imports(tmp_path):
    pkg = tmp_path / "charlm"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "maths.py").write_text("X = 1\n")
    (pkg / "words.py").write_text("W = 'a sentence'\n")
    (pkg / "sub" / "study.py").write_text("from ..maths import X\n")
    codegraph.graph.cache_clear()
    try:
        before = codegraph.module_digest("charlm.sub.study", tmp_path)
        (pkg / "words.py").write_text("W = 'another sentence'\n")
        assert codegraph.module_digest("charlm.sub.study", tmp_path) == before
        (pkg / "maths.py").write_text("X = 2\n")
        assert codegraph.module_digest("charlm.sub.study", tmp_path) != before
        assert codegraph.closure(["charlm.sub.study"], tmp_path) == {
            "charlm", "charlm.sub", "charlm.sub.study", "charlm.maths"}
    finally:
        codegraph.graph.cache_clear()


def test_a_damaged_entry_is_set_aside_and_computed_again(capsys):
    CALLS.clear()
    double(9)
    path = double.entry(9)
    path.write_bytes(b"not a pickle")
    assert double(9) == {"x": 18, "label": ""}
    assert len(CALLS) == 2
    assert "damaged result set aside" in capsys.readouterr().err
    assert list(path.parent.glob("*.damaged")) and pickle.loads(path.read_bytes())["x"] == 18


def test_two_processes_asking_at_once_compute_once(tmp_path):
    log = tmp_path / "log.txt"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=slow_count, args=(str(log),)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert log.read_text().splitlines() == ["computed"]
    assert slow_count(str(log)) == 7 and log.read_text().splitlines() == ["computed"]


def test_two_processes_asking_for_one_run_train_it_once(tmp_path, monkeypatch, tiny):
    log = tmp_path / "trained.txt"
    real = runs.train_run

    def counted(cfg, **kw):  # one line per real training
        with open(log, "a") as fh:
            fh.write("trained\n")
        return real(cfg, **kw)

    monkeypatch.setattr(runs, "train_run", counted)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=runs.cached_run, args=(tiny,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert log.read_text().splitlines() == ["trained"]
