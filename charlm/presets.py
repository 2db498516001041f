"""Named settings beyond the coursework defaults.

``best``: the lowest validation BPC found for a 10-minute training budget on a 2-core CPU. The
run is defined by time (``budget_minutes``), not by a number of iterations, so it uses its whole
budget on any machine and reaches as many iterations as that machine allows. How the settings
were found: a throughput probe of the training function by width, parallel streams and
precision (``benchmarks/probe_throughput.py``, recorded in ``results/throughput.csv``), then a
search of a few settings, each trained alone for a fixed budget with every core
(``benchmarks/budget_search.py``, recorded in ``results/budget_search.csv`` and read by
:func:`search_results`), and the setting with the lowest BPC on the validation split (5% of
``dickens_train.txt``) chosen, among those whose samples derail least where that was measured. The test files were not scored during the search.
``results/README.md`` says when and on what machine. What changes from the coursework and why
is in :data:`REASONS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from . import paths
from .config import TrainConfig, searched_fields
from .errors import ConfigError, DataError

# The recorded search behind ``best`` (see results/README.md) and its columns.
SEARCH_FILE = paths.ROOT / "results" / "budget_search.csv"
SEARCHED_FIELDS = searched_fields()  # the fields declared ``searched``
SEARCH_COLUMNS = (*SEARCHED_FIELDS, "budget_minutes", "train_minutes", "iterations", "valid_bpc",
                  "status", "derailed")
# "derailed": samples of the run's model that derailed in the sample-sanity measure
# (charlm.studies.sanity, 240 samples); empty for the runs of the stages before it existed.
RECORD_COLUMNS = ("threads", "cpu", "date")  # where and when a run trained: kept when present

PRESETS: dict[str, dict[str, Any]] = {
    "best": dict(
        budget_minutes=10.0, hidden_size=256, n_layers=2, batch_size=32, chunk_len=100,
        carry_state=True, shift_chunks=True, reset_prob=0.25, dropout=0.2, dropout_masks="fast",
        weight_decay=0.15, decay_params="matrices",
        lr=0.006, lr_schedule="cosine", clip=1.0,
        precision="auto", valid_frac=0.05, eval_every=250, print_every=100, plot_every=10,
    ),
}


# Why each setting of ``best`` differs from the coursework's defaults (shown in the report).
REASONS: dict[str, str] = {
    "hidden_size": "more capacity; in the search the wider model with more streams reached a "
                   "lower validation BPC in the same minutes than the narrower one, and the "
                   "widest one tried read too few characters in the budget",
    "batch_size": "parallel streams: many chunks per optimiser step, far more characters per "
                  "second than one chunk",
    "chunk_len": "shorter chunks, more steps; context beyond a chunk comes from the carried state",
    "carry_state": "truncated BPTT: each stream reads the text in order and keeps its state "
                   "across chunks, so every character is used once per pass and the model reads "
                   "each chunk with the state of the text before it, as BPC is measured; the "
                   "gradient stops at the chunk boundary, so the model uses the carried state "
                   "but is never trained to keep information for longer than one chunk",
    "lr": "a larger peak rate for the larger batch (a batch's gradient is less noisy)",
    "lr_schedule": "cosine decay to 5% over the budget's elapsed time: large steps early, fine "
                   "steps at the end, whatever the speed of the machine",
    "clip": "gradient-norm clipping: carried state makes gradients spikier",
    "precision": "bfloat16 autocast where the CPU has it natively (fp32 elsewhere): more "
                 "characters per second in the same minutes (see the throughput probe); "
                 "weights, optimiser and evaluation stay fp32",
    "dropout": "the model reads the training text many times over in the budget; dropout between "
               "the layers and before the decoder keeps it from memorising that text",
    "shift_chunks": "each pass over the text starts the streams at a new random offset, so the "
                    "chunk boundaries move and a model reading the text many times never sees "
                    "the very same chunks again",
    "dropout_masks": "the same element-wise dropout with its masks cut from a quarter of the "
                     "random draws: cheaper steps, so more of them in the budget",
    "weight_decay": "decoupled weight decay (AdamW) pulls every weight a little towards zero at "
                    "each step: another brake on memorising the training text",
    "reset_prob": "with carried state a model almost never reads from the zero state that "
                  "sampling and BPC start from, and its samples from a fresh state derailed; "
                  "resetting streams at random before a chunk keeps that state familiar, and "
                  "only frequent resets show it often enough with a rare first character",
    "decay_params": "weight decay on the weight matrices only: on the biases and the embedding "
                    "it pulls the scores of characters the text never shows back up",
    "budget_minutes": "the run is defined by training time, not iterations: it uses the whole "
                      "budget on any machine",
    "valid_frac": "a validation split to choose settings on and to draw the learning curve",
    "eval_every": "validation BPC during training (not counted as training time)",
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """The TrainConfig of preset ``name``, with ``overrides`` applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return TrainConfig(**(PRESETS[name] | overrides))


def search_results(path: str | Path | None = None, budget: float | None = None) -> pd.DataFrame:
    """The recorded search behind ``best``: one row per run, columns :data:`SEARCH_COLUMNS`,
    those of :data:`RECORD_COLUMNS` the file has, and ``chosen``: True for the finished run with the lowest validation BPC among those trained for
    ``budget`` minutes (the search's rule; default: the preset's budget), since runs given less
    time are an earlier stage of the search, not candidates. Where any such run's samples were
    measured (``derailed`` not empty), only the measured runs with the fewest derailed samples
    are candidates: a model whose samples derail more is not the better model, however well it
    scores.
    ``path``: default :data:`SEARCH_FILE`."""
    path = Path(path) if path is not None else SEARCH_FILE
    budget = PRESETS["best"]["budget_minutes"] if budget is None else budget
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read the recorded search {path}: {exc}") from None
    missing = [c for c in SEARCH_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    ok = df[(df["status"] == "ok") & df["valid_bpc"].notna() & (df["budget_minutes"] == budget)]
    if ok.empty:
        raise DataError(f"{path}: no finished run with the budget of {budget:g} minutes to choose from")
    if ok["derailed"].notna().any():
        ok = ok[ok["derailed"] == ok["derailed"].min()]
    df = df[list(SEARCH_COLUMNS) + [c for c in RECORD_COLUMNS if c in df.columns]].copy()
    df["chosen"] = df.index == ok["valid_bpc"].idxmin()
    return df
