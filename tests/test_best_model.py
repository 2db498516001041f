"""The best model (notebook 06 and Appendix E): the recorded search read into facts, the runs
scored, the ladder's reading, this build's run against the search's, and the tables; every
verdict's branches on small hand-made inputs (no wording is checked)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from charlm import TrainConfig
from charlm.baselines import ADAPTS, NOTHING, TRAINING
from charlm.checkpoint import Checkpoint
from charlm.corpora import TEST_FILE, TEST_LARGE_FILE
from charlm.errors import DataError
from charlm.model import build_model
from charlm.presets import RECORD_COLUMNS, REASONS, SEARCH_COLUMNS, SEARCHED_FIELDS, preset, search_results
from charlm.report.sections import best_model as view
from charlm.studies import best as bm
from charlm.studies import best_facts as bf
from charlm.studies import search as sr
from charlm.studies.ladder import KIND_COMPRESSOR, KIND_MODEL
from charlm.studies.models import ReportModels

BEST_CFG = preset("best")
BASE_CFG = TrainConfig(valid_frac=BEST_CFG.valid_frac, eval_every=BEST_CFG.eval_every)


def ckpt(cfg: TrainConfig, model=None, **meta) -> Checkpoint:
    base = dict(status="ok", iterations=100, wall_time=60.0, threads=1, n_params=1234,
                valid_bpc=2.0, valid_curve=[[50, 30.0, 2.5], [100, 60.0, 2.0]])
    return Checkpoint(model, cfg, [], base | meta)


def search(earlier: bool = False, **second_row) -> pd.DataFrame:
    common = dict(n_layers=2, chunk_len=100, lr=0.006, weight_decay=0.0, shift_chunks=False,
                  ensemble=1, dropout_masks="torch", weight_drop=0.0, reset_prob=0.0,
                  decay_params="all", precision="auto", budget_minutes=10.0, status="ok",
                  threads=2, cpu="cpu A")
    rows = [common | dict(hidden_size=192, batch_size=16, dropout=0.0, ema=0.0,
                          train_minutes=10.02, iterations=4100, valid_bpc=1.95),
            common | dict(hidden_size=256, batch_size=32, dropout=0.1, ema=0.999,
                          train_minutes=10.01, iterations=2500, valid_bpc=1.90)]
    rows[1].update(second_row)
    if earlier:  # a shorter run, better on validation, is not a candidate
        rows.append(common | dict(hidden_size=128, batch_size=64, dropout=0.0, ema=0.0,
                                  weight_decay=0.1, shift_chunks=True, ensemble=2,
                                  budget_minutes=5.0, train_minutes=5.0, iterations=900,
                                  valid_bpc=1.5))
    return pd.DataFrame(rows, columns=[*SEARCH_COLUMNS, "threads", "cpu"])


def chosen_of(tmp_path, df: pd.DataFrame) -> pd.DataFrame:
    path = tmp_path / "search.csv"
    df.to_csv(path, index=False)
    return search_results(path)


# ---------------------------------------------------------------- the recorded search


def test_the_recorded_search_loads_and_the_preset_is_its_choice():
    df = search_results()
    assert list(df.columns) == [*SEARCH_COLUMNS, *RECORD_COLUMNS, "chosen"] and df["chosen"].sum() == 1
    chosen = df[df["chosen"]].iloc[0]
    measured = df[(df["status"] == "ok") & df["derailed"].notna()]
    clean = measured[measured["derailed"] == measured["derailed"].min()]  # derails least, then validation
    assert clean["valid_bpc"].idxmin() == chosen.name
    assert chosen["budget_minutes"] == BEST_CFG.budget_minutes
    for field in SEARCHED_FIELDS:
        assert chosen[field] == getattr(BEST_CFG, field), field


def test_the_search_chooses_the_finished_run_with_the_lowest_validation_bpc(tmp_path):
    assert list(chosen_of(tmp_path, search())["chosen"]) == [False, True]
    df = chosen_of(tmp_path, search(status="diverged", valid_bpc=float("nan")))
    assert list(df["chosen"]) == [True, False]
    assert list(chosen_of(tmp_path, search(earlier=True))["chosen"]) == [False, True, False]
    with pytest.raises(DataError, match="no finished run with the budget of 10 minutes"):
        chosen_of(tmp_path, search(earlier=True).iloc[2:])


def test_a_run_whose_samples_derail_more_is_never_chosen(tmp_path):
    df = search(derailed=3)
    df.loc[0, "derailed"] = 1
    assert list(chosen_of(tmp_path, df)["chosen"]) == [True, False]
    unmeasured_rest = search(derailed=0)  # the unmeasured first run is not a candidate,
    unmeasured_rest.loc[0, "valid_bpc"] = 1.5  # even with the better score
    assert list(chosen_of(tmp_path, unmeasured_rest)["chosen"]) == [False, True]


@pytest.mark.parametrize("text, match", [
    ("hidden_size,valid_bpc\n1,2.0\n", "missing column"),
    (",".join(SEARCH_COLUMNS) + "\n1,2,1,100,0.1,0,0,0,False,1,torch,0,0,all,fp32,10,10,10,,diverged,\n",
     "no finished run"),
])
def test_a_bad_search_file_is_one_clear_error(tmp_path, text, match):
    path = tmp_path / "s.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        search_results(path)
    with pytest.raises(DataError, match="cannot read"):
        search_results(tmp_path / "absent.csv")


def test_reasons_carry_no_measurements_and_say_where_the_gradient_stops():
    for key, reason in REASONS.items():
        assert not any(w in reason for w in ("times as", " ms", "about", "%")) or key == "lr_schedule", key
    assert "never trained" in REASONS["carry_state"] and "chunk boundary" in REASONS["carry_state"]
    changed = sr.changed_settings(BASE_CFG, BEST_CFG)
    assert set(changed.setting) <= set(REASONS) and (changed.why != "").all()


def test_changed_settings_say_what_differs_and_whether_the_search_varied_it():
    df = sr.changed_settings(BASE_CFG, BEST_CFG, search())
    assert "print_every" not in set(df.setting) and "seed" not in set(df.setting)
    rows = df.set_index("setting")
    assert tuple(rows.loc["lr", ["coursework default", "best", "why"]]) == ("0.005", "0.006", REASONS["lr"])
    # hidden_size varies in the two rows; lr is one value; carry_state is not a column at all
    assert rows.loc["hidden_size", "varied"] and not rows.loc["lr", "varied"]
    assert not rows.loc["carry_state", "varied"]
    assert sr.changed_settings(BASE_CFG, BASE_CFG).empty
    assert "varied" not in sr.changed_settings(BASE_CFG, BEST_CFG)


def test_settings_in_words_and_their_difference():
    rows = search(dropout_masks="fast", weight_drop=0.25, n_layers=3)
    assert sr.setting_label(rows.iloc[1]) == (
        "hidden 256, 3 layers, batch 32, chunk 100, lr 0.006, auto, dropout 0.1 (fast masks), "
        "weight drop 0.25, weight average 0.999")
    assert sr.label_difference(rows.iloc[1], rows.iloc[0]).startswith("hidden 256, 3 layers")
    assert sr.label_difference(rows.iloc[0], rows.iloc[0]) == "the same setting"
    assert sr.setting_value(2.0) == "2.0" and sr.setting_value(0.006) == "0.006"
    assert sr.setting_value(True) == "True"


# ---------------------------------------------------------------- verdicts of the search


def test_fisher_exact_p_on_known_tables():
    assert sr.fisher_exact_p(0, 240, 1, 240) == pytest.approx(1.0)
    assert sr.fisher_exact_p(0, 240, 0, 240) == pytest.approx(1.0)
    # all 7 hits on one side: 2 * C(240, 7) / C(480, 7)
    assert sr.fisher_exact_p(7, 240, 0, 240) == pytest.approx(2 * math.comb(240, 7) / math.comb(480, 7))
    assert sr.fisher_exact_p(3, 10, 7, 10) == pytest.approx(0.1789, abs=1e-4)  # a textbook value
    assert sr.counts_differ(16, 240, 0, 240) and sr.counts_differ(7, 240, 0, 240)
    assert not sr.counts_differ(1, 240, 0, 240) and not sr.counts_differ(3, 10, 7, 10)


@pytest.mark.parametrize("gap, noise, within, word", [
    (0.012, 0.024, True, "within"), (-0.024, 0.024, True, "within"),
    (0.031, 0.024, False, "beyond"), (0.01, math.nan, False, "beyond"),
])
def test_within_noise(gap, noise, within, word):
    assert sr.within_noise(gap, noise) is within and sr.within_or_beyond(gap, noise) == word


@pytest.mark.parametrize("a, b, word", [(1.75, 1.738, "higher"), (1.7, 1.8, "lower"),
                                        (1.7501, 1.7499, "the same")])
def test_higher_or_lower_at_the_decimals_shown(a, b, word):
    assert sr.higher_or_lower(a, b) == word


@pytest.mark.parametrize("within, separate, side, verdict", [
    (True, False, "higher", "a tie on this record"),
    (True, False, "lower", "a tie on this record"),
    (True, True, "higher", "supported by this record"),
    (False, False, "lower", "supported by this record"),
    (False, False, "higher", "not supported by this record"),
])
def test_search_verdict_every_branch(within, separate, side, verdict):
    assert sr.search_verdict(within, separate, side) == verdict


def test_repeat_noise_and_where():
    assert math.isnan(sr.repeat_noise(search()).spread)  # every setting trained once
    df = search()
    again = df.iloc[[1]].assign(iterations=2700, valid_bpc=1.93, cpu="cpu B")
    rep = sr.repeat_noise(pd.concat([df, again], ignore_index=True))
    assert rep.valid == (1.90, 1.93) and rep.iterations == (2500, 2700) and rep.machines == 2
    assert rep.spread == pytest.approx(0.03)
    assert sr.machines_phrase(1) == "on one machine" and "2" in sr.machines_phrase(2)


def test_search_facts_on_a_hand_made_record(tmp_path):
    df = search(earlier=True, derailed=0)
    df.loc[0, "derailed"] = 1
    df.loc[0, "valid_bpc"] = 1.89  # the rival scores better, derails once
    again = df.iloc[[1]].assign(iterations=2700, valid_bpc=1.92, derailed=float("nan"), cpu="cpu B")
    results = chosen_of(tmp_path, pd.concat([df, again], ignore_index=True))
    f = sr.search_facts(results, BASE_CFG, BEST_CFG)
    assert f.chosen_valid == pytest.approx(1.90) and f.rival_valid == pytest.approx(1.89)
    assert (f.n_full, f.n_earlier, f.n_measured, f.samples) == (3, 1, 2, 240)
    assert f.chosen_side == "higher" and f.valid_gap == pytest.approx(0.01)
    assert f.noise == pytest.approx(0.02) and f.gap_vs_noise == "within"
    assert not f.derails_separate and f.clearly_more == 0 and f.verdict == "a tie on this record"
    assert f.repeat_where == sr.machines_phrase(2) and f.earlier_budgets == "5"
    assert f.repeat_valid == "1.900 and 1.920" and f.repeat_iterations == "2,500 and 2,700"
    assert "hidden 192" in f.rival_differs and "hidden 256" in f.chosen_differs
    assert f.n_changed == len(sr.changed_settings(BASE_CFG, BEST_CFG))


def test_the_recorded_search_facts_state_the_last_pick_as_it_was_made():
    f = sr.search_facts(search_results(), BASE_CFG, BEST_CFG)
    # the choice derailed least and was not the lowest on validation; 1 of 240 against 0 is no
    # separation, and its validation gap is within what a second training moved a setting
    assert f.chosen_derailed < f.rival_derailed and f.chosen_side == "higher"
    assert not f.derails_separate and f.gap_vs_noise == "within"
    assert f.verdict == "a tie on this record" and f.clearly_more >= 1


# ---------------------------------------------------------------- the test files


def tiny_runs():
    cfg = TrainConfig(hidden_size=8, n_layers=1, valid_frac=0.05)
    torch.manual_seed(0)
    one = ckpt(cfg, build_model(cfg), valid_bpc=6.5, wall_time=6.0)
    torch.manual_seed(1)
    two = ckpt(cfg, build_model(cfg), valid_bpc=6.6, wall_time=3.0)
    return one, two


def test_scores_of_two_tiny_models():
    one, two = tiny_runs()
    texts = {"x.txt": "It was the best of times. " * 40, "y.txt": "it was the worst of times, " * 40}
    s = bm.scores_of(one, one, texts)
    assert s.files == ("x.txt", "y.txt") and len(s.bits[bm.BEST, "x.txt"]) == len(texts["x.txt"]) - 1
    value, lo, hi = s.intervals[bm.BEST, "y.txt"]
    assert lo <= value <= hi and s.minutes[bm.BEST] == pytest.approx(0.1)
    assert s.differences["x.txt"] == (0.0, 0.0, 0.0)  # the same model on both sides
    other = bm.scores_of(one, two, texts)
    d = other.differences["y.txt"][0]
    assert d == pytest.approx(other.intervals[bm.BEST, "y.txt"][0] - other.intervals[bm.BASE, "y.txt"][0])
    df = other.table()
    assert list(df.run) == [bm.BEST, bm.BASE] and "95% interval (x.txt)" in df.columns
    assert "<table" in view.results_table(other).data


def hand_scores(best_large=1.875, valid=1.78) -> bm.Scores:
    rng = np.random.default_rng(0)
    bits = {(run, name): rng.random(10) for run in (bm.BEST, bm.BASE) for name in bm.TESTS}
    intervals = {(bm.BEST, TEST_FILE): (1.779, 1.7, 1.85),
                 (bm.BEST, TEST_LARGE_FILE): (best_large, best_large - 0.02, best_large + 0.02),
                 (bm.BASE, TEST_FILE): (2.4, 2.3, 2.5), (bm.BASE, TEST_LARGE_FILE): (2.5, 2.49, 2.51)}
    diffs = {TEST_FILE: (-0.6, -0.62, -0.58), TEST_LARGE_FILE: (-0.625, -0.64, -0.61)}
    return bm.Scores(bm.TESTS, bits, intervals, diffs, {bm.BEST: valid, bm.BASE: 2.4},
                     {bm.BEST: 10.0, bm.BASE: 1.0})


def test_score_facts():
    s = bf.score_facts(hand_scores())
    assert (repr(s.test), repr(s.large), repr(s.base_large), repr(s.gain)) == ("1.779", "1.875", "2.500", "0.62")
    assert repr(s.diff_test) == "-0.600" and repr(s.diff_large_high) == "-0.610"
    assert s.large_side == "higher" and repr(s.level) == "95%" and s.block == 200
    assert bf.score_facts(hand_scores(best_large=1.7)).large_side == "lower"


# ---------------------------------------------------------------- the ladder's reading


def frame(dynamic=1.807, best=1.875) -> pd.DataFrame:
    rows = [("uniform", NOTHING, "baseline", 6.6), ("zlib", ADAPTS, KIND_COMPRESSOR, 2.9),
            ("PPMd", ADAPTS, KIND_COMPRESSOR, 1.969), ("n-gram", TRAINING, "baseline", 1.9),
            (bm.COURSEWORK, TRAINING, KIND_MODEL, 2.54), (bm.BEST_RUNG, TRAINING, KIND_MODEL, best),
            (bm.DYNAMIC, ADAPTS, KIND_MODEL, dynamic)]
    df = pd.DataFrame(rows, columns=["name", "knows", "kind", TEST_LARGE_FILE])
    df[f"{TEST_LARGE_FILE} low"] = df[TEST_LARGE_FILE] - 0.01
    df[f"{TEST_LARGE_FILE} high"] = df[TEST_LARGE_FILE] + 0.01
    return df


def test_the_strongest_yardstick_that_adapts_is_never_one_of_the_models():
    assert bf.strongest_yardstick(frame(), TEST_LARGE_FILE)["name"] == "PPMd"
    assert bf.strongest_yardstick(frame(), TEST_LARGE_FILE, TRAINING)["name"] == "n-gram"
    with pytest.raises(KeyError):
        bf.strongest_yardstick(frame().iloc[4:], TEST_LARGE_FILE)


@pytest.mark.parametrize("a, b, word", [(1.8, 1.9, "below"), (2.0, 1.9, "above"), (1.9, 1.9, "level with")])
def test_below_or_above(a, b, word):
    assert bf.below_or_above(a, b) == word


def test_ladder_facts():
    from charlm.dynamic import DynamicSettings, DynamicTuning
    tuning = DynamicTuning(DynamicSettings(), 1.70, 1.75, [(DynamicSettings(), 1.70)] * 9, 1.0)
    f = bf.ladder_facts(bm.Ladder(tuning, frame(), bm.TESTS))
    assert f.yardstick == "PPMd" and repr(f.lead) == "0.094" and f.best_side == "below"
    assert repr(f.dynamic_gain) == "0.068" and f.dynamic_vs_static == "below"
    assert repr(f.dynamic_lead) == "0.162" and f.dynamic_side == "below" and f.tried == 9
    worse = bf.ladder_facts(bm.Ladder(tuning, frame(dynamic=2.0, best=2.1), bm.TESTS))
    assert worse.best_side == "above" and worse.dynamic_side == "above"


# ---------------------------------------------------------------- the run


@pytest.mark.parametrize("minutes, budget, whole", [(10.02, 10.0, True), (10.4, 10.0, True),
                                                    (8.0, 10.0, False), (10.6, 10.0, False)])
def test_used_whole_budget(minutes, budget, whole):
    assert bf.used_whole_budget(minutes, budget) is whole


def test_small_phrases():
    assert bf.threads_phrase(1) == "1 torch thread" and bf.threads_phrase(2) == "2 torch threads"
    assert bf.favoured(2, 1) == "the best run" and bf.favoured(1, 2) == "the base run"
    assert bf.favoured(1, 1) == "neither run"
    assert (bf.more_or_fewer(3, 2), bf.more_or_fewer(2, 3), bf.more_or_fewer(2, 2)) == ("more", "fewer", "as many")


def test_run_facts_against_the_search(tmp_path):
    results = chosen_of(tmp_path, pd.concat([search(), search().iloc[[1]].assign(valid_bpc=1.92)],
                                            ignore_index=True))
    best = ckpt(BEST_CFG, iterations=2000, wall_time=600.0, threads=1, valid_bpc=1.95,
                valid_curve=[[250, 30.0, 2.3], [500, 60.0, 2.1], [2000, 600.0, 1.95]])
    base = ckpt(BASE_CFG, iterations=3000, wall_time=45.0, threads=1, valid_bpc=2.447)
    r = bf.run_facts(ReportModels(base, base, best), results)
    assert r.whole_budget and r.budget_verdict == "trained for" and r.threads == "1 torch thread"
    assert r.search_iterations == 2500 and r.search_threads == "2 torch threads"
    assert repr(r.iterations_share) == "80%" and r.iterations_side == "fewer"
    assert r.valid_side == "higher" and repr(r.valid_gap) == "0.050"
    assert repr(r.noise) == "0.020" and r.gap_vs_noise == "beyond"
    assert repr(r.best_then) == "2.300" and repr(r.base_minutes) == "0.8" and r.favours == "neither run"
    assert repr(r.chars) == "6.4" and repr(r.base_chars) == "0.6"
    early = bf.run_facts(ReportModels(base, base, ckpt(BEST_CFG, valid_curve=[[250, 120.0, 2.3]])), results)
    assert math.isnan(early.best_then)  # not evaluated yet when the base run ended
    assert early.then == bf.then_phrase(None) != r.then and "2.300" in r.then
    short = bf.run_facts(ReportModels(base, base, ckpt(BEST_CFG, wall_time=480.0)), results)
    assert not short.whole_budget and short.budget_verdict == "did not train for"


def test_samples_of_both_runs_from_one_prime():
    one, two = tiny_runs()
    x = bm.best_samples.uncached(one, one, 20, 0.5, seed=1)
    assert len(x.prime) == 10 and len(x.best) == 20 and x.best == x.base  # same model and seed
    y = bm.best_samples.uncached(one, two, 20, 0.5, seed=1)
    assert y.prime == x.prime and y.best != y.base


# ---------------------------------------------------------------- tables and figures


def test_tables_show_every_row(tmp_path):
    results = chosen_of(tmp_path, search(earlier=True))
    html = view.search_table(results).data
    assert ">chosen<" in html and "4,100" in html and "not measured" in html and "shifted chunks" in html
    changes = view.changes_table(sr.changed_settings(BASE_CFG, BEST_CFG, results)).data
    assert "varied in the search" in changes and ">yes<" in changes and ">no<" in changes


def test_curve_runs():
    runs = view.curve_runs(ckpt(BEST_CFG), ckpt(BASE_CFG))
    assert [r["label"] for r in runs] == [
        f"best ({BEST_CFG.hidden_size} hidden, batch {BEST_CFG.batch_size})", bm.BASE]
    assert [r["chars_per_iteration"] for r in runs] == [BEST_CFG.batch_size * BEST_CFG.chunk_len, 200]
    ensemble = ckpt(BEST_CFG.replace(ensemble=2), member_iterations=[4010, 3990])
    assert view.curve_runs(ensemble, ckpt(BASE_CFG))[0]["members"] == [4010, 3990]
