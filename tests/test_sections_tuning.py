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
from charlm.studies.selection import (Optimism, SeedSpread, SelectionAnalysis, seed_configs,
                                     seed_spread, selection_analysis)
from charlm.studies.summary import (chosen_config, final_losses, param_effects, study_table,
                                   varied_params)

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
    caption = tuning.runs_caption(df)
    assert caption.startswith("Table {#tab-42-runs}: One row per run")
    assert "BPC on the validation text and on dickens_test.txt" in caption
    assert "validation" not in tuning.runs_caption(df.assign(bpc_valid=math.nan))
    html = tuning.runs_table(df, BASE, VARIED).data
    assert "hidden_size = 256" in html and "2.350" in html and "BPC (valid)" in html
    assert "final loss" not in html and "min loss" not in html  # the main table is trimmed
    assert "BPC (valid)" not in tuning.runs_table(df.assign(bpc_valid=math.nan), BASE, VARIED).data


def test_full_runs_table_has_the_reports_final_loss_not_the_logs():
    df = _df()  # the log's final_loss is 1.6 in every row
    html = tuning.full_runs_table(df, BASE, VARIED, [1.1, 1.2, 1.3, 1.4]).data
    assert "final loss" in html and "1.300" in html and "1.600" not in html and "min loss" in html
    caption = tuning.full_runs_caption(df, "log.csv")
    assert caption.startswith("Table {#tab-c-runs}: Every run of the study (also in log.csv).")
    assert "final loss the mean of its last tenth (the report's final loss)" in caption
    assert "validation text held out of dickens_train.txt" in caption
    assert "validation" not in tuning.full_runs_caption(df.assign(bpc_valid=math.nan), "log.csv")


def test_study_table_shows_a_final_loss_only_when_given():
    df = _df()
    assert "final loss" not in study_table(df, BASE.to_dict(), VARIED).columns
    assert list(study_table(df, BASE.to_dict(), VARIED, [1.0] * 4)["final loss"]) == [1.0] * 4


def test_figure_caption_names_the_texts():
    assert tuning.figure_caption("bpc_valid") == (
        "Figure {#fig-42-bpc-by-param}: One panel per varied hyperparameter, the others at the base: "
        "BPC (bits per character) against its value, on the validation text and on dickens_test.txt. "
        "Each panel's title names the best value on validation.")
    assert tuning.figure_caption("bpc_test").endswith("against its value. Each panel's title names "
                                                      "the best value on dickens_test.txt.")


def test_method_names_the_base_apart_from_4_1s_model():
    configs = CONFIGS + [BASE.replace(lr=0.001)]
    text = tuning.method(configs, BASE, VARIED)
    assert text == ("The base setting is the coursework's (hidden_size 128, 2 layers, lr 0.005, 3,000 "
                    "iterations) with 5% of dickens_train.txt held out as validation text: it is not "
                    "the model of 4.1, which trained on the whole file. The other runs change one "
                    "value each (hidden_size 64, 256; lr 0.001, 0.01): 5 runs, where a full grid over "
                    "the same values would take 9.")
    whole = BASE.replace(valid_frac=0.0)
    assert "trained on the whole of dickens_train.txt as in 4.1." in tuning.method([whole], whole, [])


def test_seed_configs_pair_the_chosen_setting_with_the_base():
    chosen = BASE.replace(hidden_size=256)
    assert seed_configs(BASE, chosen, 3) == [chosen.replace(seed=1235), chosen.replace(seed=1236),
                                             BASE.replace(seed=1235), BASE.replace(seed=1236)]
    assert seed_configs(BASE, BASE, 2) == [BASE.replace(seed=1235)]
    assert seed_configs(BASE, None, 2) == [BASE.replace(seed=1235)]
    assert seed_configs(BASE, chosen, 1) == []


