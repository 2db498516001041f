"""The report's models, each declared once.

- :func:`coursework_config`: part 4.1's model, the coursework's settings (notebooks 01, 04, 06,
  07, 11, 13, 14 and 16 all mean this run);
- :func:`base_config`: the same settings with the validation split that the best preset holds
  out, so that the two are compared on equal terms (notebooks 06 and 14);
- :func:`best_config`: the preset ``best`` with its training budget (notebooks 06, 07, 14, 16).

:func:`report_models` gives the three trained runs from the run cache, training what it lacks
(with the command line's choice of torch threads). The notebooks pass the same parameters
(``seed``, ``n_epochs``, ``hidden_size``, ``budget_minutes``; 0 means "the preset's or the
coursework's value"), so every notebook finds the very same runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checkpoint import Checkpoint
from ..config import DEFAULTS, TrainConfig
from ..machine import choose_threads
from ..presets import PRESETS, preset
from ..runs import cached_run, torch_threads


def _given(n_epochs: int = 0, hidden_size: int = 0) -> dict[str, Any]:
    return {k: v for k, v in dict(n_epochs=n_epochs, hidden_size=hidden_size).items() if v}


def coursework_config(seed: int = DEFAULTS.seed, n_epochs: int = 0, hidden_size: int = 0) -> TrainConfig:
    """Part 4.1's run: the coursework's settings (``n_epochs``, ``hidden_size``: 0 keeps them)."""
    return TrainConfig(seed=seed, **_given(n_epochs, hidden_size))


def best_config(seed: int = DEFAULTS.seed, budget_minutes: float = PRESETS["best"]["budget_minutes"],
                n_epochs: int = 0, hidden_size: int = 0) -> TrainConfig:
    """The preset ``best``, trained for ``budget_minutes`` of training time."""
    return preset("best", seed=seed, budget_minutes=budget_minutes, **_given(n_epochs, hidden_size))


def base_config(seed: int = DEFAULTS.seed, n_epochs: int = 0, hidden_size: int = 0) -> TrainConfig:
    """The coursework's settings with the best preset's validation split held out (and its
    validation curve drawn): the run the best model is compared with."""
    best = PRESETS["best"]
    return TrainConfig(seed=seed, valid_frac=best["valid_frac"], eval_every=best["eval_every"],
                       **_given(n_epochs, hidden_size))


@dataclass
class ReportModels:
    """The three trained runs the report's later sections share."""

    coursework: Checkpoint
    base: Checkpoint
    best: Checkpoint


def report_models(seed: int = DEFAULTS.seed, n_epochs: int = 0, hidden_size: int = 0,
                  budget_minutes: float = PRESETS["best"]["budget_minutes"], threads: int = 0
                  ) -> ReportModels:
    """The runs of :func:`coursework_config`, :func:`base_config` and :func:`best_config`, from
    the run cache, or trained here when the cache lacks them, each with ``threads`` torch
    threads (0: the command line's choice, :func:`charlm.machine.choose_threads`: one unless
    the step is large and two cores are free; in the report's kernels, one). A second thread
    next to another busy notebook spins while it waits: a budget run trained with two threads
    beside one reached 166 iterations in its ten minutes where one thread reaches thousands."""
    runs = []
    for cfg in (best_config(seed, budget_minutes, n_epochs, hidden_size),
                base_config(seed, n_epochs, hidden_size),
                coursework_config(seed, n_epochs, hidden_size)):
        with torch_threads(threads or choose_threads(cfg)[0]):
            runs.append(cached_run(cfg))
    best, base, coursework = runs
    return ReportModels(coursework, base, best)


__all__ = ["ReportModels", "base_config", "best_config", "coursework_config", "report_models"]
