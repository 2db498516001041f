"""Section 4.2's sentences (charlm.report.sections.tuning) and the selection analysis behind
them, on small synthetic studies: no training, no data files."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.errors import DataError
from charlm.report.sections import tuning
from charlm.studies.selection import Optimism, SelectionAnalysis, selection_analysis
from charlm.studies.summary import param_effects, varied_params

BASE = TrainConfig(valid_frac=0.05)
CONFIGS = [BASE.replace(hidden_size=64), BASE, BASE.replace(hidden_size=256), BASE.replace(lr=0.01)]
VARIED = ["hidden_size", "lr"]


def _df(valid=(2.6, 2.4, 2.3, 2.5), test=(2.7, 2.5, 2.35, 2.55), status=("ok",) * 4,
        minutes=(1.0, 2.0, 4.0, 2.0), configs=CONFIGS):
    rows = []
    for c, v, t, s, m in zip(configs, valid, test, status, minutes):
        rows.append(dict(c.to_dict(), status=s, bpc_valid=v, bpc_test=t, wall_time_s=60.0 * m,
                         iterations=c.n_epochs, n_params=1000, min_loss=1.5, final_loss=1.6))
    return pd.DataFrame(rows)


def _opt(mean, agreement=1.0, n_splits=2000):
    return Optimism(mean=mean, low=mean - 0.1, high=mean + 0.1, agreement=agreement,
                    chosen=(1.0, 0.0), n_splits=n_splits, half_chars=2636.0)


def _analysis(**changes) -> SelectionAnalysis:
    scores = pd.DataFrame({
        "setting": ["hidden_size = 64", "base", "hidden_size = 256"],
        "bpc_valid": [2.6, 2.4, 2.3], "bpc_test": [2.7, 2.5, 2.35],
        "test_low": [2.6, 2.4, 2.3], "test_high": [2.8, 2.6, 2.4],
        "bpc_large": [2.72, 2.5, 2.41], "large_low": [2.7, 2.49, 2.4],
        "large_high": [2.74, 2.51, 2.42]})
    sel = SelectionAnalysis(
        scores=scores, texts=("small.txt", "large.txt"), chars=(5476, 180415), valid_frac=0.05,
        block=200, n_boot=2000, level=0.95, by_test=2, by_valid=2, rho_valid=0.96, rho_test=0.93,
        margin=0.15, optimism=_opt(0.001), optimism_rest=_opt(0.0004, 0.9), width_test=0.136,
        width_large=0.030, base=1, paired=((-0.089, -0.112, -0.066), (-0.091, -0.096, -0.085)))
    return dataclasses.replace(sel, **changes)


# ---------------------------------------------------------------- the study


def test_study_description_counts_runs_and_the_full_grid():
    configs = CONFIGS + [BASE.replace(lr=0.001)]
    text = tuning.study_description(configs, BASE, VARIED, "params/x.yaml")
    assert "**5 runs**" in text and "`hidden_size` in [64, 128, 256]; `lr` in [0.001, 0.005, 0.01]" in text
    assert "would take 9 runs" in text and "`params/x.yaml`" in text
    assert "holds out 5% of dickens_train.txt" in text and "blocks of 10,000 characters" in text
    no_valid = BASE.replace(valid_frac=0.0)
    text = tuning.study_description([no_valid, no_valid.replace(lr=0.01)], no_valid, ["lr"], "s.yaml")
    assert "would take 2 runs" in text and "No run holds out a validation split" in text


def test_runs_table_mentions_validation_only_when_there_is_some():
    df = _df()
    assert "validation part of dickens_train.txt" in tuning.runs_caption(df, "log.csv")
    assert "(also in log.csv)" in tuning.runs_caption(df, "log.csv")
    assert "validation" not in tuning.runs_caption(df.assign(bpc_valid=math.nan), "log.csv")
    html = tuning.runs_table(df, BASE, VARIED, "log.csv").data
    assert "hidden_size = 256" in html and "2.350" in html and "BPC (valid)" in html


def test_chosen_setting_on_validation_against_the_base():
    text = tuning.chosen_setting(_df(), CONFIGS, BASE, VARIED, "bpc_valid")
    assert text == ("Chosen on validation BPC, the best setting of the study is **hidden_size = 256**, "
                    "with validation BPC **2.300** (and 2.350 on dickens_test.txt); the base setting "
                    "scores 2.400, 0.100 bits per character more.")


def test_chosen_setting_on_test_without_a_base_run():
    text = tuning.chosen_setting(_df(), CONFIGS, BASE, VARIED, "bpc_test")
    assert text.startswith("Chosen on test BPC") and "on dickens_test.txt" not in text
    assert "the base setting scores 2.500, 0.150" in text
    failed = _df(status=("ok", "diverged", "ok", "ok"))
    assert "base setting" not in tuning.chosen_setting(failed, CONFIGS, BASE, VARIED, "bpc_test")
    others = [c for c in CONFIGS if c != BASE]
    df = _df(valid=(2.6, 2.3, 2.5), test=(2.7, 2.35, 2.55), configs=others)
    text = tuning.chosen_setting(df, others, BASE, VARIED, "bpc_test")
    assert "hidden_size = 256" in text and "base setting" not in text and text.endswith("**2.350**.")


def test_chosen_setting_when_nothing_finished():
    df = _df(status=("diverged",) * 4)
    assert "No run of this study finished" in tuning.chosen_setting(df, CONFIGS, BASE, VARIED, "bpc_valid")


# ---------------------------------------------------------------- the effects


def test_describe_trend_falls_rises_or_has_a_minimum():
    assert "BPC falls as it grows" in tuning.describe_trend([(64, 2.4), (128, 2.2)], "hidden_size")
    rises = tuning.describe_trend([(0.001, 2.2), (0.01, 2.3)], "lr")
    assert "BPC rises as it grows" in rises and "spread is 0.100" in rises and "0.001 -> 2.200" in rises
    assert "BPC is lowest at 2" in tuning.describe_trend([(1, 2.5), (2, 2.4), (3, 2.6)], "n_layers")
    assert "only 1 finished run(s)" in tuning.describe_trend([(1, 2.5)], "n_layers")


def test_trends_list_every_parameter_and_times_where_there_are_two_runs():
    df = _df(status=("ok", "ok", "ok", "diverged"))
    text = tuning.trends(param_effects(df, BASE.to_dict(), VARIED, "bpc_valid"), VARIED)
    lines = text.split("\n")
    assert len(lines) == 3 and all(ln.startswith("- ") for ln in lines)
    assert "**lr**: only 1 finished run(s)" in lines[1]
    assert lines[2] == "- Training time against `hidden_size`: 64 -> 1.0 min, 128 -> 2.0 min, 256 -> 4.0 min"


def test_lessons_one_parameter_improving():
    effects = param_effects(_df(), BASE.to_dict(), VARIED, "bpc_valid")
    text = tuning.lessons(effects, BASE, VARIED)
    assert "For `hidden_size`, 256 beats the base value 128 by 0.100 bits per character." in text
    assert "For `lr` the base value (0.005) is already the best value tried." in text
    assert "may be chance" not in text and "combination" not in text


def test_lessons_flag_a_small_gain_and_several_winners():
    df = _df(valid=(2.6, 2.4, 2.39, 2.3))
    text = tuning.lessons(param_effects(df, BASE.to_dict(), VARIED, "bpc_valid"), BASE, VARIED)
    assert "256 beats the base value 128 by 0.010 bits per character (a difference this small may be chance" in text
    assert "0.01 beats the base value 0.005 by 0.100" in text
    assert "the combination (hidden_size = 256, lr = 0.01) would need its own run" in text
    assert "chance" not in tuning.lessons(param_effects(df, BASE.to_dict(), VARIED, "bpc_valid"),
                                          BASE, VARIED, chance=0.005)


def test_lessons_without_a_base_run_or_without_pairs():
    df = _df(status=("ok", "diverged", "ok", "ok"))
    text = tuning.lessons(param_effects(df, BASE.to_dict(), VARIED, "bpc_valid"), BASE, VARIED)
    assert "For `hidden_size`, 256 is the best value tried; the base run did not finish" in text
    assert "lr" not in text  # a single finished lr run: nothing to compare
    alone = tuning.lessons({"lr": [(0.005, 2.4, 1.0)]}, BASE, ["lr"])
    assert alone.startswith("No parameter has two finished runs")


# ---------------------------------------------------------------- choosing on validation


def test_selection_analysis_on_synthetic_bits():
    rng = np.random.default_rng(0)
    text = np.repeat(rng.uniform(1, 3, 20), 200)  # 4,000 characters, shared difficulty
    offsets = [0.3, 0.1, 0.0, 0.2]
    small = [text + o + rng.normal(0, 0.5, text.size) for o in offsets]
    large = [np.tile(text, 3) + o + rng.normal(0, 0.5, 3 * text.size) for o in offsets]
    df = _df(valid=(2.6, 2.4, 2.3, 2.5))
    sel = selection_analysis(df, CONFIGS, BASE, {"s": small, "l": large}, ("s", "l"), seed=1,
                             n_boot=100, n_splits=50)
    assert list(sel.scores["setting"]) == ["hidden_size = 64", "base", "hidden_size = 256", "lr = 0.01"]
    assert sel.by_test == 2 and sel.by_valid == 2 and sel.chosen == 2 and sel.base == 1
    assert sel.chars == (4001, 12001) and sel.valid_frac == 0.05 and sel.n_boot == 100
    assert sel.optimism.n_splits == 50 and sel.optimism_rest is not None
    assert sel.scores["bpc_test"][2] == pytest.approx(small[2].mean())
    assert (sel.scores["test_low"] < sel.scores["bpc_test"]).all()
    assert sel.width_large < sel.width_test and 0 < sel.margin < 0.2
    assert sel.rho_valid == pytest.approx(1.0) and sel.rho_test == pytest.approx(1.0)
    (d_small, lo, hi), _ = sel.paired
    assert lo < d_small < hi and d_small == pytest.approx(-0.1, abs=0.05)
    # no validation BPC: chosen on test; chosen = base: nothing to pair; two runs: no "rest"
    two = selection_analysis(df.iloc[1:3].assign(bpc_valid=math.nan), CONFIGS[1:3], BASE,
                             {"s": small[1:3], "l": large[1:3]}, ("s", "l"), n_boot=20, n_splits=20,
                             varied=VARIED)
    assert two.by_valid is None and two.chosen == 1 and two.optimism_rest is None
    assert two.base == 0 and two.paired is not None
    at_base = selection_analysis(df.iloc[:2], CONFIGS[:2], BASE, {"s": small[:2], "l": large[:2]},
                                 ("s", "l"), n_boot=20, n_splits=20)
    assert at_base.chosen == at_base.base == 1 and at_base.paired is None
    with pytest.raises(DataError, match="at least 2 finished runs"):
        selection_analysis(df.iloc[:1], CONFIGS[:1], BASE, {"s": small[:1], "l": large[:1]}, ("s", "l"))


def test_scores_table_names_texts_sizes_and_bootstrap():
    sel = _analysis()
    frame = tuning.scores_frame(sel)
    assert list(frame.columns) == ["setting", "BPC (valid)", "BPC (test)", "95% interval (test)",
                                   "BPC (large test)", "95% interval (large)"]
    assert frame["95% interval (test)"][0] == "2.600 - 2.800"
    caption = tuning.scores_caption(dataclasses.replace(sel, block=100, n_boot=500, level=0.9))
    assert "(5% of dickens_train.txt), small.txt (5,476 characters) and large.txt (180,415 characters)" in caption
    assert "90% block bootstraps" in caption and "100-character blocks" in caption and "500 times" in caption
    assert "2.350" in tuning.scores_table(sel).data


def test_choices_same_winner():
    text = tuning.choices(_analysis())
    assert "**Choosing on small.txt** would pick **hidden_size = 256** and report 2.350; on the 180 KB file" in text
    assert "picks **hidden_size = 256** (the same setting): validation 2.300, test 2.350, large test 2.410" in text
    assert "over the 3 runs): validation 0.96, small.txt 0.93." in text


def test_choices_different_winner_and_no_validation():
    text = tuning.choices(_analysis(by_valid=1))
    assert "picks **base**: validation 2.400" in text and "the same setting" not in text
    text = tuning.choices(_analysis(by_valid=None))
    assert "there is no choice on validation" in text and "Spearman" not in text


def test_optimism_with_and_without_the_runs_beside_the_winner():
    text = tuning.optimism(_analysis(optimism=_opt(-0.0001)))
    assert "**Measured over 2,000 random splits** of the 200-character blocks of small.txt" in text
    assert "**0.000 bits per character better**" in text and "-0.000" not in text
    assert "95% of splits between -0.100 and 0.100" in text and "halves of about 2,636 characters" in text
    assert "The margin between the two best runs is 0.150." in text
    assert "choosing among the other 2 runs (test BPC from 2.500 to 2.700)" in text
    assert "agree on it in 90% of the splits" in text
    alone = tuning.optimism(_analysis(optimism_rest=None, optimism=_opt(0.05, n_splits=300)))
    assert "Without the winner" not in alone and "300 random splits" in alone
    assert "roughly 0.035" in alone


def test_optimism_verdict_negligible_or_not():
    assert "negligible** (under 0.01 bits" in tuning.optimism_verdict(_analysis())
    flattered = tuning.optimism_verdict(_analysis(optimism_rest=_opt(0.05)))
    assert flattered == ("So choosing on the test file would have flattered the chosen run by about "
                         "0.035 bits per character on the whole file.")
    assert "negligible" in tuning.optimism_verdict(_analysis(optimism_rest=_opt(0.05)), negligible=0.1)
    assert "negligible" in tuning.optimism_verdict(_analysis(optimism_rest=None))


def test_uncertainty_compares_the_two_texts():
    text = tuning.uncertainty(_analysis())
    assert "0.136 bits wide on the 5 KB small.txt and 0.030 wide on the 180 KB large.txt, 5 times narrower" in text


def test_paired_difference_branches():
    text = tuning.paired_difference(_analysis())
    assert text == ("Resampling the same blocks for both models, the chosen setting (hidden_size = 256) "
                    "minus the base scores -0.089 bits on small.txt (95% interval -0.112 to -0.066); "
                    "-0.091 bits on large.txt (95% interval -0.096 to -0.085).")
    assert "is the base setting" in tuning.paired_difference(_analysis(paired=None))
    assert "has no finished run" in tuning.paired_difference(_analysis(base=None, paired=None))


def test_varied_params_of_the_synthetic_study():
    assert varied_params(CONFIGS, BASE) == VARIED
