"""The yardsticks on the command line: `charlm baselines` and `charlm bpc --dynamic`; and the
ladder that the report builds from them."""

import math

import numpy as np
import pytest
import torch

from charlm import CharRNN, TrainConfig
from charlm.baselines import ADAPTS, END_ADAPTS, NOTHING, TRAINING, NgramChoice, yardsticks
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
    return yardsticks(train, TESTS, max_order=3, compressors=["zlib -9", "PPMd order 4", "PPMd order 6"])


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


def test_the_ladder_table_shows_each_rung_and_compact_leaves_out_what_the_figure_shows(frame):
    df, _ = frame
    html = say.ladder_table(df, list(TESTS)).data
    assert "untrained, dynamic" in html and "training text, adapts" in html and "seconds" in html
    short = say.ladder_table(df, list(TESTS), compact=True).data
    assert "untrained, dynamic" in short and "adapts" not in short and "seconds" not in short


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


def test_the_order_table_marks_the_chosen_order():
    from charlm.baselines import NgramChoice
    html = say.order_table(NgramChoice(3, {1: 4.0, 2: 3.0, 3: 2.9}, 1000)).data
    assert html.count("<tr>") == 4 and "2.9000" in html and html.count(">yes<") == 1


def test_the_ladder_holds_one_setting_of_each_yardstick_and_the_table_every_one():
    rows, choice = _small_yardsticks()
    ladder_rungs = ladder.yardstick_rungs(rows)
    every = ladder.yardstick_rungs(rows, every_setting=True)
    assert [r.name for r in ladder_rungs] == ["uniform", "unigram (add-one)",
                                              f"Kneser-Ney {choice.order}-gram", "zlib -9", "PPMd order 6"]
    assert len(every) == len(rows) and sum(not r.on_ladder for r in every) == 3  # orders 1, 2; PPMd 4
    assert list(ladder.ladder_frame(every).name) != list(ladder.ladder_frame(every, every_setting=True).name)
    assert set(ladder.ladder_frame(every).name) == {r.name for r in ladder_rungs}
    html = say.ladder_table(ladder.ladder_frame(every, every_setting=True), list(TESTS)).data
    assert "(order not chosen)" in html and "(not the default order)" in html


def _frame(rows):
    """A ladder frame of made-up rungs (name, knows, kind, BPC on a.txt and b.txt)."""
    rungs = [ladder.Rung(n, k, kind, {"a.txt": a, "b.txt": b}, note=note, on_ladder=on)
             for n, k, kind, a, b, note, on in rows]
    return rungs


MADE_UP = [
    ("uniform", NOTHING, ladder.KIND_BASELINE, 6.6, 6.6, "", True),
    ("Kneser-Ney 2-gram", TRAINING, ladder.KIND_BASELINE, 3.0, 3.1, "order not chosen", False),
    ("Kneser-Ney 3-gram", TRAINING, ladder.KIND_BASELINE, 2.3, 2.6, "order not chosen", False),
    ("Kneser-Ney 4-gram", TRAINING, ladder.KIND_BASELINE, 2.0, 2.2, "order chosen on validation", True),
    ("zlib -9", END_ADAPTS, ladder.KIND_COMPRESSOR, 2.45, 3.0, "", True),
    ("PPMd order 6", ADAPTS, ladder.KIND_COMPRESSOR, 1.9, 1.95, "", True),
    ("mine", TRAINING, ladder.KIND_MODEL, 2.5, 2.4, "", True),
]


def test_where_a_model_stands_per_file():
    frame = ladder.ladder_frame(_frame(MADE_UP))
    a, b = ladder.place(frame, "mine", "a.txt"), ladder.place(frame, "mine", "b.txt")
    assert (a.yardsticks, a.beaten, a.beating) == (4, 1, 3)  # only the uniform scores more on a
    assert (b.beaten, b.beating) == (2, 2)  # zlib too on b
    assert (a.weakest_beating, a.best) == ("zlib -9", "PPMd order 6")
    assert (b.weakest_beating, b.best_bpc) == ("Kneser-Ney 4-gram", 1.95)
    top = ladder.ladder_frame(_frame(MADE_UP[:1] + MADE_UP[-1:]))
    assert ladder.place(top, "mine", "a.txt").weakest_beating == "none"


def test_the_strongest_yardsticks_are_read_among_kinds_never_among_orders():
    rungs = _frame(MADE_UP)
    frame = ladder.ladder_frame(rungs)
    assert ladder.strongest(frame, TRAINING, "b.txt")["name"] == "Kneser-Ney 4-gram"  # not the model
    assert ladder.strongest(frame, ADAPTS, "b.txt", ladder.KIND_COMPRESSOR)["name"] == "PPMd order 6"
    assert ladder.strongest(frame, NOTHING, "b.txt", ladder.KIND_COMPRESSOR) is None
    every = ladder.ladder_frame(rungs, every_setting=True)
    assert ladder.lowest_order_beating(every, "mine", ["a.txt", "b.txt"]) == "4"  # 3 only on a
    assert ladder.lowest_order_beating(every, "mine", ["a.txt"]) == "3"
    assert ladder.lowest_order_beating(every, "uniform", ["a.txt"]) == "2"
    assert ladder.lowest_order_beating(every, "PPMd order 6", ["a.txt"]) == "none"
    choice = NgramChoice(4, {2: 3.0, 3: 2.5, 4: 2.45}, 500)
    facts = ladder.ladder_facts(rungs, "mine", choice, 1_136_673, test="b.txt")
    assert (facts.small.test, facts.large.test, facts.n_yardsticks) == ("a.txt", "b.txt", 4)
    assert (facts.static_best, facts.adaptive_best, facts.ngram_order) == ("Kneser-Ney 4-gram", "PPMd order 6", 4)
    assert facts.end_only == "zlib -9" and facts.ppmd_order == 6 and facts.bz2_seen == 236_673
    order = ladder.order_facts(choice, rungs, test="a.txt")
    assert (order.order, order.max_order, order.test_best_order) == (4, 4, 4)
    assert order.last_gain == pytest.approx(0.05) and order.chosen_test_bpc == 2.0
    assert ladder.order_facts(choice, rungs, test="b.txt").test_best_order == 4
    assert ladder.listing([]) == "none" and ladder.listing(["a", "b"]) == "a and b"