def test_seed_spread_over_the_study_and_the_extra_seeds():
    study = _df()
    rows = pd.DataFrame([dict(c.to_dict(), status="ok", bpc_valid=v, bpc_test=v, wall_time_s=60.0)
                         for c, v in zip(seed_configs(BASE, CONFIGS[2], 3), (2.31, 2.28, 2.41, 2.43))])
    spread = seed_spread(study, rows, BASE, CONFIGS[2], VARIED, "bpc_valid")
    t = spread.table
    assert list(t["setting"]) == ["hidden_size = 256", "base"] and list(t["seeds"]) == [3, 3]
    assert t["low"][0] == pytest.approx(2.28) and t["high"][0] == pytest.approx(2.31)
    assert t["mean"][1] == pytest.approx((2.4 + 2.41 + 2.43) / 3)
    assert spread.spread == pytest.approx(0.03) and spread.base == "base"
    assert spread.gain_single == pytest.approx(0.1)
    assert spread.gain == pytest.approx((2.4 + 2.41 + 2.43) / 3 - (2.3 + 2.31 + 2.28) / 3)
    # a failed seed run is left out; no extra runs: nothing measured
    failed = seed_spread(study, rows.assign(status=["ok", "diverged", "ok", "ok"]), BASE, CONFIGS[2],
                         VARIED, "bpc_valid")
    assert list(failed.table["seeds"]) == [2, 3]
    none = seed_spread(study, rows.iloc[:0], BASE, CONFIGS[2], VARIED, "bpc_valid")
    assert none.table.empty and math.isnan(none.spread) and math.isnan(none.gain)
    assert spread.compared and not none.compared
    only_base = seed_spread(study, rows.iloc[2:], BASE, CONFIGS[2], VARIED, "bpc_valid")
    assert list(only_base.table["setting"]) == ["base"] and not only_base.compared
    assert "gain" not in tuning.seed_variation(only_base)


def test_chosen_config_and_final_losses():
    assert chosen_config(_df(), CONFIGS, "bpc_valid") == CONFIGS[2]
    assert chosen_config(_df().set_axis(range(10, 14)), CONFIGS, "bpc_test") == CONFIGS[2]
    assert chosen_config(_df(status=("diverged",) * 4), CONFIGS, "bpc_valid") is None
    cfg = BASE.replace(plot_every=5)
    history = [3.0] * 18 + [1.0, 2.0]  # 20 points: the last tenth is the last 2
    assert final_losses([cfg, BASE], {"a": history}, key=lambda c: "a" if c is cfg else "b")[0] == 1.5
    assert math.isnan(final_losses([BASE], {})[0])


def _spread(**changes) -> SeedSpread:
    table = pd.DataFrame({"setting": ["hidden_size = 256", "base"], "seeds": [3, 3],
                          "mean": [2.30, 2.40], "low": [2.29, 2.39], "high": [2.32, 2.41],
                          "std": [0.015, 0.01]})
    return dataclasses.replace(SeedSpread(table=table, metric="bpc_valid", base="base",
                                          chosen="hidden_size = 256", gain=0.1, gain_single=0.09,
                                          spread=0.03), **changes)


def test_seed_variation_says_whether_the_gain_exceeds_the_spread():
    text = tuning.seed_variation(_spread())
    assert text.startswith("Trained with 3 seeds each (the study's and 2 more), hidden_size = 256 "
                           "scores from 2.290 to 2.320 on validation (standard deviation 0.015) and "
                           "the base scores from 2.390 to 2.410")
    assert "gain, 0.090 bits with one seed and 0.100 on average over the seeds, exceeds the larger range (0.030)" in text
    assert text.endswith("the larger range (0.030). With 3 seeds per setting the measure is rough, and "
                         "the other settings were trained once: a difference between them smaller "
                         "than about this range is not an order.")
    assert "does not exceed the larger range (0.200)" in tuning.seed_variation(_spread(spread=0.2))
    assert "not measured" in tuning.seed_variation(_spread(table=_spread().table.iloc[:0]))
    caption = tuning.seeds_caption(_spread())
    assert caption.startswith("Table {#tab-c-seeds}:") and "BPC on validation" in caption
    html = tuning.seeds_table(_spread()).data
    assert "lowest" in html and "std. dev." in html and "2.320" in html


def test_answer_names_the_base_the_choice_and_the_seed_check():
    df = _df().assign(n_params=[500, 1000, 4000, 1000])
    effects = param_effects(df, BASE.to_dict(), VARIED, "bpc_valid")
    text = tuning.answer(df, CONFIGS, BASE, VARIED, "bpc_valid", effects, _spread())
    assert text == (
        "**Answer.** 4 runs, each changing one hyperparameter (hidden_size, lr) of a base setting "
        "(the coursework's settings with 5% of dickens_train.txt held out to choose on), were "
        "compared on validation BPC. The best is **hidden_size = 256**: 2.300 against the base's "
        "2.400 on validation, 2.350 against 2.500 on dickens_test.txt, with 4.0 times the "
        "parameters and 2.0 times the training time. Over 3 seeds each, it beats the base by "
        "0.100 bits on average, 3 times the larger seed-to-seed range (0.030): not chance. The "
        "base's lr (0.005) was already the best value tried.")
    within = tuning.answer(df, CONFIGS, BASE, VARIED, "bpc_valid", effects, _spread(spread=0.2))
    assert "less than the larger seed-to-seed range (0.200): one cannot tell them apart." in within
    alone = tuning.answer(df, CONFIGS, BASE, VARIED, "bpc_test", effects)
    assert "compared on dickens_test.txt BPC" in alone and "seeds" not in alone
    assert "on dickens_test.txt, 2.350 against" not in alone
    failed = tuning.answer(df.assign(status="diverged"), CONFIGS, BASE, VARIED, "bpc_valid", effects)
    assert failed.endswith("**No run finished**, so nothing was chosen; see the status column.")
    no_base = tuning.answer(_df(status=("ok", "diverged", "ok", "ok")), CONFIGS, BASE, VARIED,
                            "bpc_valid", effects)
    assert "The best is **hidden_size = 256** (validation BPC 2.300)." in no_base


