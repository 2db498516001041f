"""Temperature, measured: what sampling at each temperature does to the generated text.

For a trained model, a list of temperatures and several seeds, :func:`temperature_table`
generates one sample per (temperature, seed) with :func:`charlm.sample.generate` (the one
sampling loop) and measures four things on it:

``in_vocab``
    The share of generated word occurrences that occur in the training text. A word is a match
    of ``[A-Za-z']+``, lowercased; the vocabulary is the set of such words in the training
    corpus. Counted over occurrences (a word repeated ten times counts ten times).
``repeat_4gram``
    The share of word 4-grams in the sample that repeat an earlier 4-gram of the same sample:
    with ``g_1 .. g_m`` the overlapping 4-grams of the generated words (``m = n_words - 3``),
    ``1 - |{g_1 .. g_m}| / m`` (the "rep-n" of Welleck et al., 2019, with n = 4). 0 means no
    4-gram occurs twice; a text that loops on one phrase tends to 1. NaN when ``m == 0``.
``bpc``
    The model's own bits per character on its sample *given the prime*: the mean over the
    generated characters of ``-log2 p(c_t | prime, c_<t)`` at T = 1, computed with
    :func:`charlm.evaluate.bpc` (see :func:`sample_bpc`). The prime's own characters are not
    scored.
``entropy_bits``
    The mean, over the generated characters, of the entropy in bits of the distribution each
    one was drawn from, ``softmax(logits / T)``. Greedy decoding draws from a point mass, so its
    entropy is exactly 0. At T = 1 the expected ``bpc`` equals the expected ``entropy_bits``
    (the sample is drawn from the distribution that scores it), which the table lets you check.

Which words count as generated: the text ``prime + sample`` is split into words, and a word
counts when it ends inside the sample (so a word the prime started and the model finished
counts; words wholly inside the prime do not); the last word is dropped when it touches the
end of the text, since generation may have cut it short.

Greedy (argmax) decoding is measured too, one row per seed (the seeds then differ only in
their prime), with ``decoding == "greedy"`` and ``temperature == 0.0`` (char-rnn's
"temperature 0"). Optionally real held-out text is measured in the same way
(``decoding == "reference"``, temperature NaN): the in-vocabulary and repetition rates real
Dickens has, and the model's BPC and T = 1 entropy on it, as lines to compare the curves with.

Cost: generation dominates (one model call per character); the measures add one whole-sequence
forward call and two BPC passes per sample. The default table (10 temperatures x 5 seeds x 300
characters, plus 5 greedy and 5 reference rows) of the default model (hidden 128, 2 layers)
takes about 10 s with one torch thread on a busy 2-core CPU.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from .data import encode
from .errors import DataError
from .evaluate import bpc
from .model import CharRNN
from .sample import check_temperature, generate
from .temperature import pick_prime

# Ten temperatures from 0.1 to 2.0, denser where the text changes fastest.
DEFAULT_TEMPS: tuple[float, ...] = (0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0, 1.25, 1.5, 2.0)
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
DEFAULT_PREDICT_LEN = 300  # characters generated per sample (about 50 words of Dickens)
NGRAM = 4
METRICS = ("in_vocab", "repeat_4gram", "bpc", "entropy_bits")
METRIC_LABELS = {
    "in_vocab": "share of generated words\nfound in the training text",
    "repeat_4gram": "share of repeated word 4-grams",
    "bpc": "model's own BPC on its sample",
    "entropy_bits": "entropy of softmax(logits / T)\n(bits per generated character)",
}
COLUMNS = ("decoding", "temperature", "seed", "prime", "sample", "n_words", "n_4grams",
           *METRICS, "seconds")

# What the temperature column holds for rows that were not sampled at a temperature.
_TEMP_COLUMN = {"greedy": 0.0, "reference": math.nan}
_WORD = re.compile(r"[A-Za-z']+")


# ---------------------------------------------------------------------------------------------
# words and n-grams


def words(text: str) -> list[str]:
    """The words of ``text``: matches of ``[A-Za-z']+``, lowercased."""
    return [m.group().lower() for m in _WORD.finditer(text)]


def word_vocabulary(text: str) -> frozenset[str]:
    """The set of :func:`words` of ``text`` (e.g. of the training corpus)."""
    return frozenset(m.lower() for m in _WORD.findall(text))


def generated_words(prime: str, sample: str) -> list[str]:
    """The words of ``prime + sample`` that the model produced (see the module docstring).

    A word counts when it ends inside ``sample``; a last word that touches the end of the text
    is dropped (it may have been cut short).
    """
    text = prime + sample
    out = []
    for m in _WORD.finditer(text):
        if m.end() <= len(prime) or m.end() == len(text):
            continue
        out.append(m.group().lower())
    return out


def in_vocab_share(word_list: Sequence[str], vocab: frozenset[str] | set[str]) -> float:
    """Share of the word occurrences in ``word_list`` that are in ``vocab`` (NaN if none)."""
    if not word_list:
        return math.nan
    return sum(w in vocab for w in word_list) / len(word_list)


def repeated_ngram_share(word_list: Sequence[str], n: int = NGRAM) -> float:
    """``1 - distinct / total`` over the overlapping word ``n``-grams of ``word_list``.

    The share of n-gram occurrences that repeat an earlier one. NaN when there are fewer than
    ``n`` words (no n-gram at all).
    """
    grams = [tuple(word_list[i:i + n]) for i in range(len(word_list) - n + 1)]
    if not grams:
        return math.nan
    return 1.0 - len(set(grams)) / len(grams)


# ---------------------------------------------------------------------------------------------
# what the model says about a sample


@torch.no_grad()
def sampling_entropy(model: CharRNN, prime: str, sample: str,
                     temperature: float | None) -> np.ndarray:
    """Entropy in bits of ``softmax(logits / temperature)`` at every generated character.

    One forward call of the model over ``prime + sample`` (the recurrent state carried along the
    sequence, exactly as :func:`~charlm.sample.generate` carries it step by step) gives the
    logits from which each generated character was drawn: those at positions
    ``len(prime) - 1 .. len(prime) + len(sample) - 2``. Returns an array of shape
    ``(len(sample),)``. ``temperature=None`` means greedy decoding: a point mass, entropy 0.
    """
    if temperature is None:
        return np.zeros(len(sample))
    temperature = check_temperature(temperature)
    if not sample:
        return np.zeros(0)
    ids = encode(prime + sample, what="prime + sample")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        logits, _ = model(ids[None, :-1].to(device))  # (1, len(prime + sample) - 1, vocab)
    finally:
        model.train(was_training)
    steps = logits[0, len(prime) - 1:].double().cpu() / temperature  # (len(sample), vocab)
    logp = torch.log_softmax(steps, dim=-1)
    return (-(logp.exp() * logp).sum(-1) / math.log(2)).numpy()


def sample_bpc(model: CharRNN, prime: str, sample: str) -> float:
    """The model's bits per character on ``sample`` given ``prime`` (T = 1).

    :func:`charlm.evaluate.bpc` scores a text of N characters on its N - 1 predictions, so
    ``bpc(prime + sample) * (P + L - 1) - bpc(prime) * (P - 1)`` (P, L the lengths) is the total
    over exactly the L generated characters, each predicted from everything before it.
    """
    if not sample:
        return math.nan
    p, n = len(prime), len(prime) + len(sample)
    total = bpc(model, prime + sample) * (n - 1)
    if p >= 2:
        total -= bpc(model, prime) * (p - 1)
    return total / len(sample)


def sample_metrics(model: CharRNN, prime: str, sample: str, temperature: float | None,
                   vocab: frozenset[str]) -> dict:
    """The four metrics (and word counts) of one ``sample`` generated after ``prime``.

    ``temperature=None`` marks a greedy sample (entropy 0).
    """
    gen_words = generated_words(prime, sample)
    return {
        "n_words": len(gen_words),
        "n_4grams": max(0, len(gen_words) - NGRAM + 1),
        "in_vocab": in_vocab_share(gen_words, vocab),
        "repeat_4gram": repeated_ngram_share(gen_words, NGRAM),
        "bpc": sample_bpc(model, prime, sample),
        "entropy_bits": float(sampling_entropy(model, prime, sample, temperature).mean())
        if sample else math.nan,
    }


# ---------------------------------------------------------------------------------------------
# the table, its summary and its figure


def temperature_table(
    model: CharRNN,
    vocab: frozenset[str],
    prime_text: str,
    temps: Iterable[float] = DEFAULT_TEMPS,
    seeds: Iterable[int] = DEFAULT_SEEDS,
    predict_len: int = DEFAULT_PREDICT_LEN,
    prime_len: int = 10,
    greedy: bool = True,
    reference: str | None = None,
    threads: int | None = 1,
):
    """Generate and measure one sample per (temperature, seed), plus greedy and reference rows.

    The prime for seed ``s`` is :func:`charlm.temperature.pick_prime` of ``prime_text`` with that
    seed (as ``--diff_temp`` picks it: the first ``prime_len`` characters of a random
    200-character chunk); the sample is ``generate(model, prime, predict_len, T, seed=s)``, so
    every row can be regenerated from its seed. ``vocab`` is :func:`word_vocabulary` of the
    training text. With ``greedy``, one argmax sample per seed is added; with ``reference`` (a
    held-out text), one real window of ``prime_len + predict_len`` characters per seed.

    Returns a ``pandas.DataFrame`` with the columns :data:`COLUMNS`, one row per sample, sorted
    by decoding (sample, greedy, reference), temperature and seed. ``seconds`` is the time spent
    generating and measuring that row.

    ``threads`` torch threads are used meanwhile (``None``: leave the setting alone). One
    character at a time is far too little work to share: on a busy 2-core machine the default
    table took 14 s with one thread and 121 s with two (the OpenMP threads spin and wait).
    """
    from .runs import torch_threads

    with torch_threads(threads) if threads is not None else contextlib.nullcontext():
        return _temperature_table(model, vocab, prime_text, temps, seeds, predict_len,
                                  prime_len, greedy, reference)


def _temperature_table(model, vocab, prime_text, temps, seeds, predict_len, prime_len, greedy,
                       reference):
    import pandas as pd

    temps = [check_temperature(t) for t in temps]
    seeds = list(seeds)
    if not temps and not greedy:
        raise DataError("temperature_table needs at least one temperature or greedy=True")
    primes = {s: pick_prime(prime_text, seed=s, prime_len=prime_len) for s in seeds}
    rows = []

    def measure(decoding: str, temp: float | None, seed: int, prime: str, sample: str,
                started: float) -> None:
        """Append one row; ``temp`` is the distribution's temperature (None: argmax)."""
        row = {"decoding": decoding, "temperature": _TEMP_COLUMN.get(decoding, temp),
               "seed": seed, "prime": prime, "sample": sample}
        row.update(sample_metrics(model, prime, sample, temp, vocab))
        row["seconds"] = time.perf_counter() - started
        rows.append(row)

    for temp in temps:
        for seed in seeds:
            started = time.perf_counter()
            text = generate(model, primes[seed], predict_len, temp, seed=seed)
            measure("sample", temp, seed, primes[seed], text[len(primes[seed]):], started)
    if greedy:
        for seed in seeds:
            started = time.perf_counter()
            text = generate(model, primes[seed], predict_len, greedy=True)
            measure("greedy", None, seed, primes[seed], text[len(primes[seed]):], started)
    if reference is not None:
        width = prime_len + predict_len
        if len(reference) < width:
            raise DataError(f"the reference text has {len(reference)} characters; "
                            f"{width} are needed")
        for seed in seeds:
            started = time.perf_counter()
            start = random.Random(seed).randrange(len(reference) - width + 1)
            window = reference[start:start + width]
            # the model's entropy at T = 1 along real text: how sure it is of what comes next
            measure("reference", 1.0, seed, window[:prime_len], window[prime_len:], started)
    df = pd.DataFrame(rows, columns=COLUMNS)
    order = {"sample": 0, "greedy": 1, "reference": 2}
    df = df.sort_values(["decoding", "temperature", "seed"],
                        key=lambda c: c.map(order) if c.name == "decoding" else c,
                        kind="stable").reset_index(drop=True)
    return df


def summarise(df):
    """Mean, standard deviation, min and max of each metric across seeds.

    One row per (decoding, temperature) of a :func:`temperature_table`, in its order; columns
    ``<metric>_mean``, ``<metric>_std``, ``<metric>_min``, ``<metric>_max`` and ``n_seeds``.
    The standard deviation is the sample one (ddof=1; NaN for a single seed).
    """
    import pandas as pd

    groups = df.groupby(["decoding", "temperature"], sort=False, dropna=False)
    out = groups[list(METRICS)].agg(["mean", "std", "min", "max"])
    out.columns = [f"{metric}_{stat}" for metric, stat in out.columns]
    out.insert(0, "n_seeds", groups.size())
    return pd.DataFrame(out).reset_index()


def summary_row(summary, decoding: str = "sample", temperature: float | None = None):
    """The row of a :func:`summarise` table for ``decoding`` (at ``temperature`` when sampling);
    None when the table has no such row."""
    hit = summary[summary.decoding == decoding]
    if temperature is not None:
        hit = hit[np.isclose(hit.temperature.astype(float), temperature)]
    return None if hit.empty else hit.iloc[0]


def plot_temperature_metrics(df, path: str | Path | None = None, title: str | None = None):
    """Four panels, one per metric, against temperature: the mean across seeds as a line, the
    min..max range across seeds shaded, each seed as a faint dot; greedy decoding as a black
    square at T = 0 (with its min..max as an error bar), and the reference text's mean (if the
    table has one) as a dashed line. Saved atomically with :func:`charlm.plots.save_figure`
    when ``path`` is given. Returns the figure.
    """
    from .plots import plt, save_figure

    summary = summarise(df)
    sampled = summary[summary.decoding == "sample"].sort_values("temperature")
    greedy = summary[summary.decoding == "greedy"]
    ref = summary[summary.decoding == "reference"]
    dots = df[df.decoding == "sample"]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, metric in zip(axes.flat, METRICS):
        t = sampled.temperature.to_numpy(float)
        ax.fill_between(t, sampled[f"{metric}_min"], sampled[f"{metric}_max"], alpha=0.2,
                        color="C0", label="min..max across seeds")
        ax.plot(t, sampled[f"{metric}_mean"], "o-", color="C0", label="sampling (mean)")
        ax.plot(dots.temperature, dots[metric], ".", color="C0", alpha=0.35, markersize=4)
        if len(greedy):
            g = greedy.iloc[0]
            err = [[g[f"{metric}_mean"] - g[f"{metric}_min"]],
                   [g[f"{metric}_max"] - g[f"{metric}_mean"]]]
            ax.errorbar([0.0], [g[f"{metric}_mean"]], yerr=err, fmt="s", color="black",
                        capsize=3, label="greedy (argmax), T = 0")
        if len(ref) and not math.isnan(ref.iloc[0][f"{metric}_mean"]):
            ax.axhline(ref.iloc[0][f"{metric}_mean"], ls="--", color="C3", lw=1,
                       label="held-out text, mean (entropy: the model's, at T = 1)")
        ax.set_ylabel(METRIC_LABELS[metric], fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("temperature T")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8,
               bbox_to_anchor=(0.5, -0.02))
    n_seeds = df[df.decoding == "sample"].seed.nunique()
    fig.suptitle(title or f"Generated text against temperature ({n_seeds} seeds each)")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    if path is not None:
        save_figure(fig, path)
    return fig


def checkpoint_temperature_table(ckpt, prime_file: str | None = None,
                                 reference_file: str | None = None, **kwargs):
    """:func:`temperature_table` for a :class:`~charlm.checkpoint.Checkpoint`.

    The word vocabulary comes from the checkpoint's training corpus (``ckpt.config.corpus``);
    primes from ``prime_file`` (default ``dickens_test.txt``, as ``--diff_temp``) and the
    reference windows from ``reference_file`` (default: the same file; ``""`` for none).
    Other keyword arguments go to :func:`temperature_table`.
    """
    from .runs import TEST_FILE, corpus_text

    prime_file = prime_file or TEST_FILE
    prime_text = corpus_text(prime_file)
    if reference_file is None:
        reference = prime_text
    else:
        reference = corpus_text(reference_file) if reference_file else None
    vocab = word_vocabulary(corpus_text(ckpt.config.corpus))
    return temperature_table(ckpt.model, vocab, prime_text, reference=reference, **kwargs)


__all__ = ["COLUMNS", "DEFAULT_SEEDS", "DEFAULT_TEMPS", "METRICS", "checkpoint_temperature_table",
           "generated_words", "in_vocab_share", "plot_temperature_metrics", "repeated_ngram_share",
           "sample_bpc", "sample_metrics", "sampling_entropy", "summarise", "summary_row",
           "temperature_table",
           "word_vocabulary", "words"]
