"""Part 4.4's facts and verdicts (charlm.studies.sampling_facts), its tables and sample blocks
(charlm.report.sections.temperature), and its results computed once (measured_study,
sample_set): every branch of every verdict, on hand-made inputs where it can be."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.report.sections import temperature as view
from charlm.studies import sampling_facts as facts
from charlm.studies.temperature import (MeasuredStudy, SampleSet, measured_study, sample_set,
                                        summarise, temperature_grid)


def _row(decoding, temperature, seed, in_vocab, repeat, bpc, entropy, distinct_words=0.8,
         distinct=30, cut=math.nan, n_words=50):
    return {"decoding": decoding, "temperature": temperature, "cut": cut, "seed": seed,
            "distinct_chars": distinct, "in_vocab": in_vocab, "distinct_words": distinct_words,
            "repeat_4gram": repeat, "bpc": bpc, "entropy_bits": entropy, "n_words": n_words}


def _table(sampled, greedy=None, reference=None, cuts=()):
    """A temperature table: ``sampled`` maps T -> (in_vocab, repeat, bpc, entropy,
    distinct_words), two seeds each (the second 0.02 higher in every measure and with one
    more distinct character); ``greedy``/``reference``: one such tuple; ``cuts``: (kind, value,
    in_vocab, bpc) at T = 1."""
    rows = [_row("sample", t, s, *(v + 0.02 * s for v in vals), distinct=30 + 10 * t + s,
                 n_words=60 - 10 * t) for t, vals in sampled.items() for s in (0, 1)]
    rows += [_row("greedy", 0.0, s, *greedy) for s in (0, 1)] if greedy else []
    rows += [_row("reference", math.nan, s, *reference) for s in (0, 1)] if reference else []
    rows += [_row(kind, 1.0, s, v, 0.0, b, 1.0, cut=c) for kind, c, v, b in cuts for s in (0, 1)]
    return pd.DataFrame(rows)


SAMPLED = {0.1: (0.97, 0.10, 0.50, 0.30, 0.30), 0.5: (0.89, 0.00, 1.68, 1.40, 0.60),
           1.0: (0.67, 0.00, 2.43, 2.45, 0.80), 2.0: (0.24, 0.00, 4.50, 4.90, 0.95)}
CUTS = [("top_k", 2, 0.95, 1.5), ("top_k", 10, 0.8, 2.0), ("top_k", 40, 0.7, 2.3),
        ("top_p", 0.5, 0.9, 1.6), ("top_p", 0.8, 0.8, 1.9), ("top_p", 0.95, 0.7, 2.2)]
FULL = _table(SAMPLED, greedy=(0.97, 0.96, 0.20, 0.0, 0.07),
              reference=(0.97, 0.01, 2.47, 2.30, 0.81), cuts=CUTS)


def study(table=FULL, predict_len=300):
    return MeasuredStudy(TrainConfig(), table, summarise(table), predict_len)


# ---------------------------------------------------------------------------------------------
# verdicts


def test_few_words_loops_and_near_random_by_their_thresholds():
    # the T = 0.1 sample of issue 18: 16 distinct words of 46, 2% of its 4-grams repeated:
    # few words, and no loop
    assert facts.few_words(16 / 46) is True and facts.loops(0.02) is False
    assert facts.few_words(0.5) is False and facts.loops(0.5) is True  # the rules' edges
    assert facts.loops(0.93) is True and facts.few_words(0.2, threshold=0.1) is False
    assert facts.near_random(0.24) is True and facts.near_random(0.97) is False
    for verdict in (facts.few_words, facts.loops, facts.near_random):
        assert verdict(math.nan) is None
    assert [facts.verdict(f) for f in (True, False, None)] == ["holds", "does not hold",
                                                               "cannot be checked"]
    assert [facts.loop_phrase(f) for f in (True, False)] == ["loops", "does not loop"]
    assert facts.loop_phrase(None) == "has too few words to tell"


def test_rank_correlation():
    assert facts.rank_correlation([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert facts.rank_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert facts.rank_correlation([1, 2, 3], [5, 5, 5]) == 0.0
    assert math.isnan(facts.rank_correlation([1, 2], [1, 2]))
    assert math.isnan(facts.rank_correlation([1, 2, 3], [1, math.nan, 2]))


@pytest.mark.parametrize("own, sd, ref_bpc, expected", [
    ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 2.5, (0.74, 0.76)),  # only the real text's spread counts
    ([1.0, 2.0, 3.0], [0.0, 0.5, 0.5], 2.5, (0.5, 1.0)),  # the samples' spread widens the band
    ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 3.5, None),  # never within reach of the real text
    ([1.0, 3.0, 2.0], [0.0, 0.0, 0.0], 2.5, None),  # not rising: no single crossing
    ([1.0], [0.0], 1.0, None),
])
def test_matching_range(own, sd, ref_bpc, expected):
    sampled = pd.DataFrame({"temperature": [0.1, 0.5, 1.0][:len(own)], "bpc_mean": own,
                            "bpc_std": sd, "n_seeds": [4] * len(own)})
    got = facts.matching_range(sampled, {"bpc_mean": ref_bpc, "bpc_std": 0.02, "n_seeds": 4})
    if expected is None:
        assert got is None and facts.band_phrase(got) == "at none of the temperatures measured"
    else:
        assert got == pytest.approx(expected, abs=0.01)
        assert facts.band_phrase(got) == f"between about T = {got[0]:.2f} and {got[1]:.2f}"


def test_loosening_phrase():
    assert facts.loosening_phrase({"top-k": True, "top-p": True}) == \
        "both measures move back towards uncut sampling"
    assert facts.loosening_phrase({"top-k": False, "top-p": True}).endswith("for top-k")
    assert facts.loosening_phrase({"top-k": True, "top-p": None}) == \
        "too few cuts were measured to tell for top-p"


# ---------------------------------------------------------------------------------------------
# facts


def test_temperature_facts_of_a_study():
    a = facts.temperature_facts(study())
    assert (repr(a.lo.t), repr(a.hi.t), repr(a.n_seeds), repr(a.n_temps)) == ("0.1", "2", "2", "4")
    assert (repr(a.lo.distinct), repr(a.ref.distinct), repr(a.lo.repeat)) == ("31%", "81%", "11%")
    assert (repr(a.hi.known), repr(a.hi.bpc), repr(a.greedy.repeat)) == ("25%", "4.51", "96%")
    assert (repr(a.t1.bpc), repr(a.t1.entropy), repr(a.words_lo), repr(a.words_ref)) == \
        ("2.44", "2.46", "59", "50")
    assert (a.varied, a.few, a.lo_loops, a.lo_loops_holds) == ("holds", "holds", "does not loop",
                                                               "does not hold")
    assert (a.greedy_loops, a.near_random) == ("loops", "holds")
    assert a.band.startswith("between about T = 1.0") and repr(a.loop_share) == "50%"
    assert a.cuts.k_holds == "holds" and a.cuts.p_holds == "holds" and repr(a.cuts.ks) == "2, 10, 40"
    assert repr(a.cuts.k_tight.known) == "95%" and repr(a.cuts.p_repeat_max) == "0%"
    # the opposite data: colder is more varied, the cold text loops, the hot one is real words
    flipped = {0.1: (0.9, 0.8, 0.5, 0.3, 0.9), 1.0: (0.9, 0.0, 2.4, 2.4, 0.5),
               2.0: (0.9, 0.0, 2.5, 4.9, 0.2)}
    f = facts.temperature_facts(study(_table(flipped, greedy=(0.9, 0.9, 0.2, 0.0, 0.1),
                                             reference=(0.97, 0.01, 2.47, 2.30, 0.81))))
    assert (f.varied, f.few, f.lo_loops, f.near_random) == ("does not hold", "does not hold",
                                                            "loops", "does not hold")
    assert f.cuts is None
    with pytest.raises(ValueError, match="greedy and real-text rows"):
        facts.temperature_facts(study(_table(SAMPLED)))


def _set(measures, prime=" more;\nand"):
    return SampleSet(TrainConfig(), prime, 1234, 200, 27, 200, {0.1: "x"}, measures,
                     {2: "a", 40: "b"}, {0.5: "c"})


MEASURES = pd.DataFrame({"temperature": [2.0, 0.1], "n_words": [32, 46], "n_4grams": [29, 43],
                         "distinct_chars": [61, 20], "in_vocab": [0.24, 0.975],
                         "distinct_words": [31 / 32, 16 / 46], "repeat_4gram": [0.0, 0.023],
                         "bpc": [4.5, 0.5], "entropy_bits": [4.9, 0.3]})


def test_samples_facts_name_the_coldest_and_show_the_prime_as_code():
    s = facts.samples_facts(_set(MEASURES))
    assert (repr(s.cold_t), repr(s.cold_words), repr(s.cold_distinct), repr(s.cold_repeat)) == \
        ("0.1", "46", "16", "2%")
    assert (repr(s.seed), repr(s.n_chunks), repr(s.t_max), s.ks, s.ps, repr(s.n_cuts)) == \
        ("1234", "27", "2", "2, 40", "0.5", "3")
    assert repr(s.prime) == "' more;\\nand'"  # shown as it is, quotes included
    assert s.prime._repr_markdown_() == "`' more;\\nand'`"
    assert facts.Code("a`b")._repr_markdown_() == "``a`b``"
    wordless = MEASURES.assign(n_words=[0, 0], distinct_words=[math.nan, math.nan])
    assert repr(facts.samples_facts(_set(wordless)).cold_distinct) == "0"


def test_distribution_facts_of_a_tiny_model():
    from charlm import build_model
    model = build_model(TrainConfig(hidden_size=8, n_layers=1))
    d = facts.distribution_facts(model, "It was", temps=(0.5, 2.0), threshold=1.0)
    assert d.context == "It was" and d.added == "nothing was added" and len(d.labels) == 12
    assert d.top.count(" at T = ") == 2 and d.entropy.endswith("at T = 2")
    assert repr(d.uniform) == "6.64" and repr(d.n_symbols) == "100" and repr(d.threshold) == "100%"
    extended = facts.distribution_facts(model, "It was", temps=(1.0,), threshold=0.0)
    assert extended.added.endswith(" was added") and len(extended.context) > len("It was")


# ---------------------------------------------------------------------------------------------
# the tables and samples


def test_samples_and_tables_are_escaped_and_complete():
    html = view.show_samples("It <was>", {0.1: "a <b> & c", 2.0: "</pre><script>alert(1)</script>"}).data
    assert html.index("<strong>T = 0.1</strong>") < html.index("<strong>T = 2</strong>")
    assert "<script>alert(1)" not in html and "&lt;/pre&gt;&lt;script&gt;" in html
    assert "It &lt;was&gt;" in html and html.count('<pre class="charlm-text"') == 2
    table = view.samples_table(MEASURES).data
    for text in ("repeated 4-grams", "known words", "98%", "2%", "24%", ">0.1<", ">61<", ">16<", ">31<"):
        assert text in table, text
    summary = view.summary_table(summarise(FULL)).data
    assert "real text (held out)" in summary and "greedy (argmax)" in summary
    assert "0.980 ± 0.014" in summary and summary.count("<tr>") == 1 + len(SAMPLED) + 2
    cuts = view.cut_table(summarise(FULL)).data
    assert "no cut" in cuts and "top-k = 40" in cuts and cuts.count("<tr>") == 1 + 1 + len(CUTS)


# ---------------------------------------------------------------------------------------------
# computed once


def test_the_study_and_the_samples_are_computed_once_and_read_back(monkeypatch):
    from charlm.studies import temperature

    cfg = TrainConfig(n_epochs=20, hidden_size=8, n_layers=1, chunk_len=20, plot_every=5,
                      print_every=1000)
    first = measured_study(cfg, [0.5, 2], 2, 30, [2, 5, 10], (0.5, 0.9, 1))
    assert first.summary.decoding.tolist().count("top_k") == 3 and first.predict_len == 30
    calls = []
    monkeypatch.setattr(temperature, "checkpoint_temperature_table",
                        lambda *a, **k: calls.append(a))
    again = measured_study(cfg, (0.5, 2.0), 2.0, 30, (2, 5, 10), [0.5, 0.9, 1.0])  # the same, other types
    assert calls == [] and again.table.equals(first.table)
    shown = sample_set(cfg, temperature_grid(0.5, 1.5, 0.5), 20, (2,), (0.5,))
    assert list(shown.samples) == [0.5, 1.0, 1.5] and len(shown.measures) == 3
    assert set(shown.top_k) == {2} and set(shown.top_p) == {0.5} and len(shown.prime) == 10
    assert sample_set(cfg, [0.5, 1, 1.5], 20, [2], [0.5]).samples == shown.samples
    assert np.all(shown.measures.temperature.to_numpy() == [0.5, 1.0, 1.5])
