"""The sentences of section 4.5 (cells, Python source), every branch, on synthetic results.

No training and no data files: the comparisons, rankings and scores are built by hand.
"""

import string

import numpy as np
import pandas as pd
import pytest
import torch

from charlm import TrainConfig
from charlm.corpora import PythonCorpus
from charlm.model import CharRNN
from charlm.report.sections import cells as say
from charlm.report.sections import python_source as say_py
from charlm.runs import run_key
from charlm.studies.cells import SUMMARY_COLUMNS, CellComparison, Ranking
from charlm.studies.python_corpus import DomainScores

BASE = TrainConfig(n_epochs=3000, hidden_size=128, n_layers=2, lr=0.005, plot_every=10,
                   chunk_len=200, seed=1234)
SIZES = {"lstm": 128, "gru": 149, "rnn": 255}


def _row(cell, bpc_large, bpc_small, minutes=10.0, iterations=3000, final=1.5, params=200_000):
    return {"cell": cell.upper(), "hidden size": SIZES[cell], "parameters": params,
            "iterations": iterations, "characters read": iterations * 200, "minutes": minutes,
            "seconds": minutes * 60, "ms per iteration": 60_000 * minutes / iterations,
            "final loss": final, "BPC (test)": bpc_small, "BPC (test_large)": bpc_large,
            "status": "ok"}


def ranking(large, small=None, minutes=None, iterations=None, gaps=None):
    """A ranking of the cells in ``large`` (cell -> BPC on the large file), config order kept."""
    small = small or large
    minutes = minutes or {c: 10.0 for c in large}
    iterations = iterations or {c: 3000 for c in large}
    rows = pd.DataFrame([_row(c, large[c], small[c], minutes[c], iterations[c]) for c in large],
                        index=list(large))
    best = min(large, key=large.get)
    gaps = gaps or {c: (large[c] - large[best], large[c] - large[best] - 0.01,
                        large[c] - large[best] + 0.01) for c in large if c != best}
    configs = {c: BASE.replace(cell=c, hidden_size=SIZES[c], n_epochs=iterations[c]) for c in large}
    return Ranking(rows, configs, gaps)


def comparison(seconds=None, operators=None, n_large=1000, n_large_total=1000, gru_iters=380):
    """A comparison of three cells; the GRU's equal-time run has ``gru_iters`` iterations."""
    equal_data = tuple(BASE.replace(cell=c, hidden_size=SIZES[c]) for c in SIZES)
    equal_time = (equal_data[0], equal_data[1].replace(n_epochs=gru_iters),
                  equal_data[2].replace(n_epochs=750))
    configs = list(dict.fromkeys(equal_data + equal_time))
    bpc = {"lstm": 2.1, "gru": 2.2, "rnn": 2.4}
    summary = pd.DataFrame([_row(c.cell, bpc[c.cell], bpc[c.cell] + 0.05, iterations=c.n_epochs)
                            for c in configs], index=[run_key(c) for c in configs],
                           columns=list(SUMMARY_COLUMNS))
    seconds = seconds or {"lstm": 0.02, "gru": 0.16, "rnn": 0.08}
    if operators is None:
        operators = {"lstm": {"aten.mkldnn_rnn_layer": 2, "aten.mm": 40},
                     "gru": {"aten.mm": 4000, "aten.add": 6000}, "rnn": {"aten.addmm": 2000}}
    rng = np.random.default_rng(0)
    return CellComparison(
        base=BASE, equal_data=equal_data, equal_time=equal_time, extra=(), summary=summary,
        seconds=seconds, operators=operators, timing_iterations=20,
        histories={run_key(c): [4.0, 3.0, 2.0] for c in configs}, models={},
        large_bits={run_key(c): bpc[c.cell] + rng.normal(0, 0.5, 400) for c in configs},
        large_text=None, n_test=1234, n_large=n_large, n_large_total=n_large_total)


# --- cells --------------------------------------------------------------------------------------


def test_large_note_says_whether_the_whole_file_was_scored():
    assert say.large_note(1000, 1000) == "1,000 characters"
    assert say.large_note(500, 1000) == "its first 500 characters, of 1,000"


def test_equal_data_setting_names_each_width_and_the_shared_settings():
    text = say.equal_data_setting(comparison())
    assert "LSTM 128 (200,000 parameters), GRU 149 (200,000 parameters), RNN 255" in text
    assert "the 3 runs read the same 600,000 characters in the same order" in text


