"""The setting (notebook 00): the corpus files, the vocabulary, one training example, the
model's parameters and the environment, as tables and sentences computed from the run."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn

from ...corpora import TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE
from ...data import decode, random_chunks
from ..display import plural, table

FILE_ROLES = {TRAIN_FILE: "training", TEST_FILE: "test (scored for every run)",
              TEST_LARGE_FILE: "larger held-out test"}
FILES_CAPTION = ("The three text files (characters counted after transliteration; the SHA-256 "
                 "checksum of each verified when it was copied in)")
ENVIRONMENT_CAPTION = "What this report ran on"
# Where the test files come from (the data's own README): a fact about the files, not a result.
TEST_NOVELS = "David Copperfield and A Tale of Two Cities"
WINDOW = 100  # characters of a test passage looked up in the training text
STRIDE = 500  # characters between the starts of the passages looked up

# The classes of string.printable, in the order the sentence names them.
_CLASSES = (
    ("digits", string.digits),
    ("lower- and upper-case letters", string.ascii_letters),
    ("punctuation marks", string.punctuation),
    ("whitespace characters (space, tab, newline, carriage return, vertical tab, form feed)",
     string.whitespace),
)


def files_frame(files: Sequence[Mapping[str, Any]], roles: Mapping[str, str] = FILE_ROLES) -> pd.DataFrame:
    """The rows of :func:`charlm.corpora.data_files` with each file's role as second column
    (a file with no known role gets an empty one)."""
    frame = pd.DataFrame(list(files))
    frame.insert(1, "role", frame["file"].map(lambda name: roles.get(name, "")))
    return frame


def files_table(files: Sequence[Mapping[str, Any]], caption: str = FILES_CAPTION):
    """:func:`files_frame` as a captioned table."""
    return table(files_frame(files), caption=caption)


def shared_passages(test: str, train: str, window: int = WINDOW, stride: int = STRIDE) -> int:
    """How many of the ``window``-character passages of ``test`` that start every ``stride``
    characters occur word for word in ``train``."""
    return sum(test[i:i + window] in train for i in _starts(len(test), window, stride))


def _starts(length: int, window: int = WINDOW, stride: int = STRIDE) -> range:
    """Where the looked-up passages of a text of ``length`` characters start."""
    return range(0, max(length - window, 0) + 1, stride)


def data_origin(train: str, test: str, large: str) -> str:
    """What the test files are, checked on the texts: whether the small file is the start of
    the large one, and how many sampled passages of the large one the training text holds."""
    n = len(_starts(len(large)))
    shared = shared_passages(large, train)
    prefix = (f"{TEST_FILE} is exactly the first {len(test):,} characters of {TEST_LARGE_FILE}"
              if large.startswith(test) else f"{TEST_FILE} is not a part of {TEST_LARGE_FILE}")
    overlap = ("none of them is in the training file" if not shared
               else f"{shared} of them are also in the training file")
    return (f"The two test files are later chapters of two of the training novels "
            f"({TEST_NOVELS}): the same writer, characters and names, but other passages. Of "
            f"{n:,} passages of {WINDOW} characters taken every {STRIDE} characters of "
            f"{TEST_LARGE_FILE}, {overlap}. {prefix}, so the two test scores are not "
            "independent.")


def vocabulary(vocab: str) -> str:
    """The sentence introducing the vocabulary: its size and how many symbols of each class
    (digits, letters, punctuation, whitespace, anything else) it holds."""
    counts = [(name, sum(ch in members for ch in vocab)) for name, members in _CLASSES]
    known = "".join(members for _, members in _CLASSES)
    other = sum(ch not in known for ch in vocab)
    if other:
        counts.append(("other symbols", other))
    parts = [f"{n} {name}" for name, n in counts if n]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (f"The vocabulary has **{len(vocab)} symbols**: {listed}; a character is encoded as "
            "its position among them.")


@dataclass(frozen=True)
class Example:
    """One training example as text: ``input`` and ``target`` (the input shifted by one)."""

    input: str
    target: str


def example_chunk(data: torch.Tensor, chunk_len: int, seed: int) -> Example:
    """The first chunk the training data loader draws with a generator seeded with ``seed``."""
    inputs, targets = random_chunks(data, chunk_len, 1, torch.Generator().manual_seed(seed))
    return Example(decode(inputs[0]), decode(targets[0]))


def example_intro(example: Example, seed: int, head: int = 60) -> str:
    """The sentence above :func:`example_text`."""
    return (f"The first {head} of the {len(example.input)} characters of input and target of a "
            f"chunk drawn at random (seed {seed}), one above the other, so that the shift by one "
            "is visible:")


def example_text(example: Example, head: int = 60) -> str:
    """The first ``head`` characters of input and target as Python literals, one above the
    other."""
    x, y = example.input, example.target
    return f"input  {x[:head]!r}\ntarget {y[:head]!r}"


def parameters_frame(model: nn.Module) -> pd.DataFrame:
    """Every trainable tensor of ``model``: its name, shape and number of parameters."""
    return pd.DataFrame([{"tensor": name, "shape": " x ".join(map(str, p.shape)), "parameters": p.numel()}
                         for name, p in model.named_parameters() if p.requires_grad],
                        columns=["tensor", "shape", "parameters"])


def parameters_caption(model: nn.Module) -> str:
    """``'289,892 trainable parameters with hidden_size 128 and 2 layers'``."""
    total = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return (f"{total:,} trainable parameters with hidden_size {model.hidden_size} and "
            f"{plural(model.n_layers, 'layer')}")


def parameters_table(model: nn.Module):
    """:func:`parameters_frame` with :func:`parameters_caption`."""
    return table(parameters_frame(model), caption=parameters_caption(model))


def environment_table(env: Mapping[str, str], caption: str = ENVIRONMENT_CAPTION):
    """:func:`charlm.machine.environment` as a two-column table."""
    return table(pd.DataFrame({"item": list(env), "value": list(env.values())}), caption=caption)


__all__ = [
    "ENVIRONMENT_CAPTION",
    "FILES_CAPTION",
    "FILE_ROLES",
    "Example",
    "environment_table",
    "example_chunk",
    "example_intro",
    "example_text",
    "files_frame",
    "files_table",
    "parameters_caption",
    "parameters_frame",
    "parameters_table",
    "vocabulary",
]
