"""Part 4.2 (charlm.studies.tuning, its facts and tables): the rules of its verdicts on
hand-made inputs, the selection analysis on synthetic bits, and, marked slow, a tiny study
end to end."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.errors import DataError
from charlm.report.plots import plot_bpc_by_param
from charlm.report.sections import tuning as tables
from charlm.runs import run_key
from charlm.studies.models import coursework_config
from charlm.studies.selection import seed_configs, selection_analysis
from charlm.studies.summary import chosen_config, final_losses, study_table, varied_params
from charlm.studies.tuning import (ORDER, REPLICATE, TIE, UNMEASURED, TuningPlan, TuningResults,
                                   effects, gap_verdict, repeated_runs, replicate_config,
                                   run_tuning, run_variation, trend, tuning_results)
from charlm.studies.tuning_facts import (compared, listing, negligible, selection_facts, signed,
                                         tuning_facts)

BASE = TrainConfig(valid_frac=0.05)
CONFIGS = [BASE.replace(hidden_size=64), BASE, BASE.replace(hidden_size=256), BASE.replace(lr=0.01)]
VARIED = ["hidden_size", "lr"]


def _df(valid=(2.6, 2.4, 2.3, 2.5), test=(2.7, 2.5, 2.35, 2.55), status=("ok",) * 4,
        minutes=(1.0, 2.0, 4.0, 2.0), configs=CONFIGS):
    rows = []
    for c, v, t, s, m in zip(configs, valid, test, status, minutes):
        rows.append(dict(c.to_dict(), status=s, bpc_valid=v, bpc_test=t, wall_time_s=60.0 * m,
                         iterations=c.n_epochs, n_params=1000 * c.hidden_size, min_loss=1.5,
                         final_loss=1.6))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- verdict rules


def test_run_variation_pools_groups_and_sets_the_limit():
    v = run_variation([("a", (1.0, 1.2, 1.4)), ("b", (2.0, 2.2)), ("c", (9.0,))])
    # squares about the means: 0.08 and 0.02, over 2 + 1 degrees of freedom
    assert v.dof == 3 and v.sd == pytest.approx(math.sqrt(0.1 / 3))
    assert v.t == pytest.approx(3.182)
    assert v.limit() == pytest.approx(3.182 * v.sd * math.sqrt(2))
    assert v.limit(3, 3) == pytest.approx(3.182 * v.sd * math.sqrt(2 / 3))
    lone = run_variation([("a", (1.0,))])
    assert lone.dof == 0 and math.isnan(lone.sd) and math.isnan(lone.limit())


@pytest.mark.parametrize("gap, limit, verdict", [
    (0.09, 0.064, ORDER), (0.05, 0.064, TIE), (0.064, 0.064, TIE), (-0.2, 0.064, TIE),
    (0.09, math.nan, UNMEASURED), (math.nan, 0.064, UNMEASURED),
])
def test_gap_verdict(gap, limit, verdict):
    assert gap_verdict(gap, limit) == verdict


@pytest.mark.parametrize("values, bpcs, expected", [
    ((64, 128, 256), (2.7, 2.4, 2.3), "falls as it grows"),
    ((1, 2), (2.4, 2.5), "rises as it grows"),
    ((1, 2, 3), (2.5, 2.4, 2.6), "lowest at 2"),
    ((0.001, 0.005, 0.01), (2.6, 2.4, 2.5), "lowest at 0.005"),
])
def test_trend(values, bpcs, expected):
    assert trend(values, bpcs) == expected


def test_effects_measure_the_gap_that_makes_the_best():
    configs = CONFIGS + [BASE.replace(lr=0.001)]
    df = _df(valid=(2.6, 2.4, 2.3, 2.5, 2.45), test=(2.7, 2.5, 2.35, 2.55, 2.5),
             status=("ok",) * 5, minutes=(1,) * 5, configs=configs)
    large = {"hidden_size = 64": 2.72, "base": 2.50, "hidden_size = 256": 2.41, "lr = 0.01": 2.52,
             "lr = 0.001": 2.56}
    hidden, lr = effects(df, BASE, VARIED, "bpc_valid", large, limit=0.064)
    assert (hidden.best_value, hidden.against, hidden.base_is_best) == (256, 128, False)
    assert hidden.gap == pytest.approx(0.1) and hidden.gap_large == pytest.approx(0.09)
    assert hidden.verdict == ORDER and hidden.trend == "falls as it grows"
    # the base value is best: the gap is to the next best value, 0.001
    assert (lr.best_value, lr.against, lr.base_is_best) == (0.005, 0.001, True)
    assert lr.gap == pytest.approx(0.05) and lr.gap_large == pytest.approx(0.06)
    assert lr.verdict == TIE and lr.values == (0.001, 0.005, 0.01)
    # a parameter without a finished base run, or with one run, is left out
    assert effects(df.drop(index=1), BASE, VARIED, "bpc_valid", large, 0.064) == ()
    assert [e.param for e in effects(df.iloc[:3], BASE, VARIED, "bpc_valid", large, 0.064)] == \
        ["hidden_size"]


@pytest.mark.parametrize("x, y, expected", [
    (0.035, 0.010, "more than"), (0.010, 0.010, "no more than"), (0.005, 0.010, "no more than"),
    (math.nan, 0.01, "not comparable with"),
])
def test_compared(x, y, expected):
    assert compared(x, y) == expected


def test_negligible_listing_and_signed_numbers():
    assert negligible(0.0008) == "negligible" and negligible(-0.02) == "not negligible"
    assert negligible(0.05, threshold=0.1) == "negligible" and negligible(math.nan) == "not measured"
    assert listing([]) == "none" and listing(["a"]) == "a" and listing(["a", "b", "c"]) == "a, b and c"
    assert repr(signed(-0.0001)) == "+0.000" and repr(signed(-0.089)) == "-0.089"
    assert repr(signed(0.00031, 4)) == "+0.0003"


# ---------------------------------------------------------------- the runs


def test_seed_configs_pair_the_chosen_setting_with_the_base():
    chosen = BASE.replace(hidden_size=256)
    assert seed_configs(BASE, chosen, 3) == [chosen.replace(seed=1235), chosen.replace(seed=1236),
                                             BASE.replace(seed=1235), BASE.replace(seed=1236)]
    assert seed_configs(BASE, BASE, 2) == [BASE.replace(seed=1235)]
    assert seed_configs(BASE, None, 2) == [BASE.replace(seed=1235)]
    assert seed_configs(BASE, chosen, 1) == []
    [(c, members), (b, base_members)] = repeated_runs(BASE, chosen, 3)
    assert c == chosen and members == [chosen] + seed_configs(BASE, chosen, 3)[:2] and b == BASE
    assert [m.seed for m in base_members] == [1234, 1235, 1236]
    assert repeated_runs(BASE, BASE, 2) == [(BASE, [BASE, BASE.replace(seed=1235)])]
    assert repeated_runs(BASE, chosen, 1) == []


def test_the_near_replicate_is_4_1s_model():
    base = TrainConfig(valid_frac=0.05, eval_every=250)
    assert run_key(replicate_config(base)) == run_key(coursework_config())
    assert replicate_config(TrainConfig()) == TrainConfig()


def test_chosen_config_and_final_losses():
    assert chosen_config(_df(), CONFIGS, "bpc_valid") == CONFIGS[2]
    assert chosen_config(_df().set_axis(range(10, 14)), CONFIGS, "bpc_test") == CONFIGS[2]
    assert chosen_config(_df(status=("diverged",) * 4), CONFIGS, "bpc_valid") is None
    cfg = BASE.replace(plot_every=5)
    history = [3.0] * 18 + [1.0, 2.0]  # 20 points: the last tenth is the last 2
    assert final_losses([cfg, BASE], {"a": history}, key=lambda c: "a" if c is cfg else "b")[0] == 1.5
    assert math.isnan(final_losses([BASE], {})[0])
    assert varied_params(CONFIGS, BASE) == VARIED


def test_study_table_shows_a_final_loss_only_when_given():
    df = _df()
    assert "final loss" not in study_table(df, BASE.to_dict(), VARIED).columns
    assert list(study_table(df, BASE.to_dict(), VARIED, [1.0] * 4)["final loss"]) == [1.0] * 4


# ---------------------------------------------------------------- choosing on validation


def _bits(offsets, seed=0):
    rng = np.random.default_rng(seed)
    text = np.repeat(rng.uniform(1, 3, 20), 200)  # 4,000 characters, shared difficulty
    small = [text + o + rng.normal(0, 0.5, text.size) for o in offsets]
    large = [np.tile(text, 3) + o + rng.normal(0, 0.5, 3 * text.size) for o in offsets]
    return {"s": small, "l": large}


def test_selection_analysis_on_synthetic_bits():
    bits = _bits([0.3, 0.1, 0.0, 0.2])
    small, large = bits["s"], bits["l"]
    df = _df(valid=(2.6, 2.4, 2.3, 2.5))
    sel = selection_analysis(df, CONFIGS, BASE, bits, ("s", "l"), seed=1, n_boot=100, n_splits=50)
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


def _results(chosen_index=2, n_seeds=3) -> TuningResults:
    """A study's results from hand-made rows and bits: no training."""
    df = _df()
    sel = selection_analysis(df, CONFIGS, BASE, _bits([0.3, 0.1, 0.0, 0.2]), ("s", "l"), seed=1,
                             n_boot=50, n_splits=50)
    chosen = CONFIGS[chosen_index]
    label = "base" if chosen == BASE else "hidden_size = 256"
    rows = [(label, f"seed {1234 + k}", 2.3 + 0.01 * k, 2.41 + 0.01 * k) for k in range(n_seeds)]
    if chosen != BASE:
        rows += [("base", f"seed {1234 + k}", 2.4 + 0.005 * k, 2.50 - 0.005 * k) for k in range(n_seeds)]
    rows.append(("base", REPLICATE, math.nan, 2.54))
    seeds = pd.DataFrame(rows, columns=["setting", "run", "BPC (valid)", "BPC (large test)"])
    variation = run_variation([(n, tuple(g["BPC (large test)"])) for n, g in seeds.groupby("setting", sort=False)])
    large = dict(zip(sel.scores["setting"], sel.scores["bpc_large"]))
    return TuningResults(
        plan=TuningPlan(BASE, tuple(CONFIGS), n_seeds), varied=tuple(VARIED), metric="bpc_valid",
        runs=df, final=(1.7, 1.6, 1.5, 1.65), chosen=chosen, selection=sel, seeds=seeds,
        variation=variation, effects=effects(df, BASE, VARIED, "bpc_valid", large, variation.limit()))


