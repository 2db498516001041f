"""The yardsticks on the command line: `charlm baselines` and `charlm bpc --dynamic`; and the
ladder that the report builds from them."""

import math

import numpy as np
import pytest
import torch

from charlm import CharRNN, TrainConfig
from charlm.baselines import yardsticks
from charlm.checkpoint import Checkpoint, save_checkpoint
from charlm.dynamic import DynamicSettings
from charlm.evaluate import bpc
from charlm.report.sections import yardsticks as say
from charlm.studies import ladder
from conftest import run_cli

TRAIN = "It was the best of times, it was the worst of times. " * 40
TESTS = {"a.txt": "It was the age of wisdom, it was the age of foolishness. " * 4,
         "b.txt": "It was the best of times. " * 6}


@pytest.fixture(scope="module")
def frame():
    torch.manual_seed(0)
    model = CharRNN(8, 1).eval()
    rows, _ = _small_yardsticks()
    rungs = ladder.yardstick_rungs(rows) + [
        ladder.model_rung("untrained", model, TESTS),
        ladder.dynamic_rung("untrained, dynamic", model, TESTS, TRAIN,
                            DynamicSettings(step=1e-3, segment=20, stat_streams=2, stat_chars=100))]
    return ladder.ladder_frame(rungs), model


def _small_yardsticks():
    # a training text long enough for a validation split of whole 10,000-character blocks
    train = TRAIN * 12
    return yardsticks(train, TESTS, max_order=3, compressors=["zlib -9", "PPMd order 4"])


def test_the_ladder_is_worst_first_with_intervals_where_bits_exist(frame):
    df, model = frame
    last = list(TESTS)[-1]
    assert list(df[last]) == sorted(df[last], reverse=True)
    static = ladder.rung(df, "untrained")
    assert math.isclose(static[last], bpc(model, TESTS[last]), rel_tol=1e-9)
    assert static[f"{last} low"] <= static[last] <= static[f"{last} high"]
    zlib = ladder.rung(df, "zlib -9")
    assert math.isnan(zlib[f"{last} low"]) and zlib["kind"] == ladder.KIND_COMPRESSOR
    assert ladder.rung(df, "untrained, dynamic")["knows"].startswith("the training text, and adapts")
    with pytest.raises(KeyError, match="no rung named"):
        ladder.rung(df, "nope")


def test_the_ladder_reading_names_what_beats_the_coursework_model(frame):
    df, _ = frame
    text = say.ladder_reading(df, "untrained", test="b.txt")
    assert text.startswith("- **The coursework's model**") and "yardsticks" in text
    short = say.ladder_reading(df, "untrained", test="b.txt", best="untrained",
                               dynamic="untrained, dynamic", yardsticks=False)
    assert "The coursework's model" not in short and "Adapting as it reads" not in short
    assert short.startswith("- **Ten minutes of training**") and "**Dynamic evaluation**" in short
    html = say.ladder_table(df, list(TESTS)).data
    assert "untrained, dynamic" in html and "training text + adapts" in html and "seconds" in html
    short = say.ladder_table(df, list(TESTS), compact=True).data
    assert "untrained, dynamic" in short and "adapts" not in short and "seconds" not in short
    check = say.dynamic_check(df, "untrained, dynamic", "PPMd order 4", test="b.txt")
    d, p = ladder.rung(df, "untrained, dynamic"), ladder.rung(df, "PPMd order 4")
    assert check.agrees is bool(d["b.txt high"] <= 1.75 and p["b.txt"] - d["b.txt"] >= 0.2)


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(1)
    path = tmp_path / "m.pt"
    save_checkpoint(path, Checkpoint(CharRNN(8, 1), TrainConfig(hidden_size=8, n_layers=1), [], {}))
    text = tmp_path / "t.txt"
    text.write_text("It was the best of times, it was the worst of times.\n" * 20)
    return path, text


@pytest.mark.slow
def test_bpc_dynamic_with_no_step_is_the_static_score(checkpoint):
    path, text = checkpoint
    static = run_cli("bpc", "--checkpoint", str(path), str(text))
    dynamic = run_cli("bpc", "--checkpoint", str(path), str(text), "--dynamic", "--step", "0")
    adapting = run_cli("bpc", "--checkpoint", str(path), str(text), "--dynamic", "--step", "0.003",
                       "--segment", "20")
    assert static.returncode == dynamic.returncode == adapting.returncode == 0, adapting.stderr
    assert static.stdout == dynamic.stdout
    assert float(adapting.stdout) < float(static.stdout)  # a repetitive text: adapting pays


@pytest.mark.slow
@pytest.mark.parametrize("args, match", [
    (["--step", "1e-4"], "sets dynamic evaluation: add --dynamic"),
    (["--dynamic", "--decay", "2"], "decay must be in"),
    (["--dynamic", "--segment", "0"], "segment"),
    (["--dynamic", "--step", "x"], "must be a number"),
])
def test_bad_dynamic_settings_are_one_line_errors(checkpoint, args, match):
    path, text = checkpoint
    bad = run_cli("bpc", "--checkpoint", str(path), str(text), *args)
    assert bad.returncode == 2 and bad.stderr.startswith("charlm: error: ")
    assert len(bad.stderr.strip().splitlines()) == 1 and match in bad.stderr


@pytest.mark.slow
def test_baselines_prints_the_table(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("It was the best of times, it was the worst of times.\n" * 30)
    done = run_cli("baselines", str(text), "--max_order", "4")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for name in ("uniform", "unigram", "Kneser-Ney 4-gram", "zlib -9", "PPMd order 6"):
        assert name in out
    assert "n-gram order chosen on the validation split" in out and "t.txt" in out
    bad = run_cli("baselines", str(tmp_path / "missing.txt"))
    assert bad.returncode == 2 and bad.stderr.startswith("charlm: error: ")


def test_uniform_rung_is_exactly_log2_100(frame):
    df, _ = frame
    assert np.allclose(ladder.rung(df, "uniform")[list(TESTS)].astype(float), math.log2(100))


def test_order_sentence_says_when_the_highest_order_won():
    from charlm.baselines import NgramChoice
    top = say.order_sentence(NgramChoice(3, {1: 4.0, 2: 3.0, 3: 2.9}, 1000))
    assert "is **3**: 2.900" in top and "against 3.000 for order 2" in top
    assert "highest order tried" in top
    mid = say.order_sentence(NgramChoice(2, {1: 4.0, 2: 3.0, 3: 3.1}, 1000))
    assert "3.100 for order 3" in mid and "occur too rarely" in mid