def test_equal_data_table_and_its_caption_name_the_texts_scored():
    html = say.equal_data_table(comparison()).data
    assert "ms per iteration" not in html and "status" not in html and "2.100" in html
    caption = say.equal_data_caption(comparison())
    assert caption.startswith("Table {#tab-45-equal-data}: The cells at equal parameter count")
    assert "final loss (mean of the last tenth of the loss history, nats per character)" in caption
    assert "dickens_test.txt (1,234 characters)" in caption
    part = say.equal_data_caption(comparison(n_large=500, n_large_total=1000))
    assert "its first 500 characters, of 1,000" in part


def test_answer_gives_both_comparisons_and_the_python_corpus():
    runs = comparison()
    d = ranking({"lstm": 2.10, "gru": 2.20, "rnn": 2.40})
    t = ranking({"lstm": 2.10, "gru": 2.30, "rnn": 2.50})
    text = say.answer(runs, d, t, domains(pp=2.0, dd=2.2))
    assert text.startswith("**Answer.** With about 200,000 parameters each and the same 3,000 "
                           "training chunks, the LSTM predicts held-out Dickens best: 2.100 bits "
                           "per character, against 2.200 for the GRU, 2.400 for the RNN (every "
                           "gap's 95% interval excludes zero).")
    assert "In the LSTM's training time the LSTM wins again" in text
    assert "needs 2.000 bits per character on unseen Python files, less than the Dickens model "            "on unseen Dickens (2.200)" in text
    close = ranking({"lstm": 2.10, "gru": 2.11}, gaps={"gru": (0.01, -0.01, 0.03)})
    other = ranking({"lstm": 2.30, "gru": 2.20})
    text = say.answer(runs, close, other, domains(pp=2.5, dd=2.2))
    assert "excludes zero" not in text and "the GRU is best." in text and ", more than" in text


def test_not_tested_says_what_was_held_fixed():
    text = say.not_tested(comparison())
    assert text.startswith("**Not tested.** Each cell was trained once (seed 1234)")
    assert "2 layers, learning rate 0.005, 3,000 chunks" in text and "might rank differently" in text


def test_ranking_orders_by_the_large_file_and_gaps_the_others():
    runs = comparison()
    r = runs.ranking(runs.equal_data)
    assert r.order == ["lstm", "gru", "rnn"] and r.best == "lstm" and set(r.gaps) == {"gru", "rnn"}
    gap, low, high = r.gaps["rnn"]
    assert low < gap < high and gap == pytest.approx(0.3, abs=0.15)
    t = runs.ranking(runs.equal_time)
    assert t.configs["gru"].n_epochs == 380


def test_equal_data_findings_same_order_and_rnn_last():
    r = ranking({"lstm": 2.10, "gru": 2.20, "rnn": 2.40})
    text = say.equal_data_findings(r, 1234)
    assert text.startswith("Gaps to the LSTM on dickens_test_large.txt, in bits per character "
                           "with 95% paired bootstrap intervals: GRU 0.100 (0.090 to 0.110), "
                           "RNN 0.300 (0.290 to 0.310).")
    assert "gives the same order." in text and text.endswith("The plain RNN is last.")


def test_equal_data_findings_different_small_order_and_rnn_not_last():
    r = ranking({"lstm": 2.20, "gru": 2.10, "rnn": 2.15}, small={"lstm": 2.0, "gru": 2.3, "rnn": 2.1})
    text = say.equal_data_findings(r, 1234)
    assert text.startswith("Gaps to the GRU")
    assert ("the order is different: LSTM 2.000, RNN 2.100, GRU 2.300 (it has only 1,234 "
            "characters") in text
    assert "The plain RNN is not last here: it comes 2 of 3." in text
    assert "is last." not in text


def test_equal_data_findings_without_an_rnn_says_nothing_of_it():
    text = say.equal_data_findings(ranking({"lstm": 2.1, "gru": 2.2}), 10)
    assert "RNN" not in text


def test_timings_give_milliseconds_and_ratios():
    text = say.timings(comparison())
    assert text == ("Timed on this machine, one training iteration takes **20 ms for the LSTM**, "
                    "**160 ms for the GRU** (8.0 times as long), **80 ms for the RNN** (4.0 times "
                    "as long).")


def test_operators_with_the_fused_kernel_for_the_lstm_only():
    text = say.operators(comparison())
    assert "calls 42 PyTorch operators for the LSTM, against 10,000 for the GRU (50 per " \
           "character), 2,000 for the RNN (10 per character)." in text
    assert "Each LSTM layer runs as the fused kernel (`mkldnn_rnn_layer`, called 2 times" in text
    assert "the GRU and the RNN step through the characters" in text


