"""Part 4.5's facts and verdicts (charlm.studies.bonus_facts) and its tables (charlm.report
.sections.cells, .python_source), on hand-made inputs: every branch of every verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from charlm import TrainConfig
from charlm.corpora import PythonCorpus
from charlm.report.sections import cells as view
from charlm.report.sections import python_source as python_view
from charlm.runs import run_key
from charlm.studies import bonus_facts as facts
from charlm.studies.cells import SUMMARY_COLUMNS, CellComparison, Ranking
from charlm.studies.python_corpus import BonusStudy, DomainScores, PythonSamples

BASE = TrainConfig(n_epochs=3000, hidden_size=128, n_layers=2, lr=0.005, plot_every=10,
                   chunk_len=200, seed=1234)
SIZES = {"lstm": 128, "gru": 149, "rnn": 255}


def _row(cell, bpc_large, bpc_small, seconds=18.0, iterations=3000):
    return {"cell": cell.upper(), "hidden size": SIZES[cell], "parameters": 200_000,
            "iterations": iterations, "characters read": iterations * 200,
            "minutes": seconds / 60, "seconds": seconds,
            "ms per iteration": 1000 * seconds / iterations, "final loss": 1.5,
            "BPC (test)": bpc_small, "BPC (test_large)": bpc_large, "status": "ok"}


def ranking(rows: dict, gaps=None, small=None) -> Ranking:
    """``rows``: cell -> (BPC on the large file, seconds, iterations)."""
    small = small or {c: v[0] for c, v in rows.items()}
    df = pd.DataFrame([_row(c, v[0], small[c], v[1], v[2]) for c, v in rows.items()],
                      index=list(rows))
    best = min(rows, key=lambda c: rows[c][0])
    gaps = gaps or {c: (v[0] - rows[best][0], v[0] - rows[best][0] - 0.01,
                        v[0] - rows[best][0] + 0.01) for c, v in rows.items() if c != best}
    return Ranking(df, {c: BASE.replace(cell=c, hidden_size=SIZES[c]) for c in rows}, gaps)


def comparison(fused=2) -> CellComparison:
    equal_data = tuple(BASE.replace(cell=c, hidden_size=SIZES[c]) for c in SIZES)
    equal_time = tuple(c.replace(budget_minutes=0.3) for c in equal_data)
    d = ranking({"lstm": (2.1, 18.0, 3000), "gru": (2.2, 40.0, 3000), "rnn": (2.4, 44.0, 3000)})
    t = ranking({"lstm": (2.1, 18.2, 3000), "gru": (2.5, 18.1, 1200), "rnn": (2.6, 18.3, 1400)})
    summary = pd.concat([d.rows, t.rows]).set_axis([run_key(c) for c in equal_data + equal_time])
    operators = {"lstm": {"aten.mkldnn_rnn_layer": fused, "aten.mm": 40},
                 "gru": {"aten.mm": 4000, "aten.add": 6000}, "rnn": {"aten.addmm": 2000}}
    return CellComparison(base=BASE, equal_data=equal_data, equal_time=equal_time, extra=(),
                          summary=summary[list(SUMMARY_COLUMNS)], operators=operators,
                          histories={}, equal_data_ranking=d, equal_time_ranking=t, n_test=5476,
                          n_large=180_000, n_large_total=180_000)


def test_separation_order_and_place():
    assert facts.separated({"gru": (0.1, 0.05, 0.15)}) and facts.separated({})
    assert not facts.separated({"gru": (0.1, 0.05, 0.15), "rnn": (0.02, -0.01, 0.05)})
    assert facts.separation_phrase({"gru": (0.1, -0.05, 0.2)}).startswith("not every gap")
    assert facts.order_phrase(["lstm", "gru"], ["lstm", "gru"]) == "the same order"
    assert facts.order_phrase(["lstm", "gru"], ["gru", "lstm"]) == "another order: GRU, LSTM"
    assert facts.place_phrase(["lstm", "gru", "rnn"]) == "last"
    assert facts.place_phrase(["rnn", "lstm", "gru"]) == "first"
    assert facts.place_phrase(["lstm", "rnn", "gru"]) == "second of 3"


def test_direction_and_the_two_domains():
    assert facts.direction(1.0, 2.0) == "less" and facts.direction(2.0, 1.0) == "more"
    assert facts.cross_phrase(2.0, 4.0, 3.5, 2.2, 6.64).startswith("each model is worse")
    assert facts.cross_phrase(2.0, 2.1, 1.9, 2.2, 6.64).startswith("it is not the case")
    assert facts.cross_phrase(2.0, 7.0, 3.5, 2.2, 6.64).startswith("it is not the case")


def test_kernel_phrase_says_which_cell_ran_fused():
    assert facts.kernel_phrase({"lstm": 2, "gru": 0, "rnn": 0}).startswith(
        "each LSTM layer runs as one fused kernel")
    assert "the GRU and the RNN step" in facts.kernel_phrase({"lstm": 2, "gru": 0, "rnn": 0})
    assert facts.kernel_phrase({"lstm": 2, "gru": 1, "rnn": 0}) == "every cell runs as a fused kernel here"
    assert "does not run as the fused kernel" in facts.kernel_phrase({"lstm": 0, "gru": 0, "rnn": 0})


def test_seed_note_and_scored_phrase():
    assert facts.seed_note(0, 200).startswith("here one seed for all would have left")
    assert facts.seed_note(200, 200).endswith("identical in all 200 characters")
    assert facts.seed_note(57, 200).endswith("identical in the last 57 of 200 characters")
    assert facts.scored_phrase(10, 10) == "all 10 characters"
    assert facts.scored_phrase(2000, 180415) == "the first 2,000 of 180,415 characters"


def test_vocabulary_facts_count_each_kind():
    v = facts.vocabulary_facts()
    assert (v.n, v.letters, v.digits, v.punctuation, v.whitespace) == (100, 52, 10, 32, 6)
    assert v.whitespace_names == ("space, tab, newline, carriage return, vertical tab and "
                                  "form feed")
    small = facts.vocabulary_facts("ab!\n")
    assert (small.letters, small.punctuation, small.whitespace_names) == (2, 1, "newline")


def test_cell_facts_of_a_comparison():
    b = facts.cell_facts(comparison())
    assert (b.d.best, b.t.best, b.d.rnn_place, b.d.small_order) == ("LSTM", "LSTM", "last",
                                                                      "the same order")
    assert repr(b.budget_s) == "18" and repr(b.minutes) == "0.3" and repr(b.seed) == "1234"
    assert repr(b.t.gru.iterations) == "1,200" and repr(b.t.gru.ms) == "15.1"
    assert repr(b.gru_slower) == "2.5" and repr(b.t.gru.share_chars) == "40%"
    assert (b.lstm_calls, b.gru_calls, b.fused_calls, repr(b.gru_per_char)) == (42, 10_000, 2, "50")
    assert b.kernel.startswith("each LSTM layer") and b.large == "all 180,000 characters"
    assert repr(b.params) == "200,000" and repr(b.chars_read) == "600,000"
    assert facts.cell_facts(comparison(fused=0)).kernel.startswith("the LSTM does not run")


def _corpus(skipped=None, root="/r"):
    return PythonCorpus(train_path=f"{root}/runs/corpora/python_stdlib.txt",
                        heldout_path=f"{root}/runs/corpora/python_stdlib_heldout.txt",
                        manifest_path=f"{root}/runs/corpora/python_stdlib.json", python_version="3.11.7",
                        implementation="CPython", stdlib="/usr/lib/python3.11",
                        train_files=["a.py", "b.py"], heldout_files=["c.py"], train_chars=1_000_500,
                        heldout_chars=100_200, candidates=1500, skipped=skipped or {})


def bonus(root, pp=2.0, pd_=4.0, dp=3.5, dd=2.2, skipped=None) -> BonusStudy:
    """A bonus study whose Python corpus is a small file under ``root``."""
    path = root / "runs" / "corpora" / "python_stdlib.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("def f(x):\n    return x\n")
    value = {("Python", "held-out Python"): pp, ("Python", "dickens_test_large.txt"): pd_,
             ("Dickens", "held-out Python"): dp, ("Dickens", "dickens_test_large.txt"): dd,
             ("Python", "dickens_test.txt"): 4.1, ("Dickens", "dickens_test.txt"): 2.3}
    scores = pd.DataFrame([{"model": m, "text": t, "bpc": v, "low": v - 0.05, "high": v + 0.05}
                           for (m, t), v in value.items()])
    py = BASE.replace(corpus=str(path))
    runs = comparison()
    summary = pd.concat([runs.summary, pd.DataFrame([_row("lstm", np.nan, 3.0, 40.0)],
                                                    index=[run_key(py)])])
    runs = CellComparison(**{**runs.__dict__, "summary": summary, "extra": (py,)})
    domains = DomainScores(corpus=_corpus(skipped, root), config=py, scores=scores, n_large=1000,
                           n_large_total=1000, python_chars=97, dickens_chars=83)
    return BonusStudy(runs=runs, corpus=_corpus(skipped, root), python_config=py, domains=domains)


def test_domain_facts(tmp_path):
    py = facts.domain_facts(bonus(tmp_path), root=tmp_path)
    assert (repr(py.pp), repr(py.dd), py.own, py.dp_dir, repr(py.dp_gap)) == ("2.000", "2.200",
                                                                          "less", "more", "1.50")
    assert py.cross.startswith("each model is worse") and py.train_path == "runs/corpora/python_stdlib.txt"
    assert (py.train_files, py.heldout_files, py.skipped, repr(py.run_minutes)) == (2, 1, 0, "0.7")
    assert repr(py.train_chars) == "1,000,500" and py.run_cell == "LSTM"
    assert facts.domain_facts(bonus(tmp_path, pp=2.5), root=tmp_path).own == "more"
    assert facts.domain_facts(bonus(tmp_path), root="/elsewhere").train_path.startswith(str(tmp_path))


def test_the_tables_and_the_samples(tmp_path):
    runs = comparison()
    data = view.equal_data_table(runs).data
    assert "gap to the best (95% interval)" in data and "+0.100 (+0.090 to +0.110)" in data
    assert data.count(">best<") == 1
    timed = view.equal_time_table(runs).data
    assert ">18.1<" in timed and ">1,200<" in timed and ">15.1<" in timed
    assert "4.100 [4.050, 4.150]" in python_view.domain_table(bonus(tmp_path).domains).data
    assert "(none)" in python_view.skipped_table(_corpus()).data
    assert "not UTF-8" in python_view.skipped_table(_corpus({"x.py": "not UTF-8"})).data
    s = PythonSamples(BASE, ("<d ",), (0.8,), 5, 3, (("<d ", 0.8, 3, "</pre><script>"),), {0.8: 0})
    shown = python_view.show_samples(s).data
    assert "<script>" not in shown and "&lt;/pre&gt;&lt;script&gt;" in shown
    assert "<strong>T = 0.8</strong>, primed with <code>&#x27;&lt;d &#x27;</code>, seed 3" in shown
    assert facts.python_samples_facts(s).seeds == "'<d ' with seed 3"
