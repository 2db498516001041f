"""LSTM, GRU and RNN at equal size and time (charlm.studies.cells, .operators), and the Python
standard-library corpus (charlm.corpora, charlm.studies.python_corpus)."""

import json
import os
import string

import pytest
import torch
from pandas.testing import assert_frame_equal

from charlm import TrainConfig, bpc, read_text
from charlm.corpora import (build_python_corpus, python_corpus, python_corpus_config, SkipFile, source_text, stdlib_files)
from charlm.studies.cells import (SUMMARY_COLUMNS, cell_comparison_configs, compare_cells, equal_time_configs, hidden_for_params, measure_cells, n_params)
from charlm.studies.operators import operator_calls
from charlm.studies.python_corpus import python_samples, score_domains, shared_tail
from charlm.errors import ConfigError, DataError
from charlm.report.plots import plot_cells_equal_data, plot_cells_equal_time, plot_loss_by_time, plot_two_corpora
from charlm.corpora import corpus
from charlm.runs import cached_run


@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_equal_parameter_hidden_size_is_within_2_percent_and_the_closest(cell, n_layers):
    target = n_params("lstm", 128, n_layers)
    h = hidden_for_params(cell, target, n_layers)
    assert abs(n_params(cell, h, n_layers) / target - 1) < 0.02
    for other in (h - 1, h + 1):  # no neighbour is closer
        assert (abs(n_params(cell, other, n_layers) - target)
                >= abs(n_params(cell, h, n_layers) - target))


def test_hidden_for_params_of_an_lstm_is_its_own_size():
    for h in (16, 128, 300):
        assert hidden_for_params("lstm", n_params("lstm", h, 2), 2) == h
    assert hidden_for_params("rnn", 1, 1) == 1
    with pytest.raises(ConfigError):
        hidden_for_params("transformer", 1000, 1)


def test_cell_comparison_differs_only_in_cell_and_width():
    base = TrainConfig(n_epochs=500, lr=0.003, seed=9)
    cfgs = cell_comparison_configs(base)
    assert [c.cell for c in cfgs] == ["lstm", "gru", "rnn"]
    assert cfgs[0] == base
    target = n_params("lstm", base.hidden_size, base.n_layers)
    for cfg in cfgs:
        assert cfg.replace(cell="lstm", hidden_size=base.hidden_size) == base
        assert abs(n_params(cfg.cell, cfg.hidden_size, cfg.n_layers) / target - 1) < 0.02
    assert cfgs[1].hidden_size > 128 and cfgs[2].hidden_size > cfgs[1].hidden_size


def test_equal_time_gives_every_cell_the_same_budget_instead_of_iterations():
    base = TrainConfig(n_epochs=3000)
    cfgs = equal_time_configs(base, 0.3)
    assert [(c.cell, c.budget_minutes) for c in cfgs] == [("lstm", 0.3), ("gru", 0.3), ("rnn", 0.3)]
    assert [c.replace(budget_minutes=0.0) for c in cfgs] == cell_comparison_configs(base)
    for bad in (0, -1.0):
        with pytest.raises(ConfigError, match="positive number of minutes"):
            equal_time_configs(base, bad)


def test_operator_calls_show_the_fused_lstm_and_the_step_by_step_cells():
    base = TrainConfig(hidden_size=16, n_layers=2, chunk_len=30)
    lstm, gru, rnn = (operator_calls(c) for c in cell_comparison_configs(base))
    assert "aten.mkldnn_rnn_layer" not in gru and "aten.mkldnn_rnn_layer" not in rnn
    # step by step: the GRU's calls grow with the chunk length
    longer = operator_calls(base.replace(cell="gru", chunk_len=60))
    assert sum(longer.values()) > 1.8 * sum(gru.values()) and sum(rnn.values()) > 30 * 2
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this torch has no oneDNN: no fused LSTM kernel to see")
    assert lstm.get("aten.mkldnn_rnn_layer") == 2  # one fused call per layer
    assert sum(gru.values()) > 10 * sum(lstm.values())
    assert sum(operator_calls(base.replace(chunk_len=60)).values()) == sum(lstm.values())