def test_operators_when_the_fused_kernel_is_not_used():
    ops = {"lstm": {"aten.mm": 4000}, "gru": {"aten.mm": 4000}, "rnn": {"aten.mm": 2000}}
    text = say.operators(comparison(operators=ops))
    assert "do not differ in that way" in text and "is not used here" in text
    assert "Each LSTM layer" not in text


def test_operators_when_every_cell_has_a_fused_kernel():
    ops = {c: {"aten.mkldnn_rnn_layer": 2} for c in ("lstm", "gru", "rnn")}
    text = say.operators(comparison(operators=ops))
    assert "do not differ in that way" in text and "is used here" in text


def test_equal_time_budget_names_the_iterations():
    text = say.equal_time_budget(comparison(gru_iters=1380))
    assert "the LSTM keeps its 3,000 iterations" in text
    assert text.endswith("the GRU gets 1,380, the RNN gets 750.")


def test_equal_time_table_shows_the_timed_milliseconds_and_its_caption_what_they_are():
    html = say.equal_time_table(comparison()).data
    assert "ms per iteration (timed)" in html
    assert ">160<" in html and ">76,000<" in html  # timed ms of the GRU; characters it read
    caption = say.equal_time_caption(comparison())
    assert caption.startswith("Table {#tab-d-equal-time}: ") and "over 20 iterations" in caption
    assert "mean of the last tenth of the loss history" in caption


def test_time_spread_close_and_spread():
    close = ranking({"lstm": 2.1, "gru": 2.2}, minutes={"lstm": 10.0, "gru": 11.0})
    assert say.time_spread(close).endswith("took LSTM 600 s, GRU 660 s: close to equal, as intended.")
    far = ranking({"lstm": 2.1, "gru": 2.2}, minutes={"lstm": 10.0, "gru": 15.0})
    assert "not equal, the longest 1.5 times as long as the shortest" in say.time_spread(far)
    assert "close to equal" in say.time_spread(far, close=2.0)


def test_equal_time_findings_same_best_as_at_equal_data():
    d = ranking({"lstm": 2.10, "gru": 2.20, "rnn": 2.40})
    t = ranking({"lstm": 2.10, "gru": 2.30, "rnn": 2.50}, iterations={"lstm": 3000, "gru": 380, "rnn": 750})
    text = say.equal_time_findings(t, d)
    assert text.startswith("**In the LSTM's training time, the LSTM is best** again.")
    assert "The GRU (380 iterations, 13% of the LSTM's characters) scores 2.300, 0.200 bits per " \
           "character more (interval 0.190 to 0.210)." in text
    assert "close to equal" in text
    sentence = say.equal_time_sentence(t, d)
    assert sentence == ("In the LSTM's time (3,000 iterations) the others get fewer (the GRU 380, "
                        "the RNN 750), and the LSTM is best again, ahead of the GRU by 0.200 "
                        "(0.190 to 0.210), the RNN by 0.400 (0.390 to 0.410) bits per character.")


def test_equal_time_findings_other_best_than_at_equal_data():
    d = ranking({"lstm": 2.10, "gru": 2.20, "rnn": 2.40})
    t = ranking({"lstm": 2.30, "gru": 2.35, "rnn": 2.20}, iterations={"lstm": 3000, "gru": 380, "rnn": 750})
    text = say.equal_time_findings(t, d)
    assert "the RNN is best**, while at equal data the LSTM was." in text
    assert "the RNN is best (at equal data the LSTM was)" in say.equal_time_sentence(t, d)


# --- Python source -------------------------------------------------------------------------------


def _corpus(skipped=None):
    return PythonCorpus(train_path="/r/runs/corpora/python_stdlib.txt",
                        heldout_path="/r/runs/corpora/python_stdlib_heldout.txt",
                        manifest_path="/r/runs/corpora/python_stdlib.json", python_version="3.11.7",
                        implementation="CPython", stdlib="/usr/lib/python3.11",
                        train_files=["a.py", "b.py"], heldout_files=["c.py"], train_chars=1_000_500,
                        heldout_chars=100_200, candidates=1500, skipped=skipped or {})