def test_tuning_facts_of_a_made_up_study():
    r = _results()
    a = tuning_facts(r)
    assert (a.n_runs, a.chosen, a.on, a.varied) == (4, "hidden_size = 256", "validation", "hidden_size and lr")
    assert (repr(a.chosen_valid), repr(a.base_valid), repr(a.valid_share)) == ("2.300", "2.400", "5%")
    assert a.param_ratio == pytest.approx(2.0) and repr(a.time_ratio) == "2.0"
    assert a.kept == "lr (0.005)" and a.full_grid == 6 and a.untested.startswith("chunk length, ")
    assert a.others == "hidden_size 64, 256; lr 0.01"
    assert a.base_range == pytest.approx(0.01) and a.chosen_range == pytest.approx(0.02)
    assert a.replicate == pytest.approx(2.54)
    assert a.replicate_gap == pytest.approx(abs(2.54 - a.base_large))  # the study's base run
    assert a.replicate_vs_range == "more than" and a.dof == r.variation.dof == 5
    assert a.seed_gain == pytest.approx(2.495 - 2.42) and a.gain_limit == pytest.approx(r.variation.limit(3, 3))
    assert a.gain_verdict in (ORDER, TIE) and a.flattery in ("negligible", "not negligible")
    c = selection_facts(r)
    assert (c.test_pick, c.valid_pick, c.n_scored, c.n_rest) == ("hidden_size = 256",) * 2 + (4, 3)
    assert c.small_chars == 4001 and repr(c.level) == "95%"


