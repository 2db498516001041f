"""Named settings beyond the coursework defaults.

``best``: the candidate for the lowest BPC within a 10-minute training budget on a 2-core CPU
(issue 5, part 2). Not yet the result of a search: two runs so far, both measured on an idle
2-core x86_64 machine with 2 torch threads (seed 1234):

=====================  ==========  ===============  ====================  ==========================
setting                training    validation BPC   dickens_test.txt      dickens_test_large.txt
=====================  ==========  ===============  ====================  ==========================
n_epochs=1500         4.3 min     2.078            2.073 (2.002-2.145)   2.153 (2.138-2.168)
this preset (3000)    9.3 min     1.956            1.945 (1.876-2.015)   2.046 (2.030-2.061)
=====================  ==========  ===============  ====================  ==========================

(95% bootstrap intervals in brackets; the coursework defaults give 2.465 and 2.525.) A
hidden size of 384 with dropout 0.1 took 0.37 s per iteration, too slow to reach as many
iterations inside the budget. The target of the issue (at most 2.0 on
dickens_test_large.txt) is not reached yet. What changes from the coursework and why:

- batches of parallel streams with the state carried between consecutive chunks (truncated
  BPTT): every character is used once per pass instead of at random, the model sees many
  chunks per step (far more characters per second than batch 1), and it learns to use context
  longer than one chunk, which is how BPC is measured (state carried over the whole text);
- a wider model (more capacity; affordable because batching keeps the cores busy);
- gradient-norm clipping (carried state makes gradients spikier) and a cosine decay of the
  learning rate (large steps early, fine steps at the end of the fixed budget);
- 5% of the training text held out, to choose the settings and to plot the learning curve.
"""

from __future__ import annotations

from typing import Any

from .config import TrainConfig
from .errors import ConfigError

PRESETS: dict[str, dict[str, Any]] = {
    "best": dict(
        hidden_size=256, n_layers=2, batch_size=32, chunk_len=100, carry_state=True,
        lr=0.003, lr_schedule="cosine", clip=1.0, n_epochs=3000, valid_frac=0.05,
        eval_every=250, print_every=100, plot_every=10,
    ),
}


# Why each setting of ``best`` differs from the coursework's defaults (shown in the report).
REASONS: dict[str, str] = {
    "hidden_size": "more capacity; affordable because batching keeps both cores busy",
    "batch_size": "parallel streams: many chunks per optimiser step, far more characters per "
                  "second than one chunk",
    "chunk_len": "shorter chunks, more steps; context beyond a chunk comes from the carried state",
    "carry_state": "truncated BPTT: each stream reads the text in order and keeps its state "
                   "across chunks, every character is used once per pass, and the model learns "
                   "to use context longer than a chunk, as BPC is measured",
    "lr": "a lower peak rate for the larger, batched model",
    "lr_schedule": "cosine decay to 5%: large steps early, fine steps at the end of the fixed budget",
    "clip": "gradient-norm clipping: carried state makes gradients spikier",
    "dropout": "dropout between the layers",
    "valid_frac": "a validation split to choose settings on and to draw the learning curve",
    "eval_every": "validation BPC during training (not counted as training time)",
    "n_epochs": "as many iterations as fit the budget",
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """The TrainConfig of preset ``name``, with ``overrides`` applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return TrainConfig(**(PRESETS[name] | overrides))
