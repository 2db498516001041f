"""The sentences and tables of the setting (notebook 00: the data, the vocabulary, a chunk,
the model's parameters, the machine), on small made-up inputs: no training and no data files."""

from __future__ import annotations

import string

import pytest
import torch

from charlm.model import CharRNN
from charlm.report.sections import setting


def test_files_frame_names_each_files_role():
    files = [{"file": "dickens_train.txt", "bytes": 10, "characters": 10, "sha256": "ab"},
             {"file": "other.txt", "bytes": 3, "characters": 3, "sha256": "cd"}]
    frame = setting.files_frame(files)
    assert list(frame.columns) == ["file", "role", "bytes", "characters", "sha256"]
    assert list(frame["role"]) == ["training", ""]
    html = setting.files_table(files).data
    assert setting.FILES_CAPTION in html and "other.txt" in html


def test_the_data_origin_is_checked_on_the_texts():
    train = "".join(chr(97 + i % 26) * 7 for i in range(400))
    large = "x" * 700 + train[:600]
    text = setting.data_origin(train, large[:300], large)
    # passages start at 0, 500 and 1000: the last lies inside the training text
    assert "Of 3 passages of 100 characters" in text and "1 of them are also in the training" in text
    assert "dickens_test.txt is exactly the first 300 characters of dickens_test_large.txt" in text
    text = setting.data_origin(train, "other", "x" * 1200)
    assert "none of them is in the training file" in text and "is not a part of" in text
    assert setting.shared_passages("abc" * 100, "zzz", window=10, stride=50) == 0


def test_vocabulary_counts_each_class_of_symbol():
    text = setting.vocabulary(string.printable)
    assert text.startswith("The vocabulary has **100 symbols**: 10 digits, 52 lower- and upper-case "
                           "letters, 32 punctuation marks and 6 whitespace characters")
    assert text.endswith("; a character is encoded as its position among them.")
    assert setting.vocabulary("0123").startswith("The vocabulary has **4 symbols**: 4 digits; ")
    assert "2 digits and 1 other symbols" in setting.vocabulary("01\u00e9")


def test_example_chunk_target_is_the_input_shifted_by_one():
    data = torch.arange(20) % 10  # indices of "0123456789" repeated
    ex = setting.example_chunk(data, 5, seed=3)
    assert len(ex.input) == len(ex.target) == 5 and ex.input[1:] == ex.target[:-1]
    assert setting.example_chunk(data, 5, seed=3) == ex  # the seed fixes it
    assert setting.example_intro(ex, 3, head=4) == (
        "The first 4 of the 5 characters of input and target of a chunk drawn at random (seed 3), "
        "one above the other, so that the shift by one is visible:")
    text = setting.example_text(setting.Example("abcdef", "bcdefg"), head=2)
    assert text == "input  'ab'\ntarget 'bc'"


@pytest.mark.parametrize("layers, word", [(1, "1 layer"), (2, "2 layers")])
def test_parameters_table_lists_tensors_and_totals_them(layers, word):
    model = CharRNN(hidden_size=4, n_layers=layers, vocab_size=5)
    frame = setting.parameters_frame(model)
    assert frame["parameters"].sum() == model.n_params()
    assert frame.loc[frame["tensor"] == "rnn.weight_ih_l0", "shape"].item() == "16 x 4"  # 4 x hidden
    assert setting.parameters_caption(model) == f"{model.n_params():,} trainable parameters with hidden_size 4 and {word}"
    # the formula of the notebook's text: V h + L (8 h^2 + 8 h) + (V h + V)
    assert model.n_params() == 5 * 4 + layers * (8 * 16 + 8 * 4) + 5 * 4 + 5
    assert setting.parameters_caption(model) in setting.parameters_table(model).data


def test_environment_table_shows_items_and_values():
    html = setting.environment_table({"Python": "3.11", "CPU": "x"}).data
    assert "What this report ran on" in html and "3.11" in html and "CPU" in html