def domains(pp=2.0, pd_=4.0, dp=3.5, dd=2.2, n_large=1000, skipped=None):
    """Scores of the Python and Dickens models on each other's text (each interval +-0.05)."""
    value = {("Python", "held-out Python"): pp, ("Python", "dickens_test_large.txt"): pd_,
             ("Dickens", "held-out Python"): dp, ("Dickens", "dickens_test_large.txt"): dd,
             ("Python", "dickens_test.txt"): 4.1, ("Dickens", "dickens_test.txt"): 2.3}
    scores = pd.DataFrame([{"model": m, "text": t, "bpc": v, "low": v - 0.05, "high": v + 0.05}
                           for (m, t), v in value.items()])
    run = {"minutes": 12.34, "status": "ok"}
    return DomainScores(corpus=_corpus(skipped), config=BASE.replace(corpus="/x/python_stdlib.txt"),
                        run=run, scores=scores, n_large=n_large, n_large_total=1000,
                        python_chars=97, dickens_chars=83)


def test_corpus_description_without_and_with_skipped_files():
    text = say_py.corpus_description(_corpus())
    assert "CPython 3.11.7, `/usr/lib/python3.11`. Of 1,500 eligible files, the first **2 files, " \
           "1,000,500 characters** form the training text and the next **1 other files, 100,200 " \
           "characters** the held-out text. 0 file(s) were skipped" in text
    assert text.endswith("vocabulary).")
    skipped = say_py.corpus_description(_corpus({"z.py": "not UTF-8", "e.py": "character '\\x1b'"}))
    assert "2 file(s) were skipped" in skipped
    assert skipped.endswith(":\n\n- `e.py`: character '\\x1b'\n- `z.py`: not UTF-8")


def test_python_run_names_the_characters_and_the_run():
    text = say_py.python_run(domains())
    assert "uses 97 distinct characters of the 100 in the vocabulary (Dickens: 83)" in text
    assert "2 LSTM layers of 128, 3,000 iterations (12.3 minutes, status ok)." in text


def test_domain_table_shows_each_score_with_its_interval():
    html = say_py.domain_table(domains()).data
    assert "2.000 [1.950, 2.050]" in html and "4.100 [4.050, 4.150]" in html
    assert html.index("Dickens") < html.index("Python</td>")
    caption = say_py.domain_caption(domains())
    assert caption.startswith("Table {#tab-45-domains}: BPC of the Dickens model and the Python")
    assert "(held-out Python: 100,200 characters; dickens_test_large.txt: 1,000 characters)" in caption
    assert "its first 500 characters" in say_py.domain_caption(domains(n_large=500))


def test_corpus_sentence_names_the_python_and_the_files():
    assert say_py.corpus_sentence(_corpus()) == (
        "The corpus is the standard library of the Python running this report (CPython 3.11.7): "
        "2 whole files (1,000,500 characters) to train the setting of 4.1 on, and 1 other files "
        "(100,200 characters) held out.")


def test_own_text_python_easier_or_harder():
    easier = say_py.own_text(domains(pp=2.0, dd=2.2))
    assert "**2.000 bits per character on Python it has never seen**, less than" in easier
    assert "(2.200 on dickens_test_large.txt): source code is the more predictable" in easier
    harder = say_py.own_text(domains(pp=2.5, dd=2.2))
    assert ", more than" in harder and "unseen source code is the harder text." in harder


def test_cross_domain_each_model_worse_on_the_other_text():
    text = say_py.cross_domain(domains(pp=2.0, pd_=4.0, dp=3.5, dd=2.2))
    assert text.startswith("The Dickens model needs 3.500 bits per character on held-out Python "
                           "(1.50 more than the Python model), the Python model 4.000 on "
                           "dickens_test_large.txt (1.80 more than the Dickens model); a uniform "
                           "guess needs 6.64.")
    assert text.endswith("Each model is worse on the other's text, but well below a uniform guess.")


def test_cross_domain_when_the_pattern_does_not_hold():
    better = say_py.cross_domain(domains(pp=2.0, pd_=2.1, dp=1.9, dd=2.2))
    assert "(0.10 less than the Python model)" in better and "(0.10 less than the Dickens" in better
    assert better.endswith(" So here it is not the case that each model is worse on the other's "
                           "text than the model trained on it while both stay below a uniform guess.")
    uniform = say_py.cross_domain(domains(pd_=7.0))
    assert "So here it is not the case" in uniform