def test_tuning_facts_when_the_base_is_chosen_or_nothing_is_repeated():
    a = tuning_facts(_results(chosen_index=1))
    assert a.chosen == "base" and math.isnan(a.seed_gain) and a.gain_verdict == UNMEASURED
    assert a.chosen_range == a.base_range
    b = tuning_facts(_results(n_seeds=1))
    assert b.n_extra == 0 and b.n_seeds == 1 and b.outside == 1.0
    assert repr(tuning_facts(_results()).outside) == "50%"  # a 4th run: highest or lowest of 4


def test_tables_of_the_study():
    r = _results()
    html = tables.runs_table(r).data
    assert "BPC (large test)" in html and "hidden_size = 256" in html and "final loss" not in html
    full = tables.full_runs_table(r).data
    assert "final loss" in full and "1.500" in full and "min loss" in full
    effects_html = tables.effects_table(r).data
    assert "gap (valid)" in effects_html and "falls as it grows" in effects_html
    assert REPLICATE.replace("'", "&#x27;") in tables.seeds_table(r).data
    assert "95% interval (large)" in tables.scores_table(r).data


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_a_tiny_study_end_to_end(tmp_path):
    settings = tmp_path / "s.yaml"
    settings.write_text("vary:\n  hidden_size: [8, 16]\n")
    base = TrainConfig(n_epochs=20, hidden_size=16, n_layers=1, chunk_len=50, plot_every=5,
                       valid_frac=0.05)
    plan = run_tuning(base, settings, 2, tmp_path / "log.csv", workers=1)
    assert plan.configs == (base.replace(hidden_size=8), base) and plan.n_seeds == 2
    r = tuning_results(plan)
    again = tuning_results(plan)  # read from the memo, not computed again
    assert tuning_results.entry(plan).is_file() and again.seeds.equals(r.seeds)
    assert list(r.runs["status"]) == ["ok", "ok"] and r.metric == "bpc_valid"
    assert REPLICATE in set(r.seeds["run"]) and r.variation.dof >= 1
    a, c = tuning_facts(r), selection_facts(r)
    assert a.n_runs == 2 and c.n_scored == 2


def test_the_figure_shares_its_bpc_axis_and_ticks_whole_numbers_at_the_values(tmp_path):
    configs = CONFIGS + [BASE.replace(n_layers=1), BASE.replace(n_layers=3)]
    df = _df(valid=(2.6, 2.4, 2.3, 2.5, 2.45, 2.5), test=(2.7, 2.5, 2.35, 2.55, 2.5, 2.6),
             status=("ok",) * 6, minutes=(1,) * 6, configs=configs)
    fig = plot_bpc_by_param(df, BASE.to_dict(), ["hidden_size", "n_layers", "lr"],
                            tmp_path / "f.png", "bpc_valid")
    hidden, layers, lr = fig.axes
    assert hidden.get_shared_y_axes().joined(hidden, layers) and hidden.get_ylim() == lr.get_ylim()
    assert list(hidden.get_xticks()) == [64, 128, 256] and list(layers.get_xticks()) == [1, 2, 3]
    assert lr.get_xscale() == "log" and [t.get_text() for t in lr.get_xticklabels()] == ["0.005", "0.01"]
    assert layers.get_ylabel() == "" and hidden.get_ylabel() == "BPC"
