"""The setting (notebook 00): the vocabulary's classes of symbols, one training example and the
model's size, as facts for the prose (``{eval}`` values). Where the test files come from is
:mod:`charlm.studies.data_origin`."""

from __future__ import annotations

import string
from dataclasses import dataclass

import torch
from torch import nn

from ..data import decode, random_chunks
from ..facts import Int, count

# The classes of string.printable, as the setting names them.
CLASSES = {"digits": string.digits, "letters": string.ascii_letters,
           "punctuation": string.punctuation, "whitespace": string.whitespace}


@dataclass(frozen=True)
class Vocabulary:
    """How many symbols of each class the vocabulary holds."""

    size: Int
    digits: Int
    letters: Int
    punctuation: Int
    whitespace: Int
    other: Int  # none of the above


def vocabulary_facts(vocab: str) -> Vocabulary:
    """:class:`Vocabulary` of the symbols ``vocab``."""
    counts = {name: count(sum(ch in members for ch in vocab)) for name, members in CLASSES.items()}
    known = "".join(CLASSES.values())
    return Vocabulary(size=count(len(vocab)), other=count(sum(ch not in known for ch in vocab)),
                      **counts)


@dataclass(frozen=True)
class Example:
    """One training example as text: ``input`` and ``target`` (the input shifted by one);
    ``shown`` characters of each are printed."""

    input: str
    target: str
    seed: int  # shown as it is typed (no thousands separator)
    length: Int
    shown: Int


def example_chunk(data: torch.Tensor, chunk_len: int, seed: int, shown: int = 60) -> Example:
    """The first chunk the training data loader draws with a generator seeded with ``seed``."""
    inputs, targets = random_chunks(data, chunk_len, 1, torch.Generator().manual_seed(seed))
    return Example(decode(inputs[0]), decode(targets[0]), int(seed), count(chunk_len),
                   count(min(shown, chunk_len)))


@dataclass(frozen=True)
class ModelSize:
    """The model's trainable parameters and the settings that size them."""

    parameters: Int
    hidden_size: Int
    n_layers: Int
    vocab_size: Int
    formula: Int  # V h + L (8 h^2 + 8 h) + (V h + V), the count the text derives


def model_size(model: nn.Module) -> ModelSize:
    """:class:`ModelSize` of a :class:`~charlm.model.CharRNN`."""
    v, h, n = model.vocab_size, model.hidden_size, model.n_layers
    total = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return ModelSize(count(total), count(h), count(n), count(v),
                     count(v * h + n * (8 * h * h + 8 * h) + v * h + v))


__all__ = ["CLASSES", "Example", "ModelSize", "Vocabulary", "example_chunk", "model_size",
           "vocabulary_facts"]