def test_loss_by_time_puts_each_run_at_its_seconds(isolated_outputs):
    runs = [{"label": "lstm", "history": [4.0, 3.0, 2.5], "plot_every": 10,
             "seconds_per_iteration": 0.01},
            {"label": "gru", "history": [4.0, 3.5], "plot_every": 10,
             "seconds_per_iteration": 0.015}]
    path = isolated_outputs / "figures" / "by_time.png"
    fig = plot_loss_by_time(runs, path)
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
    lines = fig.axes[0].get_lines()
    assert list(lines[0].get_xdata()) == pytest.approx([0.1, 0.2, 0.3])
    assert list(lines[1].get_xdata()) == pytest.approx([0.15, 0.3])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["lstm", "gru"]


def test_stdlib_corpus_is_deterministic_in_the_vocabulary_and_disjoint(isolated_outputs):
    rec = python_corpus()
    assert rec.train_path == isolated_outputs / "runs" / "corpora" / "python_stdlib.txt"
    assert 1_000_000 <= rec.train_chars < 1_200_000 and rec.heldout_chars >= 100_000
    train_text = rec.train_path.read_text()
    assert len(train_text) == rec.train_chars
    # every character is in the vocabulary, and reading it as a corpus changes nothing
    assert set(train_text) <= set(string.printable)
    assert read_text(rec.train_path) == train_text
    assert read_text(rec.heldout_path) == rec.heldout_path.read_text()
    assert not set(rec.train_files) & set(rec.heldout_files)
    assert all(f"# file: {f}\n" in train_text for f in rec.train_files)
    assert not any(part in ("test", "tests", "site-packages") for f in rec.train_files
                   for part in f.split("/"))
    manifest = json.loads(rec.manifest_path.read_text())
    assert manifest["python_version"] == rec.python_version
    assert manifest["train_files"] == rec.train_files
    assert manifest["train_sha256"] == rec.train_sha256

    # a second build gives the same bytes and leaves the files alone
    stamp = rec.train_path.stat().st_mtime_ns
    again = python_corpus()
    assert again.train_sha256 == rec.train_sha256 and again.heldout_sha256 == rec.heldout_sha256
    assert rec.train_path.stat().st_mtime_ns == stamp


def _fake_stdlib(root, reverse=False):
    """A tiny standard library with every case the vocabulary rules handle."""
    files = {
        "plain.py": "def f(x):\n\treturn x + 1\n",
        "pkg/__init__.py": "from .mod import *\n",
        "pkg/mod.py": "# Author: Martin v. L\u00f6wis\nNAME = 'caf\u00e9'\n",
        "crlf.py": "a = 1\r\nb = 2\r\n",
        "formfeed.py": "x = 1\n\x0c\ny = 2\n",
        "escape.py": "BOLD = '\x1b[1m'\n",  # a literal ESC: outside string.printable
        "test/test_plain.py": "assert True\n",
        "site-packages/thing.py": "import thing\n",
        "_sysconfigdata__linux.py": "build = {}\n",
        "big.py": "x = 1\n" * 100,
    }
    items = sorted(files.items(), reverse=reverse)
    for rel, text in items:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    (root / "latin1.py").write_bytes("s = 'caf\u00e9'\n".encode("latin-1"))  # not UTF-8
    return root


