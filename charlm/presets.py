"""Named settings beyond the coursework defaults.

``best``: the lowest validation BPC found for a 10-minute training budget on a 2-core CPU
(issue 5, part 2), chosen on the validation split only (5% of ``dickens_train.txt``); the
test files were scored for the record, not used to choose. The search, all with seed 1234,
2 layers, chunks of 100 with the state carried, clipping 1.0 and cosine decay; the runs were
trained two at a time with one torch thread each, so their times are not budget times (the
chosen setting takes about 8 minutes alone with 2 threads):

==========  =====  ==========  =======  ==========  ==============  ======================
hidden      batch  iterations  lr       dropout     validation BPC  dickens_test_large.txt
==========  =====  ==========  =======  ==========  ==============  ======================
256         32     1000        0.003    0           2.178           2.246
256         32     1000        0.006    0           2.068           2.148
256         32     1000        0.01     0           2.375           2.431
256         16     2000        0.006    0           2.033           2.114
256         32     3000        0.003    0           1.956           2.046
256         16     4500        0.006    0           1.923           2.016
256         16     4800        0.006    0.15        1.919           2.009
192         16     8500        0.006    0.1         1.920           2.011
192         16     8500        0.008    0           1.954           2.048
192         16     8500        0.0045   0           1.929           2.030
192         16     8000        0.006    0           1.913           2.018  <- chosen
==========  =====  ==========  =======  ==========  ==============  ======================

What the search showed: on this CPU a 192-wide LSTM trains about 1.7 times as many characters
per second as a 256-wide one (measured; the cause was not investigated), which outweighs its
smaller capacity in 10 minutes; batches of 16 streams beat 32 at the same number of characters
(twice the optimiser steps); lr 0.006 beats 0.0045 and 0.008; dropout helped the 256-wide
model a little and the 192-wide one not.

Trained alone with 2 torch threads, as ``--best_train`` and the report train it, the chosen
setting took 8.1 minutes and scored validation 1.890, dickens_test.txt 1.901 (95% bootstrap
interval 1.830-1.976) and dickens_test_large.txt 1.994 (1.978-2.012): the issue's target of at
most 2.0 is met, but by less than the 0.024 that the same setting moved between the
one-thread search run (2.018) and this one, so it is not met with any margin. What changes
from the coursework and why is in :data:`REASONS`.
"""

from __future__ import annotations

from typing import Any

from .config import TrainConfig
from .errors import ConfigError

PRESETS: dict[str, dict[str, Any]] = {
    "best": dict(
        hidden_size=192, n_layers=2, batch_size=16, chunk_len=100, carry_state=True,
        lr=0.006, lr_schedule="cosine", clip=1.0, n_epochs=8000, valid_frac=0.05,
        eval_every=250, print_every=100, plot_every=10,
    ),
}


# Why each setting of ``best`` differs from the coursework's defaults (shown in the report).
REASONS: dict[str, str] = {
    "hidden_size": "more capacity; 192 rather than 256 because on this CPU it trains about 1.7 "
                   "times as many characters per second, which mattered more in 10 minutes",
    "batch_size": "parallel streams: many chunks per optimiser step, far more characters per "
                  "second than one chunk",
    "chunk_len": "shorter chunks, more steps; context beyond a chunk comes from the carried state",
    "carry_state": "truncated BPTT: each stream reads the text in order and keeps its state "
                   "across chunks, every character is used once per pass, and the model learns "
                   "to use context longer than a chunk, as BPC is measured",
    "lr": "the best peak rate of 0.0045, 0.006 and 0.008 for this batched model (validation BPC)",
    "lr_schedule": "cosine decay to 5%: large steps early, fine steps at the end of the fixed budget",
    "clip": "gradient-norm clipping: carried state makes gradients spikier",
    "dropout": "dropout between the layers",
    "valid_frac": "a validation split to choose settings on and to draw the learning curve",
    "eval_every": "validation BPC during training (not counted as training time)",
    "n_epochs": "as many iterations as fit the budget (about 60 ms each with 2 threads)",
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """The TrainConfig of preset ``name``, with ``overrides`` applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return TrainConfig(**(PRESETS[name] | overrides))