# ---------------------------------------------------------------- the effects


def test_learned_against_the_measured_seed_spread():
    effects = param_effects(_df(), BASE.to_dict(), VARIED, "bpc_valid")
    text = tuning.learned(effects, BASE, VARIED, noise=0.03)
    assert text.split("\n") == [
        "- **hidden_size**: BPC falls as it grows; 256 beats the base value 128 by 0.100 bits, more "
        "than the seed-to-seed range (0.030).",
        "- **lr**: BPC rises as it grows; the base value 0.005 is the best tried, 0.100 bits better "
        "than the next, 0.01, more than the seed-to-seed range (0.030)."]
    assert "within the seed-to-seed range (0.200): a tie, not an order" in \
        tuning.learned(effects, BASE, VARIED, noise=0.2)


def test_learned_without_a_seed_measure_flags_small_gains():
    df = _df(valid=(2.6, 2.4, 2.39, 2.3))
    text = tuning.learned(param_effects(df, BASE.to_dict(), VARIED, "bpc_valid"), BASE, VARIED)
    assert "256 beats the base value 128 by 0.010 bits (a difference this small may be chance" in text
    assert "0.01 beats the base value 0.005 by 0.100" in text
    assert tuning.learned(param_effects(df, BASE.to_dict(), VARIED, "bpc_valid"), BASE, VARIED,
                          noise=math.nan) == text  # no seed runs finished: unmeasured
    assert "the combination (hidden_size = 256, lr = 0.01) would need its own run" in text
    three = _df(valid=(2.6, 2.4, 2.5, 2.5), configs=[BASE.replace(n_layers=1), BASE,
                                                     BASE.replace(n_layers=3), BASE.replace(lr=0.01)])
    effects = param_effects(three, BASE.to_dict(), ["n_layers", "lr"], "bpc_valid")
    lowest = tuning.learned(effects, BASE, ["n_layers", "lr"], noise=0.01)
    assert lowest.startswith("- **n_layers**: the base value 2 is the best tried, 0.100 bits better "
                             "than the next, 3")  # no "lowest at 2" before it


def test_learned_without_a_base_run_or_without_pairs():
    df = _df(status=("ok", "diverged", "ok", "ok"))
    text = tuning.learned(param_effects(df, BASE.to_dict(), VARIED, "bpc_valid"), BASE, VARIED)
    assert "**hidden_size**: BPC falls as it grows; the base run did not finish" in text
    assert "**lr**: only 1 finished run(s), nothing to compare." in text


def test_untested_lists_what_stayed_at_the_base():
    assert tuning.untested(VARIED) == (
        "Only the values in [](#tab-42-runs) were tried; chunk length, batch size, dropout, gradient "
        "clipping, the learning-rate schedule and the recurrent cell stayed at the base's values.")
    assert tuning.untested(list(tuning.UNTESTED)) == "Only the values in [](#tab-42-runs) were tried."
    assert tuning.untested([f for f in tuning.UNTESTED if f != "dropout"]).endswith(
        "tried; dropout stayed at the base's values.")


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
    assert caption.startswith("Table {#tab-c-scores}: Every finished run of the study")
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


def test_validation_lesson_in_short():
    text = tuning.validation_lesson(_analysis())
    assert text == (
        "Choosing on small.txt would pick **hidden_size = 256**, the same setting as validation. On "
        "large.txt (180 KB), which played no part in the choice on validation, the chosen setting "
        "scores 2.410. Here the winner is clear, so that flattery is negligible (under 0.01 bits), "
        "as it would not be with settings closer together. A run's 95% interval is 0.136 bits wide "
        "on small.txt and 0.030 on large.txt; comparing two models on the same text is more "
        "precise: the chosen setting minus the base is -0.089 bits on small.txt (-0.112 to -0.066).")
    other = tuning.validation_lesson(_analysis(by_valid=1, optimism_rest=_opt(0.05), paired=None))
    assert "; validation picks **base**. On large.txt" in other and "scores 2.500" in other
    assert "would flatter its winner by about 0.035 bits. A run's" in other
    assert "minus the base" not in other
    assert "the same setting" not in tuning.validation_lesson(_analysis(by_valid=None))


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
