"""The setting's tables (notebook 00 and Appendix A): the corpus files, where the test file's
parts come from, one training example, the model's parameters and the environment (a frame
is shown with :func:`~charlm.report.display.table`). The facts and the prose are in
:mod:`charlm.studies.setting`, :mod:`charlm.studies.data_origin` and the notebooks' markdown;
the captions are the notebooks' too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from torch import nn

from ...corpora import TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE
from ...studies.data_origin import DataOrigin
from ...studies.setting import Example
from ..display import table

FILE_ROLES = {TRAIN_FILE: "training", TEST_FILE: "test", TEST_LARGE_FILE: "larger test"}


def files_frame(files: Sequence[Mapping[str, Any]], roles: Mapping[str, str] = FILE_ROLES) -> pd.DataFrame:
    """The rows of :func:`charlm.corpora.data_files` with each file's role as second column
    (a file with no known role gets an empty one)."""
    frame = pd.DataFrame(list(files))
    frame.insert(1, "role", frame["file"].map(lambda name: roles.get(name, "")))
    return frame


def origin_frame(origin: DataOrigin) -> pd.DataFrame:
    """One row per part of the large test file: its novel, the characters that novel spans in
    the training file and the part in the test file (first to last, counting from 1), the
    part's share of the file and chapter headings, the bits per character of its own novel's
    n-gram and of the best other novel's, and the names it shares with its novel only."""
    novels = {n.title: n for n in origin.novels}
    rows = []
    for p in origin.parts:
        novel = novels.get(p.novel)
        rows.append({"novel": p.novel,
                     "in the training file": f"{novel.start + 1:,}-{novel.end:,}" if novel else "",
                     "part": f"{p.first:,}-{p.first + p.chars - 1:,}", "share": str(p.share),
                     "chapter headings": p.chapters,
                     "bits: own novel / other": f"{p.bpc} / {p.other_bpc}",
                     "names found only in its novel": p.names})
    return pd.DataFrame(rows)


def example_text(example: Example) -> str:
    """The first ``example.shown`` characters of input and target as Python literals, one
    above the other."""
    head = int(example.shown)
    return f"input  {example.input[:head]!r}\ntarget {example.target[:head]!r}"


def parameters_frame(model: nn.Module) -> pd.DataFrame:
    """Every trainable tensor of ``model``: its name, shape and number of parameters."""
    return pd.DataFrame([{"tensor": name, "shape": " x ".join(map(str, p.shape)), "parameters": p.numel()}
                         for name, p in model.named_parameters() if p.requires_grad],
                        columns=["tensor", "shape", "parameters"])


def environment_table(env: Mapping[str, str]):
    """:func:`charlm.machine.environment` as a two-column table."""
    return table(pd.DataFrame({"item": list(env), "value": list(env.values())}))


__all__ = ["FILE_ROLES", "environment_table", "example_text", "files_frame", "origin_frame",
           "parameters_frame"]
