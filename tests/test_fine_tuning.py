"""Part 4.5's fine-tuning: the study (charlm.studies.fine_tuning) at a tiny size, and its facts,
verdicts, table and figure (charlm.studies.bonus_facts, charlm.report) on hand-made inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from charlm import TrainConfig
from charlm.checkpoint import weights_sha256
from charlm.corpora import python_corpus_config
from charlm.report.plots import plot_fine_tuning
from charlm.report.sections import python_source as python_view
from charlm.runs import cache_path, cached_run, run_key
from charlm.studies import bonus_facts as facts
from charlm.studies.fine_tuning import (PYTHON_TEXT, SCRATCH, SOURCE, TEXTS, TUNED, FineTuning,
                                        fine_tuning)

DICKENS = TrainConfig(n_epochs=20, hidden_size=8, n_layers=1, chunk_len=20, plot_every=5,
                      print_every=1000)


def test_the_study_fine_tunes_the_dickens_model_and_records_where_it_started():
    python = python_corpus_config(DICKENS)
    f = fine_tuning(DICKENS, python)
    source = cached_run(DICKENS)
    # the fine-tuned run's checkpoint says which weights it started from, and is cached by them
    assert f.source["sha256"] == weights_sha256(source.model)
    assert f.source["config"] == DICKENS.to_dict() and f.source["key"] == run_key(DICKENS)
    tuned = cached_run(python, init_from=DICKENS)
    assert tuned.meta["init_from"] == f.source
    assert cache_path(python, f.source["sha256"]).is_file() and cache_path(python).is_file()
    assert weights_sha256(tuned.model) != weights_sha256(cached_run(python).model)
    # the same iterations for both Python runs, each curve of its own
    assert f.runs[TUNED]["iterations"] == f.runs[SCRATCH]["iterations"] == 20
    assert len(f.runs[TUNED]["history"]) == 4 and f.runs[TUNED]["history"] != f.runs[SCRATCH]["history"]
    # three models on two texts, each with its interval; the paired gaps of the fine-tuned one
    assert len(f.scores) == 6 and (f.scores["low"] <= f.scores["bpc"]).all()
    assert (f.scores["bpc"] <= f.scores["high"]).all()
    assert set(f.gaps) == {(other, t) for other in (SCRATCH, SOURCE) for t in TEXTS}
    gap, low, high = f.gaps[SCRATCH, PYTHON_TEXT]
    assert gap == pytest.approx(f.bpc(TUNED, PYTHON_TEXT)[0] - f.bpc(SCRATCH, PYTHON_TEXT)[0])
    assert low <= gap <= high and f.chars["dickens_test.txt"] == 5476
    assert fine_tuning.entry(DICKENS, python).is_file()  # kept: 4.5 and Appendix D read it once


def hand_made(gaps: dict | None = None, tuned=(3.0, 2.5, 2.0, 1.9), scratch=(3.5, 2.6, 2.0, 1.7)
              ) -> FineTuning:
    """A comparison whose fine-tuned model is 2.3 on Python (from scratch 2.4) and 3.4 on
    Dickens (the Dickens model 2.4, from scratch 3.6); curves as given."""
    value = {(TUNED, PYTHON_TEXT): 2.3, (SCRATCH, PYTHON_TEXT): 2.4, (SOURCE, PYTHON_TEXT): 5.5,
             (TUNED, TEXTS[1]): 3.4, (SCRATCH, TEXTS[1]): 3.6, (SOURCE, TEXTS[1]): 2.4}
    scores = pd.DataFrame([{"model": m, "text": t, "bpc": v, "low": v - 0.05, "high": v + 0.05}
                           for (m, t), v in value.items()])
    gaps = gaps or {(o, t): (value[TUNED, t] - value[o, t], value[TUNED, t] - value[o, t] - 0.02,
                             value[TUNED, t] - value[o, t] + 0.02)
                    for o in (SCRATCH, SOURCE) for t in TEXTS}
    runs = {TUNED: {"iterations": 40, "seconds": 2.0, "history": list(tuned), "plot_every": 10},
            SCRATCH: {"iterations": 40, "seconds": 3.0, "history": list(scratch), "plot_every": 10},
            SOURCE: {"iterations": 40, "seconds": 1.0, "history": [4.0, 3.0, 2.5, 2.2],
                     "plot_every": 10}}
    return FineTuning(dickens=DICKENS, python=DICKENS.replace(corpus="/x/python_stdlib.txt"),
                      source={"sha256": "ab" * 32, "config": DICKENS.to_dict(), "key": "k"},
                      scores=scores, gaps=gaps, runs=runs,
                      chars={PYTHON_TEXT: 123_173, TEXTS[1]: 5476})


def test_paired_verdict_by_its_rule():
    first, second = "the fine-tuned model", "the model trained from scratch"
    assert facts.paired_verdict(-0.3, -0.1, first, second) == "the fine-tuned model is better"
    assert facts.paired_verdict(0.05, 0.08, first, second) == "the model trained from scratch is better"
    assert facts.paired_verdict(-0.1, 0.1, first, second) == "the two tie"
    assert facts.paired_verdict(-0.1, 0.0, first, second) == "the two tie"  # zero inside: a tie


def test_how_long_a_curve_stays_lower():
    assert facts.lower_until([3, 2, 1], [4, 3, 2], 10, window=1) is None
    assert facts.lower_until([3, 2, 1], [3, 3, 2], 10, window=1) == 10  # not below at the start
    assert facts.lower_until([3, 2, 2.2, 1], [4, 3, 2, 2], 10, window=1) == 30
    assert facts.lower_until([3, 2, 2.2, 1], [4, 3, 2, 2], 10, window=2) is None  # averaged out
    assert facts.lead_phrase(None, 10) == "to the end"
    assert facts.lead_phrase(10, 10) == "at no point"
    assert facts.lead_phrase(1520, 10) == "until iteration 1,520"


def test_fine_tune_facts_of_a_hand_made_comparison():
    f = facts.fine_tune_facts(hand_made(), window=1)
    assert (repr(f.tuned_py.bpc), repr(f.scratch_py.bpc), repr(f.source_dk.bpc)) == ("2.300", "2.400", "2.400")
    assert repr(f.py.diff) == "-0.100" and repr(f.py.size) == "0.100" and f.py.dir == "less"
    assert f.py.verdict == "the fine-tuned model is better"
    assert repr(f.forget.diff) == "+1.000" and f.forget.dir == "more"
    assert f.forget.verdict == "the Dickens model is better"
    assert f.dk.verdict == "the fine-tuned model is better"
    assert f.lead == "until iteration 30" and f.window == 1  # 2.0 is not below 2.0
    assert repr(f.tuned.start) == "3.00" and repr(f.tuned.final) == "1.90"
    assert (repr(f.tuned.seconds), repr(f.tuned.ms), repr(f.total_s)) == ("2", "50.0", "3")
    assert f.digest == "abababababab" and repr(f.iterations) == "40" and repr(f.n_python) == "123,173"
    tie = hand_made(gaps={(o, t): (0.01, -0.02, 0.04) for o in (SCRATCH, SOURCE) for t in TEXTS})
    assert facts.fine_tune_facts(tie).py.verdict == "the two tie"


def test_the_table_and_the_figure(isolated_outputs):
    html = python_view.fine_tune_table(hand_made()).data
    assert html.count("<tr>") == 6  # the header, three models, two paired gaps
    assert "2.300 [2.250, 2.350]" in html and "-0.100 [-0.120, -0.080]" in html
    (path, fig), = plot_fine_tuning(hand_made(), isolated_outputs / "figures" / "ft.png", 2)
    assert path.is_file()
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [TUNED, SCRATCH]
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == [10, 20, 30, 40]