def test_samples_show_each_prime_at_each_temperature_with_a_seed_of_its_own():
    torch.manual_seed(0)
    model = CharRNN(8, 1, "lstm")
    out = say_py.samples(model, "def |class |", "0.5,1", predict_len=20, seed=3)
    assert out[0].data == ("20 characters after each priming string, at T = 0.5 and T = 1; 'def ' "
                           "with seed 3, 'class ' with seed 4.")
    assert len(out) == 1 + 2 * 2 * 2
    assert [o.data for o in out[1::2]] == ["**T = 0.5**, primed with `'def '`", "**T = 1**, primed with `'def '`",
                                           "**T = 0.5**, primed with `'class '`", "**T = 1**, primed with `'class '`"]
    assert "<b" in out[2].data and "def " in out[2].data
    again = say_py.samples(model, "def ", "0.5", predict_len=20, seed=3)
    assert again[2].data == out[2].data  # the seed fixes the sample
    second = say_py.samples(model, "class ", "0.5", predict_len=20, seed=4)
    assert second[2].data == out[6].data  # the second priming string is drawn with seed + 1


def test_shared_tail_counts_the_common_end():
    assert say_py.shared_tail(["abcxyz", "qxyz"]) == 3
    assert say_py.shared_tail(["abc", "abc"]) == 3
    assert say_py.shared_tail(["abc", "abd"]) == 0


class _Same(CharRNN):
    """A model whose next-character scores ignore the input: every prime gives the same draws."""

    def forward(self, x, state=None):
        logits, state = super().forward(x, state)
        return torch.zeros_like(logits), state


def test_shared_seed_note_says_how_much_one_seed_made_identical():
    torch.manual_seed(0)
    same = _Same(8, 1, "lstm")
    text = say_py.shared_seed_note(same, "def |class ", "0.8", predict_len=30, seed=3)
    assert text.startswith("Each priming string has a seed of its own: with one seed for all, the "
                           "continuations came out identical in all 30 of 30 characters at T = 0.8")
    assert say_py.shared_seed_note(same, "def ", "0.8", predict_len=30, seed=3) == ""
    torch.manual_seed(0)
    varied = CharRNN(8, 1, "lstm")
    note = say_py.shared_seed_note(varied, "a|b", "1,2", predict_len=20, seed=3)
    assert note == "" or "of 20 characters at T = 1 and" in note


def test_corpus_command_is_relative_to_the_repository_when_inside_it(tmp_path):
    inside = say_py.corpus_command(tmp_path / "runs" / "c.txt", root=tmp_path)
    assert inside == "For example: `python -m charlm --default_train --corpus runs/c.txt`."
    outside = say_py.corpus_command("/elsewhere/c.txt", root=tmp_path)
    assert "--corpus /elsewhere/c.txt`" in outside


def test_vocabulary_counts_each_kind_of_character():
    assert say_py.vocabulary() == (
        "The 100 characters of Python's `string.printable`: 52 letters, 10 digits, 32 punctuation "
        "marks and 6 whitespace characters (space, tab, newline, carriage return, vertical tab and "
        "form feed).")
    assert string.printable == say_py.VOCAB
    assert say_py.vocabulary("ab!\n") == ("The 4 characters of the vocabulary: 2 letters, 0 digits, "
                                          "1 punctuation marks and 1 whitespace characters (newline).")


def test_bonus_study_ranks_both_comparisons_and_scores_the_domains(monkeypatch):
    from charlm.studies import python_corpus as study

    runs, calls = comparison(), {}
    monkeypatch.setattr(study, "python_corpus", lambda: _corpus())
    monkeypatch.setattr(study, "python_corpus_config",
                        lambda base: base.replace(corpus="/r/runs/corpora/python_stdlib.txt"))

    def fake_compare(base, log, timing_iterations, workers=None, test_large_chars=0, extra=()):
        calls.update(base=base, log=log, n=timing_iterations, extra=list(extra),
                     large=test_large_chars)
        return runs

    monkeypatch.setattr(study, "compare_cells", fake_compare)
    monkeypatch.setattr(study, "score_domains", lambda r, rec, cfg: ("scored", r, rec, cfg))
    bonus = study.bonus_study(BASE, "log.csv", 7, test_large_chars=500)
    assert calls["base"] is BASE and calls["n"] == 7 and calls["large"] == 500
    assert calls["extra"] == [bonus.python_config] and bonus.python_config.corpus.endswith("stdlib.txt")
    assert bonus.equal_data.order == ["lstm", "gru", "rnn"] and bonus.equal_time.best == "lstm"
    assert bonus.domains[0] == "scored" and bonus.domains[3] is bonus.python_config