def test_vocabulary_handling_and_order_do_not_depend_on_the_file_system(tmp_path):
    a = _fake_stdlib(tmp_path / "a")
    b = _fake_stdlib(tmp_path / "b", reverse=True)  # created in the opposite order
    kwargs = dict(train_bytes=60, heldout_bytes=1, max_file_bytes=500)
    train_a, held_a, man_a = build_python_corpus(a, **kwargs)
    train_b, held_b, man_b = build_python_corpus(b, **kwargs)
    assert (train_a, held_a) == (train_b, held_b)
    assert man_a["train_files"] == man_b["train_files"]
    files = stdlib_files(a, max_file_bytes=500)
    assert sorted(files) == ["crlf.py", "escape.py", "formfeed.py", "latin1.py", "pkg/__init__.py",
                             "pkg/mod.py", "plain.py"]  # no tests, site-packages, build config, big
    # files that break the vocabulary are skipped whole, and only they; nothing else leaks in
    assert set(man_a["skipped"]) <= {"escape.py", "latin1.py"}
    assert not set(man_a["skipped"]) & set(man_a["train_files"] + man_a["heldout_files"])
    assert set(train_a + held_a) <= set(string.printable) - {"\r"}
    # files are consumed in order: every one up to the last used is either used or skipped
    train, held, man = build_python_corpus(a, train_bytes=150, heldout_bytes=1,
                                           max_file_bytes=500)
    used = man["train_files"] + man["heldout_files"]
    assert used == [f for f in files if f in used]
    last = files.index(man["heldout_files"][-1])
    assert set(used) | set(man["skipped"]) == set(files[:last + 1])


def test_source_files_are_used_whole_or_skipped_whole_with_the_reason(tmp_path):
    root = _fake_stdlib(tmp_path)
    assert source_text(root / "pkg/mod.py") == "# Author: Martin v. Lowis\nNAME = 'cafe'\n"
    assert source_text(root / "crlf.py") == "a = 1\nb = 2\n"
    assert source_text(root / "formfeed.py") == "x = 1\n\x0c\ny = 2\n"  # in string.printable
    assert source_text(root / "plain.py") == "def f(x):\n\treturn x + 1\n"
    with pytest.raises(SkipFile, match=r"character '\\x1b' \(code 27\) is not in string.printable"):
        source_text(root / "escape.py")
    with pytest.raises(SkipFile, match="not UTF-8"):
        source_text(root / "latin1.py")


def test_too_small_a_library_is_an_error(tmp_path):
    _fake_stdlib(tmp_path)
    with pytest.raises(DataError, match="gives only"):
        build_python_corpus(tmp_path, train_bytes=10_000, heldout_bytes=1_000)


def test_a_model_trains_on_the_source_corpus_and_scores_the_held_out_files():
    cfg = python_corpus_config(TrainConfig(n_epochs=30, hidden_size=16, n_layers=1, chunk_len=50,
                                           lr=0.02, print_every=1000, plot_every=10))
    assert os.path.isabs(cfg.corpus) and cfg.corpus.endswith("python_stdlib.txt")
    ckpt = cached_run(cfg, progress=False)
    assert ckpt.meta["status"] == "ok"
    held = corpus(cfg.corpus.replace("python_stdlib.txt", "python_stdlib_heldout.txt"))
    assert 2.0 < bpc(ckpt.model, held[:5000]) < 6.0  # learnt something, far from log2(100)


