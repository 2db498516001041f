"""4.1, training with the defaults (notebook 01): the values the run used, how much of the
training text it read, its results, and how its test BPC compares with its training loss."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ...config import TrainConfig
from ...baselines import ngram_name, ngram_order
from ...corpora import TEST_FILE, TEST_LARGE_FILE
from ...data import VOCAB_SIZE
from ..display import bullets, plural, table

PARAMETERS = ("n_epochs", "hidden_size", "n_layers", "lr", "print_every", "plot_every", "chunk_len", "seed")
VALUES_CAPTION = "The values this run used"
# the untrained loss counts as "about a uniform guess" within this fraction of ln(vocab size)
NEAR_UNIFORM = 0.05


def parameter_values(cfg: TrainConfig, names: tuple[str, ...] = PARAMETERS) -> pd.DataFrame:
    """The coursework's parameters and this run's value of each (numbers shown as ``%g``)."""
    values = [getattr(cfg, n) for n in names]
    return pd.DataFrame({"parameter": list(names),
                         "value": [f"{v:g}" if isinstance(v, float) else str(v) for v in values]})


def parameter_table(cfg: TrainConfig, caption: str = VALUES_CAPTION):
    """:func:`parameter_values` as a captioned table."""
    return table(parameter_values(cfg), caption=caption)


def coverage(cfg: TrainConfig, n_train: int) -> str:
    """How many characters training reads, against the length of the training text."""
    seen = cfg.n_epochs * cfg.chunk_len * cfg.batch_size
    product = "`n_epochs` x `chunk_len`" + (" x `batch_size`" if cfg.batch_size != 1 else "")
    return (f"In all this run reads {seen:,} characters ({product}), {seen / n_train:.0%} of the "
            f"length of the {n_train:,}-character training text.")


def results(meta: Mapping[str, Any], stats: Mapping[str, float], plot_every: int,
            test_bpc: float, large_bpc: float, untrained_bpc: float,
            vocab_size: int = VOCAB_SIZE) -> str:
    """The results of the default run as bullet points.

    ``meta``: the checkpoint's metadata (``status``, ``iterations``, ``wall_time`` in seconds,
    ``threads``, ``torch_version``, ``n_params``, optionally ``diverged_at``); ``stats``:
    :func:`~charlm.studies.summary.curve_stats` of its history; the BPCs are on
    ``dickens_test.txt`` (the untrained model's too) and ``dickens_test_large.txt``.
    """
    threads = meta["threads"]
    status = f"**{meta['status']}**"
    if meta.get("diverged_at"):
        status += f" (at iteration {meta['diverged_at']:,})"
    lines = [(f"The run ended with status {status} after {meta['iterations']:,} iterations and "
              f"{meta['wall_time'] / 60:.1f} minutes of training ({plural(threads, 'torch thread')}, "
              f"torch {meta['torch_version']}; the model has "
              f"{meta['n_params']:,} parameters).")]
    uniform = math.log(vocab_size)
    untrained = untrained_bpc * math.log(2)
    start = (f"Before training, the model (the same initial weights) scores {untrained_bpc:.3f} "
             f"bits per character on `dickens_test.txt`, that is {untrained:.2f} nats: ")
    if abs(untrained - uniform) <= NEAR_UNIFORM * uniform:
        start += f"about the ln {vocab_size} = {uniform:.2f} of a uniform guess."
    else:
        start += f"far from the ln {vocab_size} = {uniform:.2f} of a uniform guess."
    first = f"the first point of the curve, the mean of the first {plot_every} iterations"
    if not stats["points"]:
        start += " Training recorded no point of the loss curve."
    elif stats["start"] < untrained:
        start += f" The loss falls fast at first: {first}, is already {stats['start']:.2f} nats."
    else:
        start += f" The loss does not fall at first: {first}, is {stats['start']:.2f} nats."
    lines.append(start)
    if stats["points"]:
        lines.append(f"The training loss ends at {stats['final']:.2f} nats per character (the mean "
                     f"of the last tenth of training, {stats['tail_iterations']} iterations), "
                     "which is "
                     f"{stats['final'] / math.log(2):.2f} bits per character.")
    lines.append(f"**BPC on `dickens_test.txt`: {test_bpc:.3f}**; on `dickens_test_large.txt`: "
                 f"{large_bpc:.3f}.")
    return bullets(lines)


def answer(cfg: TrainConfig, meta: Mapping[str, Any], stats: Mapping[str, float],
           untrained_bpc: float, test_bpc: float, large_bpc: float, ladder: pd.DataFrame,
           name: str, n_train: int, large: str = TEST_LARGE_FILE) -> str:
    """The answer of 4.1: what the run did, how far the loss fell, the test BPC, and where the
    model stands among the yardsticks of ``ladder`` (a :func:`charlm.studies.ladder.ladder_frame`
    holding the run as the rung ``name``) on ``large``."""
    seen = cfg.n_epochs * cfg.chunk_len * cfg.batch_size
    untrained = untrained_bpc * math.log(2)
    others = ladder[ladder.name != name]
    beating = others[others[large] < large_bpc].sort_values(large)
    text = (f"**Answer.** Training with the defaults takes {meta['iterations']:,} steps of the "
            f"Adam optimiser, each on one random chunk of {cfg.chunk_len} characters "
            f"({seen:,} characters in all, {seen / n_train:.0%} of the length of the training "
            f"text), and took {meta['wall_time'] / 60:.1f} minutes. The model has "
            f"{cfg.n_layers} LSTM layers of {cfg.hidden_size} units ({meta['n_params']:,} "
            f"parameters). Its training loss falls from {untrained:.2f} nats per character "
            f"before training (a uniform guess scores ln {VOCAB_SIZE} = "
            f"{math.log(VOCAB_SIZE):.2f}) to {stats['final']:.2f}, and it scores "
            f"**{test_bpc:.3f} bits per character** on {TEST_FILE} and **{large_bpc:.3f}** on "
            f"{large}. ")
    if beating.empty:
        return text + f"That beats all {len(others)} yardsticks of [](#fig-41-ladder)."
    best = beating.iloc[0]
    return text + (f"That beats {len(others) - len(beating)} of the {len(others)} yardsticks of "
                   f"[](#fig-41-ladder) and loses to {len(beating)}: even a count of which "
                   f"character follows which {_shortest_context(beating)} beats it, and the best, "
                   f"{best['name']}, needs {best[large]:.3f}.")


def _shortest_context(rows: pd.DataFrame) -> str:
    orders = [k for k in map(ngram_order, rows.name) if k is not None]
    return (f"{min(orders) - 1} characters (a {ngram_name(min(orders))})" if orders
            else "any fixed context")


def gap(test_bpc: float, final_loss: float) -> str:
    """Test BPC against the final training loss (``final_loss`` in nats), in bits."""
    if not math.isfinite(final_loss):
        return (f"On the unseen test text this model needs {test_bpc:.3f} bits per character; "
                "training recorded no final loss to compare it with.")
    diff = test_bpc - final_loss / math.log(2)
    return (f"On the unseen test text this model needs {test_bpc:.3f} bits per character, "
            f"{abs(diff):.2f} bits {'more' if diff > 0 else 'fewer'} than its final training loss "
            "in bits.")


__all__ = ["NEAR_UNIFORM", "PARAMETERS", "VALUES_CAPTION", "answer", "coverage", "gap", "parameter_table",
           "parameter_values", "results"]
