"""The sentences and tables of 4.6, the best model (charlm.report.sections.best_model): the
recorded search, the settings and the run, the test files, the answer; every branch on small
hand-made inputs: no training, no data files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from charlm import TrainConfig
from charlm.checkpoint import Checkpoint
from charlm.corpora import TEST_FILE, TEST_LARGE_FILE
from charlm.errors import DataError
from charlm.model import build_model
from charlm.presets import REASONS, SEARCH_COLUMNS, SEARCHED_FIELDS, preset, search_results
from charlm.report.sections import best_model as bm

BEST_CFG = preset("best")
DEFAULT_CFG = TrainConfig(valid_frac=BEST_CFG.valid_frac, eval_every=BEST_CFG.eval_every)


def ckpt(cfg: TrainConfig, model=None, **meta) -> Checkpoint:
    base = dict(status="ok", iterations=100, wall_time=60.0, threads=1, n_params=1234,
                valid_bpc=2.0, valid_curve=[[50, 30.0, 2.5], [100, 60.0, 2.0]])
    return Checkpoint(model, cfg, [], base | meta)


def search(earlier: bool = False, **second_row) -> pd.DataFrame:
    common = dict(n_layers=2, chunk_len=100, lr=0.006, weight_decay=0.0, shift_chunks=False,
                  ensemble=1, dropout_masks="torch", weight_drop=0.0, reset_prob=0.0,
                  decay_params="all", precision="auto",
                  budget_minutes=10.0, status="ok")
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
    return pd.DataFrame(rows, columns=list(SEARCH_COLUMNS))


def _search_file(tmp_path, df: pd.DataFrame):
    path = tmp_path / "search.csv"
    df.to_csv(path, index=False)
    return search_results(path)


def scores(best_large=1.99, high=2.01, default_large=2.5, valid=1.89, test=1.90) -> bm.Scores:
    rng = np.random.default_rng(0)
    bits = {(run, name): rng.random(1000) for run in (bm.BEST, bm.DEFAULT)
            for name in (TEST_FILE, TEST_LARGE_FILE)}
    intervals = {(bm.BEST, TEST_FILE): (test, test - 0.05, test + 0.05),
                 (bm.BEST, TEST_LARGE_FILE): (best_large, best_large - 0.02, high),
                 (bm.DEFAULT, TEST_FILE): (2.4, 2.3, 2.5),
                 (bm.DEFAULT, TEST_LARGE_FILE): (default_large, default_large - 0.01, default_large + 0.01)}
    return bm.Scores((TEST_FILE, TEST_LARGE_FILE), bits, intervals,
                     {bm.BEST: valid, bm.DEFAULT: 2.4}, {bm.BEST: 8.0, bm.DEFAULT: 1.0})


# ---------------------------------------------------------------- the recorded search


def test_the_recorded_search_loads_and_the_preset_is_its_choice():
    df = search_results()
    assert list(df.columns) == [*SEARCH_COLUMNS, "chosen"] and df["chosen"].sum() == 1
    chosen = df[df["chosen"]].iloc[0]
    measured = df[(df["status"] == "ok") & df["derailed"].notna()]
    clean = measured[measured["derailed"] == measured["derailed"].min()]  # derails least, then validation
    assert clean["valid_bpc"].idxmin() == chosen.name
    assert chosen["budget_minutes"] == BEST_CFG.budget_minutes
    for field in SEARCHED_FIELDS:
        assert chosen[field] == getattr(BEST_CFG, field), field


def test_the_search_chooses_the_finished_run_with_the_lowest_validation_bpc(tmp_path):
    df = _search_file(tmp_path, search())
    assert list(df["chosen"]) == [False, True]
    df = _search_file(tmp_path, search(status="diverged", valid_bpc=float("nan")))
    assert list(df["chosen"]) == [True, False]
    df = _search_file(tmp_path, search(earlier=True))  # only runs given the full budget compete
    assert list(df["chosen"]) == [False, True, False]
    only_short = search(earlier=True).iloc[2:]
    with pytest.raises(DataError, match="no finished run with the budget of 10 minutes"):
        _search_file(tmp_path, only_short)

def test_a_run_whose_samples_derail_more_is_never_chosen(tmp_path):
    # the better-scoring second run derails more: the first is chosen
    df = search(derailed=3)
    df.loc[0, "derailed"] = 1
    chosen = _search_file(tmp_path, df)
    assert list(chosen["chosen"]) == [True, False]
    text = bm.search_sentence(chosen)
    assert ("whose samples were measured and derailed least (1 of 240; 1 other measured run "
            "derailed more") in text
    html = bm.search_table(chosen).data
    assert "3 of 240" in html and "1 of 240" in html
    # runs not measured compete only while no run was measured
    assert list(_search_file(tmp_path, search())["chosen"]) == [False, True]
    assert "not measured" in bm.search_table(_search_file(tmp_path, search())).data
    unmeasured_rest = search(derailed=0)  # the unmeasured first run is not a candidate,
    unmeasured_rest.loc[0, "valid_bpc"] = 1.5  # even with the better score
    assert list(_search_file(tmp_path, unmeasured_rest)["chosen"]) == [False, True]


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
    # settings may be named; measured speeds and scores may not: the search table is the evidence
    for key, reason in REASONS.items():
        assert not any(w in reason for w in ("times as", " ms", "about", "%")) or key == "lr_schedule", key
    assert "never trained" in REASONS["carry_state"] and "chunk boundary" in REASONS["carry_state"]
    changed = bm.changed_settings(DEFAULT_CFG, BEST_CFG)
    assert set(changed.setting) <= set(REASONS) and (changed.why != "").all()


def test_search_table_shows_every_run_and_marks_the_chosen_one(tmp_path):
    html = bm.search_table(_search_file(tmp_path, search(earlier=True))).data
    assert ">chosen<" in html and "0.006" in html and "4,100" in html and "0.999" in html
    assert ("hidden 128, 2 layers, batch 64, chunk 100, lr 0.006, auto, weight decay 0.1, "
            "shifted chunks, ensemble of 2") in html
    masks = search(dropout_masks="fast", weight_drop=0.25, n_layers=3)
    assert ("hidden 256, 3 layers, batch 32, chunk 100, lr 0.006, auto, dropout 0.1 (fast masks), "
            "weight drop 0.25, weight average 0.999") in bm.search_table(_search_file(tmp_path, masks)).data
    assert "results/budget_search.csv" in html and "test files were not scored" in html


def test_search_sentence(tmp_path):
    text = bm.search_sentence(_search_file(tmp_path, search()))
    assert text.startswith("The chosen setting (hidden 256, 2 layers, batch 32, chunk 100, lr "
                           "0.006, auto, dropout 0.1, weight average 0.999) has the lowest "
                           "validation BPC of the 2 runs given the full 10-minute budget: 1.900 "
                           "after 2,500 iterations in 10.0 minutes, 0.050 below the next best "
                           "(hidden 192, 2 layers, batch 16, chunk 100, lr 0.006, auto: 1.950).")
    assert "earlier stage" not in text
    alone = _search_file(tmp_path, search(status="diverged", valid_bpc=float("nan")))
    assert bm.search_sentence(alone).endswith("in 10.0 minutes.")
    staged = bm.search_sentence(_search_file(tmp_path, search(earlier=True)))
    assert "of the 2 runs given the full" in staged
    assert staged.endswith("The run with less time (5 minutes) was an earlier stage of the "
                           "search, shown for what it taught, not a candidate.")
    two = search(earlier=True)
    two = pd.concat([two, two.iloc[2:].assign(budget_minutes=2.5)], ignore_index=True)
    assert bm.search_sentence(_search_file(tmp_path, two)).endswith(
        "The 2 runs with less time (2.5, 5 minutes) were an earlier stage of the search, shown "
        "for what they taught, not candidates.")


# ---------------------------------------------------------------- the settings and the run


def test_changed_settings_lists_what_differs_with_its_reason():
    df = bm.changed_settings(DEFAULT_CFG, BEST_CFG)
    assert "print_every" not in set(df.setting) and "seed" not in set(df.setting)
    row = df.set_index("setting").loc["lr"]
    assert (row["coursework default"], row["best"], row["why"]) == ("0.005", "0.006", REASONS["lr"])
    assert df.set_index("setting").loc["carry_state", "best"]
    assert bm.changed_settings(DEFAULT_CFG, DEFAULT_CFG).empty
    assert "lr" in bm.changes_table(ckpt(DEFAULT_CFG), ckpt(BEST_CFG)).data


@pytest.mark.parametrize("budget, minutes, inside, words", [
    (0.0, 8.1, True, "That is inside the 10-minute budget."),
    (0.0, 12.0, False, "That is **over the 10-minute budget** on this machine."),
    (10.0, 10.02, True, "It trained for its whole 10-minute budget, so the iterations it reached"),
    (10.0, 8.0, False, "It did **not** train for its whole 10-minute budget, so"),
])
def test_run_sentence_against_the_budget(budget, minutes, inside, words):
    cfg = BEST_CFG.replace(budget_minutes=budget, batch_size=16, chunk_len=100)
    best = ckpt(cfg, iterations=8000, wall_time=minutes * 60, threads=2, n_params=500_000)
    default = ckpt(DEFAULT_CFG, iterations=3000, wall_time=90.0, threads=1)
    text, check = bm.run_sentence(best, default, 10.0)
    assert words in text and check.agrees is inside
    assert ("whole budget" in check.claim) is bool(budget)
    assert f"**8,000 iterations** and **{minutes:.1f} minutes of training** (2 torch threads" in text
    assert "16 x 100 characters, 12.8 million in all, against 0.6 million" in text
    assert "(1.5 minutes, 1 thread)" in text


def test_an_ensemble_run_says_how_many_models_and_their_iterations():
    cfg = BEST_CFG.replace(budget_minutes=10.0, ensemble=2, seed=7)
    best = ckpt(cfg, iterations=8000, wall_time=600.0, member_iterations=[4010, 3990])
    text, _ = bm.run_sentence(best, ckpt(DEFAULT_CFG), 10.0)
    assert ("It is an ensemble of 2 models of the same setting (seeds 7 to 8), trained one after "
            "another for 5 minutes each (4,010, 3,990 iterations); the ensemble averages their "
            "predicted probabilities. It trained for its whole") in text
    assert bm.members_sentence([], cfg) == bm.members_sentence([100], cfg) == ""
    assert "an equal share of the iterations" in bm.members_sentence([5, 5], cfg.replace(budget_minutes=0.0))
    assert bm.curve_runs(best, ckpt(DEFAULT_CFG))[0]["members"] == [4010, 3990]


@pytest.mark.parametrize("b, d, words", [
    (2, 1, "favours the best run: it trained with 2 torch threads, the default run with 1"),
    (1, 2, "favours the default run: it trained with 2 torch threads, the best run with 1"),
    (1, 1, "Both runs trained with 1 torch thread, so the thread counts favour neither"),
])
def test_threads_sentence(b, d, words):
    assert words in bm.threads_sentence(b, d)


@pytest.mark.parametrize("curve, words", [
    ([[250, 30.0, 2.3], [500, 60.0, 2.1], [750, 90.0, 1.9]], "the best run was at 2.300 at that time"),
    ([[250, 120.0, 2.3]], "the best run had not been evaluated yet by then"),
])
def test_comparison_bullets(curve, words):
    best = ckpt(BEST_CFG, valid_curve=curve, valid_bpc=curve[-1][2], threads=2)
    default = ckpt(DEFAULT_CFG, wall_time=45.0, valid_bpc=2.447)
    text = bm.comparison_bullets(best, default)
    assert text.startswith("- After its 0.8 minutes the default run reaches validation BPC 2.447")
    assert words in text and "favours the best run" in text
    assert text.count("\n- ") == 1


def test_curve_runs_and_title():
    runs = bm.curve_runs(ckpt(BEST_CFG), ckpt(DEFAULT_CFG))
    assert [r["label"] for r in runs] == [
        f"best ({BEST_CFG.hidden_size} hidden, batch {BEST_CFG.batch_size})", "coursework settings (4.2 base)"]
    assert [r["chars_per_iteration"] for r in runs] == [BEST_CFG.batch_size * BEST_CFG.chunk_len, 200]
    assert bm.curve_title(BEST_CFG) == "Validation BPC (5% of dickens_train.txt) during training"


# ---------------------------------------------------------------- the test files


@pytest.mark.parametrize("bpc, high, agrees, words", [
    (1.95, 1.98, True, "the target of at most 2.0 is **met with margin**: the whole 95% interval "
                       "(1.938 - 1.980) is below it."),
    (1.994, 2.012, True, ("is **met**, narrowly: the 95% interval (1.982 - 2.012) reaches above "
                          "it, so this text alone does not show that the model is below 2.0.")),
    (2.05, 2.07, False, "the target of at most 2.0 is **not met** (short by 0.050)."),
])
def test_target_sentence_every_branch(bpc, high, agrees, words):
    text, check = bm.target_sentence(bpc, 2.5, bpc - 0.012, high, 2.0)
    assert text.startswith(f"On `{TEST_LARGE_FILE}` the best model scores **{bpc:.3f}** bits "
                           "per character against 2.500 for the coursework's settings: ")
    assert words in text
    assert check.agrees is agrees and "at most 2.0" in check.claim and f"{bpc:.3f}" in check.observed
    assert ("reaching above" in check.observed) is (bpc <= 2.0 < high)


def test_the_target_is_a_parameter():
    text, check = bm.target_sentence(1.95, 2.5, 1.9, 2.0, 1.975)
    assert "at most 1.975 is **met**, narrowly" in text and check.agrees


def test_difference_and_validation_sentences():
    text = bm.difference_sentence({"a.txt": (-0.5, -0.52, -0.48)})
    assert text == ("Paired difference, best minus default, on the same 200-character blocks: "
                    "-0.500 on a.txt (95% interval -0.520 to -0.480).")
    assert bm.valid_test_sentence(1.89, 1.90, 1.99).endswith("dickens_test_large.txt, on which the model does worse.")
    assert bm.valid_test_sentence(2.0, 1.90, 1.99).endswith("is the first part of dickens_test_large.txt.")
    assert "later chapters of two of the training novels" in bm.valid_test_sentence(2.0, 1.9, 1.99)


def test_scores_table_and_results_bullets():
    s = scores()
    df = s.table()
    assert list(df.run) == [bm.BEST, bm.DEFAULT]
    assert list(df.columns) == ["run", "minutes", "BPC (valid)", TEST_FILE, f"95% interval ({TEST_FILE})",
                                TEST_LARGE_FILE, f"95% interval ({TEST_LARGE_FILE})"]
    assert df.loc[0, f"95% interval ({TEST_LARGE_FILE})"] == "1.970 - 2.010"
    assert "200-character blocks" in bm.results_table(s).data
    text, check = bm.results_bullets(s, 2.0)
    assert text.startswith("- ") and text.count("\n- ") == 2
    assert "**met**, narrowly" in text and check.agrees
    assert f"on {TEST_FILE} (95% interval" in text and "on which the model does worse" in text


def test_score_runs_with_a_tiny_untrained_model():
    cfg = TrainConfig(hidden_size=8, n_layers=1, valid_frac=0.05)
    torch.manual_seed(0)
    model = build_model(cfg)
    texts = {"x.txt": "It was the best of times. " * 40, "y.txt": "it was the worst of times, " * 40}
    one = ckpt(cfg, model, valid_bpc=6.5, wall_time=6.0)
    s = bm.score_runs(one, one, files=("x.txt", "y.txt"), load=texts.__getitem__)
    assert s.files == ("x.txt", "y.txt") and len(s.bits[bm.BEST, "x.txt"]) == len(texts["x.txt"]) - 1
    value, lo, hi = s.intervals[bm.BEST, "y.txt"]
    assert lo <= value <= hi and s.minutes[bm.BEST] == pytest.approx(0.1)
    assert s.difference("x.txt") == (0.0, 0.0, 0.0)  # the same model on both sides


def test_samples_give_a_heading_and_a_sample_per_run():
    cfg = TrainConfig(hidden_size=8, n_layers=1)
    torch.manual_seed(0)
    one = ckpt(cfg, build_model(cfg))
    shown = bm.samples(one, one, "The ", 20, 0.5, seed=1)
    assert len(shown) == 4 and shown[0].data == "**best**, T = 0.5"
    assert shown[2].data == "**coursework settings (4.2 base)**, T = 0.5"
    assert shown[1].data == shown[3].data  # the same model and seed give the same sample


# ---------------------------------------------------------------- the answer and the search's limits


def test_the_answer_gives_both_files_the_yardstick_and_dynamic_evaluation():
    frame = pd.DataFrame({"name": ["PPMd order 6", "dyn"], TEST_LARGE_FILE: [2.10, 1.95]})
    best = ckpt(BEST_CFG, iterations=8663)
    text = bm.answer(best, scores(), frame, "dyn", "PPMd order 6", 1.95)
    assert text.startswith(f"**Answer.** Trained for {BEST_CFG.budget_minutes:g} minutes on this "
                           f"machine (8,663 iterations of {BEST_CFG.batch_size} streams")
    assert "**1.900** bits per character on dickens_test.txt and **1.990** (95% interval " in text
    assert "against 2.400 and 2.500 for the coursework's settings" in text and "0.51 bits" in text
    assert "at most 1.95 on dickens_test_large.txt is **not met**" in text
    assert text.endswith("beats PPMd order 6 (2.100) by 0.110; adapting to the test text as that "
                         "compressor does (dynamic evaluation) takes it to 1.950.")
    assert "is met. It beats PPMd order 6 (2.100) by 0.200" in bm.answer(
        best, scores(best_large=1.9), frame, "dyn", "PPMd order 6", 1.95)


def test_the_changes_in_one_sentence():
    text = bm.changes_sentence(DEFAULT_CFG, BEST_CFG)
    n = len(bm.changed_settings(DEFAULT_CFG, BEST_CFG))
    assert text.startswith(f"The preset changes {n} settings of the coursework's: ")
    assert f"hidden_size {BEST_CFG.hidden_size} (was 128)" in text


def test_what_the_search_never_varied_is_named():
    df = search()
    text = bm.untested_sentence(df, DEFAULT_CFG, BEST_CFG)
    # chunk_len and lr are one value in both rows; hidden_size and batch_size vary;
    # carry_state is not a column of the search at all
    assert text.startswith("The search never varied ") and "chunk_len" in text and "lr," in text
    assert "hidden_size" not in text and "batch_size" not in text and "carry_state" in text
    varied = pd.concat([df, df.assign(chunk_len=50, lr=0.01, precision="fp32")])
    assert "chunk_len" not in bm.untested_sentence(varied, DEFAULT_CFG, BEST_CFG)


def test_a_setting_trained_twice_measures_what_retraining_does():
    assert "Each setting was trained once" in bm.repeat_sentence(search())
    df = search()
    again = df.iloc[[1]].assign(iterations=2700, valid_bpc=1.93)
    text = bm.repeat_sentence(pd.concat([df, again], ignore_index=True))
    assert "(reaching 2,500 and 2,700 iterations in the same budget)" in text
    assert "came out 1.900 and 1.930, 0.030 apart" in text