def test_compare_cells_trains_both_comparisons_once_and_scores_them(isolated_outputs):
    base = TrainConfig(n_epochs=20, hidden_size=8, n_layers=1, chunk_len=20, plot_every=5,
                       print_every=1000)
    py = python_corpus_config(base)
    runs = compare_cells(base, isolated_outputs / "log.csv", 0.01, workers=1,
                         test_large_chars=2000, extra=[py])
    # at equal time every cell trained for its budget: equal times, iterations of its own
    assert all(c.budget_minutes == 0.01 for c in runs.equal_time) and runs.minutes == 0.01
    for cfg in runs.equal_time:
        row = runs.row(cfg)
        assert row["seconds"] == pytest.approx(0.6, abs=0.3) and row["iterations"] > 0
        assert row["ms per iteration"] == pytest.approx(1000 * row["seconds"] / row["iterations"])
        assert row["characters read"] == row["iterations"] * 20
    assert runs.equal_time[0] != runs.equal_data[0]  # a budget run is a run of its own
    assert len(runs.summary) == 7 and list(runs.summary.columns) == list(SUMMARY_COLUMNS)  # each run once
    assert runs.n_large == 2000 < runs.n_large_total and runs.n_test == len(corpus("dickens_test.txt"))
    gru = runs.row(runs.equal_data[1])
    assert (gru["cell"], gru["iterations"], gru["characters read"]) == ("GRU", 20, 400)
    # the Python run is trained and in the table, but not scored on Dickens
    assert runs.row(py)["status"] == "ok" and runs.row(py)["BPC (test_large)"] != runs.row(py)["BPC (test_large)"]
    lstm = runs.row(runs.equal_data[0])
    assert lstm["BPC (test_large)"] == pytest.approx(bpc(runs.model(runs.equal_data[0]), corpus("dickens_test_large.txt")[:2000]))
    assert len(runs.history(runs.equal_data[0])) == 4
    assert sum(runs.operators["gru"].values()) > sum(runs.operators["lstm"].values())
    assert set(runs.fused) == {"lstm", "gru", "rnn"} and not runs.fused["gru"]
    for r in (runs.equal_data_ranking, runs.equal_time_ranking):
        assert r.order == sorted(r.order, key=lambda c: r.rows.loc[c, "BPC (test_large)"])
        assert set(r.gaps) == set(r.order[1:]) and all(lo <= g <= hi for g, lo, hi in r.gaps.values())
    # compared again: nothing is trained or measured, the same result is read back
    entry = measure_cells.entry(runs.equal_data, runs.equal_time, runs.extra, 2000)
    assert entry.is_file()
    again = compare_cells(base, isolated_outputs / "log.csv", 0.01, workers=1,
                          test_large_chars=2000, extra=[py])
    assert_frame_equal(again.summary, runs.summary)

    d = score_domains(runs.equal_data[0], py, 2000)
    assert sorted(set(d.scores["text"])) == ["dickens_test.txt", "dickens_test_large.txt", "held-out Python"]
    assert len(d.scores) == 6 and (d.scores["low"] <= d.scores["bpc"]).all()
    assert d.bpc("Dickens", "dickens_test_large.txt") == pytest.approx(lstm["BPC (test_large)"])
    assert d.python_chars > 80 and d.dickens_chars > 60 and d.uniform == pytest.approx(6.6439, abs=1e-4)
    assert (d.n_large, d.n_large_total) == (runs.n_large, runs.n_large_total)

    s = python_samples(py, ["def ", "class "], [0.8], 30, 5)
    assert [(p, t, seed) for p, t, seed, _ in s.samples] == [("def ", 0.8, 5), ("class ", 0.8, 6)]
    assert all(len(text) == 30 for *_, text in s.samples) and 0 <= s.shared[0.8] <= 30
    assert python_samples(py, ("def ", "class "), (0.8,), 30, 5).samples == s.samples  # kept

    # the figures of the section
    figs = isolated_outputs / "figures"
    assert plot_cells_equal_data(runs, figs / "a.png", smooth_window=2)[0][0].is_file()
    fig = plot_cells_equal_time(runs, figs / "b.png")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        f"{c.cell.upper()}, {runs.row(c)['iterations']:,} iterations" for c in runs.equal_time]
    ends = [line.get_xdata()[-1] for line in fig.axes[0].get_lines()]  # all end near the budget
    assert max(ends) - min(ends) < 0.5
    (path, fig), = plot_two_corpora(runs, py, figs / "c.png", smooth_window=3)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "Dickens (dickens_train.txt)", "Python source (python_stdlib.txt)"]
    assert "moving average of 3 points" in fig.axes[0].get_title()


def test_shared_tail_counts_the_common_end():
    assert shared_tail(["abcxyz", "qqxyz", "xyz"]) == 3
    assert shared_tail(["abc", "abd"]) == 0
    assert shared_tail(["same", "same"]) == 4
