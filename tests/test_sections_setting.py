"""The setting's tables (notebook 00 and Appendix A) and the facts its prose states, on small
made-up inputs: no training and no data files."""

from __future__ import annotations

import string

import pytest
import torch

from charlm.model import CharRNN
from charlm.report.display import table
from charlm.report.sections import setting
from charlm.studies.data_origin import origin_facts
from charlm.studies.setting import Example, example_chunk, model_size, vocabulary_facts


def test_files_frame_names_each_files_role():
    files = [{"file": "dickens_train.txt", "bytes": 10, "characters": 10, "sha256": "ab"},
             {"file": "other.txt", "bytes": 3, "characters": 3, "sha256": "cd"}]
    frame = setting.files_frame(files)
    assert list(frame.columns) == ["file", "role", "bytes", "characters", "sha256"]
    assert list(frame["role"]) == ["training", ""]
    assert "other.txt" in table(frame).data


def test_vocabulary_counts_each_class_of_symbol():
    v = vocabulary_facts(string.printable)
    assert (v.size, v.digits, v.letters, v.punctuation, v.whitespace, v.other) == (100, 10, 52, 32, 6, 0)
    odd = vocabulary_facts("01\u00e9")
    assert (odd.size, odd.digits, odd.other) == (3, 2, 1)


def test_example_chunk_target_is_the_input_shifted_by_one():
    data = torch.arange(20) % 10  # indices of "0123456789" repeated
    ex = example_chunk(data, 5, seed=3)
    assert len(ex.input) == len(ex.target) == 5 and ex.input[1:] == ex.target[:-1]
    assert example_chunk(data, 5, seed=3) == ex  # the seed fixes it
    assert (ex.seed, ex.length, ex.shown) == (3, 5, 5)  # never more shown than there is
    text = setting.example_text(Example("abcdef", "bcdefg", 1, 6, 2))
    assert text == "input  'ab'\ntarget 'bc'"


@pytest.mark.parametrize("layers", [1, 2])
def test_parameters_table_lists_tensors_and_the_formula_counts_them(layers):
    model = CharRNN(hidden_size=4, n_layers=layers, vocab_size=5)
    frame = setting.parameters_frame(model)
    assert frame["parameters"].sum() == model.n_params()
    assert frame.loc[frame["tensor"] == "rnn.weight_ih_l0", "shape"].item() == "16 x 4"  # 4 x hidden
    m = model_size(model)
    # the formula of the notebook's text: V h + L (8 h^2 + 8 h) + (V h + V)
    assert m.parameters == m.formula == model.n_params()
    assert (m.hidden_size, m.n_layers, m.vocab_size) == (4, layers, 5)
    assert "rnn.weight_hh_l0" in table(frame).data


def test_environment_table_shows_items_and_values():
    html = setting.environment_table({"Python": "3.11", "CPU": "x"}).data
    assert "3.11" in html and "CPU" in html


def test_the_origin_table_has_a_row_per_part_with_its_novel_in_the_training_file():
    train = ("CHAPTER 1\n\n" + "Peggotty said yes. " * 40 + "\n\n"
             + "CHAPTER I - THE DAWN\n\n" + "Jasper said no . \n" * 40)
    test = "Peggotty said yes. " * 10 + "\n" + "Jasper said no . \n" * 10
    o = origin_facts(train, test[:30], test)
    frame = setting.origin_frame(o)
    assert list(frame["novel"]) == ["David Copperfield", "The Mystery of Edwin Drood"]
    assert frame["in the training file"][0].startswith("1-")
    assert frame["part"][0] == f"1-{o.parts[0].chars}"
    assert "Jasper" in table(frame).data


def test_the_note_under_the_title_says_only_what_a_build_changed():
    from charlm.report.build import build_note
    assert build_note({}, quick=False) is None
    note = build_note({"n_epochs": 500}, quick=False)
    assert "`n_epochs = 500`" in note and "make report" not in note
    assert "QUICK build" in build_note({}, quick=True)
