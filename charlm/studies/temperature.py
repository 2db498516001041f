"""Temperature: samples at several temperatures, and what is measured on them.

Priming and samples
-------------------
A sample starts from a priming string. :func:`pick_prime` cuts a text into 200-character
chunks, picks one with a seed and keeps its first 10 characters, as ``--diff_temp`` does.
:func:`samples_at` then generates one continuation per temperature with
:func:`charlm.sample.generate` (the one sampling loop), all with the same seed, so what differs
between them is the temperature alone.

Three lists of temperatures serve three purposes: :data:`COURSEWORK_TEMPS`, the temperatures
``--diff_temp`` samples at (those of the reference write-up); :data:`MEASURED_TEMPS`, the ten
temperatures of the measured study below, denser where the text changes fastest; and
:func:`temperature_grid`, an evenly spaced grid for the temperature slider.

:func:`next_char_distribution` gives the model's next-character distribution after a context
at several temperatures, :func:`distribution_entropy` the entropy of the whole distribution,
and :func:`open_context` a context where that choice is open enough to show the effect.

Measures
--------
A *word* is a match of ``[A-Za-z']+``, lowercased (:func:`words`); the vocabulary is the set of
words of the training corpus (:func:`word_vocabulary`). Which words of a sample count as
generated: the text ``prime + sample`` is split into words, and a word counts when it ends
inside the sample (so a word the prime started and the model finished counts; words wholly
inside the prime do not); the last word is dropped when it touches the end of the text, since
generation may have cut it short (:func:`generated_words`).

:func:`sample_metrics` measures one sample:

``distinct_chars``
    The number of different characters in the sample (the prime excluded).
``in_vocab``
    The share of generated word occurrences that occur in the training text (a word repeated
    ten times counts ten times); NaN when there are no words.
``distinct_words``
    The share of the generated word occurrences that are distinct: ``|set(words)| / n_words``
    (the type-token ratio). Text that keeps coming back to a few frequent words scores low
    (real Dickens, in windows of 300 characters, about 0.8); NaN when there are no words. It
    falls slowly with the number of words, so compare samples of the same length.
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

The last five are :data:`METRICS`, the measures the study plots; :data:`MEASURES` adds
``distinct_chars``. :func:`sample_measures` applies :func:`sample_metrics` to a few samples of
one prime (one row per temperature).

The table
---------
:func:`temperature_table` generates one sample per (temperature, seed) and measures it, each
seed with its own priming string. Greedy (argmax) decoding is measured too, one row per seed
(the seeds then differ only in their prime), with ``decoding == "greedy"`` and
``temperature == 0.0`` (char-rnn's "temperature 0"). Optionally real held-out text is measured
in the same way (``decoding == "reference"``, temperature NaN): the in-vocabulary and
repetition rates real Dickens has, and the model's BPC and T = 1 entropy on it, as lines to
compare the curves with. :func:`summarise` gives the mean, spread and range of each measure
across the seeds, :func:`summary_row` one of its rows, and :func:`checkpoint_temperature_table`
the table of a saved model.

Cutting the tail
----------------
Top-k and top-p (:func:`charlm.sample.sampling_probs`) are measured next to temperature: with
``top_ks`` and ``top_ps``, :func:`temperature_table` adds one sample per (cut, seed) at T = 1, with
``decoding`` ``"top_k"`` or ``"top_p"`` and the cut's value in ``cut``, measured in the same way
(the entropy is that of the cut distribution). :func:`truncation_samples` gives one sample per
value of a cut for the static sliders.

Generation dominates the cost (one model call per character); the measures add one
whole-sequence forward call and two BPC passes per sample. Generation runs on one torch thread:
one character at a time is too little work to share between threads, which would spend their
time waiting for each other.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..config import TrainConfig
from ..corpora import TEST_FILE, corpus_text
from ..data import VOCAB, encode
from ..errors import CharlmError, DataError
from ..evaluate import bpc
from ..memo import memo
from ..model import CharRNN
from ..runs import cached_run, torch_threads
from ..sample import check_temperature, check_top_k, check_top_p, generate, sampling_probs

COURSEWORK_TEMPS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)  # --diff_temp, as the reference write-up
# Ten temperatures from 0.1 to 2.0, denser where the text changes fastest: the measured study.
MEASURED_TEMPS: tuple[float, ...] = (0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0, 1.25, 1.5, 2.0)
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
DEFAULT_PREDICT_LEN = 300  # characters generated per sample (about 50 words of Dickens)
NGRAM = 4
OPEN_THRESHOLD = 0.8  # open_context: extend the context while one character is more likely
TOP_CHARS = 12  # characters shown of a next-character distribution
METRICS = ("in_vocab", "distinct_words", "repeat_4gram", "bpc", "entropy_bits")
MEASURES = ("distinct_chars", *METRICS)
METRIC_LABELS = {
    "distinct_chars": "distinct characters",
    "in_vocab": "share of generated words\nfound in the training text",
    "distinct_words": "share of generated words\nthat are distinct",
    "repeat_4gram": "share of repeated word 4-grams",
    "bpc": "model's own BPC on its sample",
    "entropy_bits": "entropy of softmax(logits / T)\n(bits per generated character)",
}
COLUMNS = ("decoding", "temperature", "cut", "seed", "prime", "sample", "n_words", "n_4grams",
           *MEASURES, "seconds")
# The controls that cut the tail of the sampling distribution, and the values the study measures.
TRUNCATIONS = ("top_k", "top_p")
MEASURED_TOP_KS: tuple[int, ...] = (2, 5, 10, 20, 40)
MEASURED_TOP_PS: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 0.95)

# What the temperature column holds for rows that were not sampled at a temperature.
_TEMP_COLUMN = {"greedy": 0.0, "reference": math.nan}
_WORD = re.compile(r"[A-Za-z']+")


# ---------------------------------------------------------------------------------------------
# priming strings, samples, next-character distributions


def pick_prime(text: str, seed: int, chunk_len: int = 200, prime_len: int = 10) -> str:
    """Cut ``text`` into ``chunk_len``-character chunks, pick one at random (seeded) and return
    its first ``prime_len`` characters."""
    n_chunks = len(text) // chunk_len
    if n_chunks == 0:
        raise DataError(f"the text has {len(text)} characters; at least {chunk_len} are needed")
    idx = random.Random(seed).randrange(n_chunks)
    return text[idx * chunk_len: idx * chunk_len + prime_len]


def samples_at(
    model: CharRNN, prime_str: str, temps: Sequence[float], predict_len: int = 200, seed: int = 0,
    top_k: int = 0, top_p: float = 1.0,
) -> dict[float, str]:
    """One sample of ``predict_len`` characters per temperature (same seed for each), with the
    tail cut by ``top_k`` and ``top_p`` when set (see :func:`charlm.sample.sampling_probs`)."""
    temps = [check_temperature(t) for t in temps]
    return {t: generate(model, prime_str, predict_len, t, seed=seed, top_k=top_k,
                        top_p=top_p)[len(prime_str):]
            for t in temps}


def truncation_samples(
    model: CharRNN, prime_str: str, control: str, values: Sequence[float], predict_len: int = 200,
    seed: int = 0, temperature: float = 1.0,
) -> dict[float, str]:
    """One sample per value of ``control`` (``"top_k"`` or ``"top_p"``) at ``temperature``, all
    with the same seed, so what differs between them is the cut alone."""
    if control not in TRUNCATIONS:
        raise CharlmError(f"control must be one of {', '.join(TRUNCATIONS)}, got {control!r}")
    return {v: generate(model, prime_str, predict_len, temperature, seed=seed,
                        **{control: v})[len(prime_str):]
            for v in values}


def temperature_grid(t_min: float = 0.1, t_max: float = 2.0, step: float = 0.1) -> list[float]:
    """Temperatures from ``t_min`` to ``t_max`` inclusive in steps of ``step``, rounded to
    the step's decimals (0.1, 0.2, ... 2.0 rather than 0.30000000000000004)."""
    t_min, t_max, step = (check_temperature(t) for t in (t_min, t_max, step))
    if t_max < t_min:
        raise CharlmError(f"temperature grid: t_max {t_max} is below t_min {t_min}")
    n = int(np.floor((t_max - t_min) / step + 1e-9)) + 1
    if n > 1000:
        raise CharlmError(f"temperature grid: {n} values; at most 1000")
    decimals = max(0, -int(np.floor(np.log10(step))) + 1)
    return [round(t_min + i * step, decimals) for i in range(n)]


@torch.no_grad()
def next_char_distribution(
    model: CharRNN, context: str, temps: Sequence[float], top: int = TOP_CHARS
) -> tuple[list[str], dict[float, np.ndarray]]:
    """The model's next-character distribution after ``context`` at several temperatures.

    Returns the ``top`` most likely characters at T=1 and, per temperature, their
    probabilities ``softmax(logits / T)``.
    """
    model.eval()
    logits, _ = model(encode(context, what="context")[None, :])
    last = logits[0, -1].double()
    order = torch.argsort(last, descending=True)[:top]
    probs = {float(t): torch.softmax(last / check_temperature(t), -1)[order].numpy() for t in temps}
    return [VOCAB[i] for i in order.tolist()], probs


def entropy_of(probs: np.ndarray) -> float:
    """Entropy in bits of a probability vector (zero probabilities contribute nothing)."""
    p = np.asarray(probs, float)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def distribution_entropy(model: CharRNN, context: str,
                         temps: Sequence[float]) -> dict[float, float]:
    """Entropy in bits of the whole next-character distribution after ``context`` at each
    temperature: how many bits of choice it leaves (at most ``log2(len(VOCAB))``)."""
    _, full = next_char_distribution(model, context, temps, top=len(VOCAB))
    return {t: entropy_of(p) for t, p in full.items()}


def open_context(model, prime: str, threshold: float = OPEN_THRESHOLD, max_extra: int = 30) -> str:
    """A context where the model's choice of the next character is open, to show what the
    temperature does: ``prime`` extended by its most likely next characters (at T = 1) until
    no character has more than ``threshold`` probability (or ``max_extra`` were added)."""
    context = prime
    for _ in range(max_extra + 1):
        labels, probs = next_char_distribution(model, context, [1.0], top=1)
        if probs[1.0][0] <= threshold:
            break
        context += labels[0]
    return context


# ---------------------------------------------------------------------------------------------
# words and n-grams


def words(text: str) -> list[str]:
    """The words of ``text``: matches of ``[A-Za-z']+``, lowercased."""
    return [m.group().lower() for m in _WORD.finditer(text)]


def word_vocabulary(text: str) -> frozenset[str]:
    """The set of :func:`words` of ``text`` (e.g. of the training corpus)."""
    return frozenset(words(text))


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


def distinct_share(word_list: Sequence[str]) -> float:
    """Share of the word occurrences in ``word_list`` that are distinct, ``|set| / len`` (the
    type-token ratio; NaN if there are none). A text looping on a few words scores low."""
    if not word_list:
        return math.nan
    return len(set(word_list)) / len(word_list)


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
                     temperature: float | None, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """Entropy in bits of the distribution each generated character was drawn from:
    ``softmax(logits / temperature)``, cut by ``top_k`` and ``top_p`` when set
    (:func:`charlm.sample.sampling_probs`).

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
    probs = sampling_probs(logits[0, len(prime) - 1:].cpu(), temperature, top_k, top_p)
    logp = torch.log(probs.clamp_min(1e-300))  # a cut character (p = 0) adds 0 * finite = 0
    return (-(probs * logp).sum(-1) / math.log(2)).numpy()


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
                   vocab: frozenset[str], top_k: int = 0, top_p: float = 1.0) -> dict:
    """The :data:`MEASURES` (and word counts) of one ``sample`` generated after ``prime``.

    ``temperature=None`` marks a greedy sample (entropy 0); ``top_k`` and ``top_p`` the cut
    it was sampled with (for its entropy).
    """
    gen_words = generated_words(prime, sample)
    return {
        "n_words": len(gen_words),
        "n_4grams": max(0, len(gen_words) - NGRAM + 1),
        "distinct_chars": len(set(sample)),
        "in_vocab": in_vocab_share(gen_words, vocab),
        "distinct_words": distinct_share(gen_words),
        "repeat_4gram": repeated_ngram_share(gen_words, NGRAM),
        "bpc": sample_bpc(model, prime, sample),
        "entropy_bits": float(sampling_entropy(model, prime, sample, temperature, top_k,
                                               top_p).mean())
        if sample else math.nan,
    }


def sample_measures(model: CharRNN, prime: str, samples: Mapping[float, str],
                    vocab: frozenset[str]) -> pd.DataFrame:
    """:func:`sample_metrics` of each of ``samples`` (temperature -> continuation of ``prime``,
    as :func:`samples_at` returns): one row per temperature, with a ``temperature`` column, in
    the order of ``samples``."""
    rows = [{"temperature": float(t), **sample_metrics(model, prime, s, t, vocab)}
            for t, s in samples.items()]
    return pd.DataFrame(rows, columns=["temperature", "n_words", "n_4grams", *MEASURES])


# ---------------------------------------------------------------------------------------------
# the table and its summary


def temperature_table(
    model: CharRNN,
    vocab: frozenset[str],
    prime_text: str,
    temps: Iterable[float] = MEASURED_TEMPS,
    seeds: Iterable[int] = DEFAULT_SEEDS,
    predict_len: int = DEFAULT_PREDICT_LEN,
    prime_len: int = 10,
    greedy: bool = True,
    reference: str | None = None,
    threads: int | None = 1,
    top_ks: Iterable[int] = (),
    top_ps: Iterable[float] = (),
):
    """Generate and measure one sample per (temperature, seed), plus greedy and reference rows,
    and one per (cut, seed) for each of ``top_ks`` and ``top_ps``.

    The prime for seed ``s`` is :func:`pick_prime` of ``prime_text`` with that seed (as
    ``--diff_temp`` picks it: the first ``prime_len`` characters of a random 200-character
    chunk); the sample is ``generate(model, prime, predict_len, T, seed=s)``, so every row can
    be regenerated from its seed. ``vocab`` is :func:`word_vocabulary` of the training text.
    With ``greedy``, one argmax sample per seed is added; with ``reference`` (a held-out text),
    one real window of ``prime_len + predict_len`` characters per seed. Each value of
    ``top_ks`` (``top_ps``) adds one sample per seed at T = 1 with that cut, with ``decoding``
    ``"top_k"`` (``"top_p"``) and the value in ``cut`` (NaN in the other rows).

    Returns a ``pandas.DataFrame`` with the columns :data:`COLUMNS`, one row per sample, sorted
    by decoding (sample, greedy, reference), temperature and seed. ``seconds`` is the time spent
    generating and measuring that row.

    ``threads`` torch threads are used meanwhile (``None``: leave the setting alone); one by
    default, since generating one character at a time is too little work to share.
    """
    with torch_threads(threads) if threads is not None else contextlib.nullcontext():
        return _temperature_table(model, vocab, prime_text, temps, seeds, predict_len,
                                  prime_len, greedy, reference, top_ks, top_ps)


def _temperature_table(model, vocab, prime_text, temps, seeds, predict_len, prime_len, greedy,
                       reference, top_ks=(), top_ps=()):
    temps = [check_temperature(t) for t in temps]
    cuts = [("top_k", check_top_k(k)) for k in top_ks] + [("top_p", check_top_p(p)) for p in top_ps]
    seeds = list(seeds)
    if not temps and not greedy:
        raise DataError("temperature_table needs at least one temperature or greedy=True")
    primes = {s: pick_prime(prime_text, seed=s, prime_len=prime_len) for s in seeds}
    rows = []

    def measure(decoding: str, temp: float | None, seed: int, prime: str, sample: str,
                started: float, cut: dict | None = None) -> None:
        """Append one row; ``temp`` is the distribution's temperature (None: argmax)."""
        cut = cut or {}
        row = {"decoding": decoding, "temperature": _TEMP_COLUMN.get(decoding, temp),
               "cut": next(iter(cut.values()), math.nan), "seed": seed, "prime": prime,
               "sample": sample}
        row.update(sample_metrics(model, prime, sample, temp, vocab, **cut))
        row["seconds"] = time.perf_counter() - started
        rows.append(row)

    for temp in temps:
        for seed in seeds:
            started = time.perf_counter()
            text = generate(model, primes[seed], predict_len, temp, seed=seed)
            measure("sample", temp, seed, primes[seed], text[len(primes[seed]):], started)
    for control, value in cuts:
        for seed in seeds:
            started = time.perf_counter()
            text = generate(model, primes[seed], predict_len, 1.0, seed=seed, **{control: value})
            measure(control, 1.0, seed, primes[seed], text[len(primes[seed]):], started,
                    {control: value})
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
    order = {"sample": 0, "top_k": 1, "top_p": 2, "greedy": 3, "reference": 4}
    df = df.sort_values(["decoding", "temperature", "cut", "seed"],
                        key=lambda c: c.map(order) if c.name == "decoding" else c,
                        kind="stable").reset_index(drop=True)
    return df


def summarise(df):
    """Mean, standard deviation, min and max of each of the :data:`MEASURES` across seeds.

    One row per (decoding, temperature, cut) of a :func:`temperature_table`, in its order; columns
    ``<measure>_mean``, ``<measure>_std``, ``<measure>_min``, ``<measure>_max`` and
    ``n_seeds``. The standard deviation is the sample one (ddof=1; NaN for a single seed).
    """
    keys = ["decoding", "temperature", "cut"] if "cut" in df.columns else ["decoding", "temperature"]
    groups = df.groupby(keys, sort=False, dropna=False)
    out = groups[list(MEASURES)].agg(["mean", "std", "min", "max"])
    out.columns = [f"{metric}_{stat}" for metric, stat in out.columns]
    out.insert(0, "n_seeds", groups.size())
    return pd.DataFrame(out).reset_index()


def summary_row(summary, decoding: str = "sample", temperature: float | None = None,
                cut: float | None = None):
    """The row of a :func:`summarise` table for ``decoding`` (at ``temperature`` when sampling,
    with ``cut`` for a top-k or top-p row); None when the table has no such row."""
    hit = summary[summary.decoding == decoding]
    if temperature is not None:
        hit = hit[np.isclose(hit.temperature.astype(float), temperature)]
    if cut is not None:
        hit = hit[np.isclose(hit.cut.astype(float), cut)]
    return None if hit.empty else hit.iloc[0]


def training_vocabulary(ckpt) -> frozenset[str]:
    """:func:`word_vocabulary` of the training corpus of a
    :class:`~charlm.checkpoint.Checkpoint` (``ckpt.config.corpus``)."""
    return word_vocabulary(corpus_text(ckpt.config.corpus))


def checkpoint_temperature_table(ckpt, prime_file: str | None = None,
                                 reference_file: str | None = None, **kwargs):
    """:func:`temperature_table` for a :class:`~charlm.checkpoint.Checkpoint`.

    The word vocabulary comes from the checkpoint's training corpus
    (:func:`training_vocabulary`); primes from ``prime_file`` (default ``dickens_test.txt``, as
    ``--diff_temp``) and the reference windows from ``reference_file`` (default: the same
    file; ``""`` for none). Other keyword arguments go to :func:`temperature_table`.
    """
    prime_file = prime_file or TEST_FILE
    prime_text = corpus_text(prime_file)
    if reference_file is None:
        reference = prime_text
    else:
        reference = corpus_text(reference_file) if reference_file else None
    return temperature_table(ckpt.model, training_vocabulary(ckpt), prime_text,
                             reference=reference, **kwargs)


# ---------------------------------------------------------------------------------------------
# the report's results, computed once (4.4 and Appendix D read the same entries)


@dataclass(frozen=True, eq=False)
class MeasuredStudy:
    """The measured study of the model of ``config``: one row per sample (``table``, as
    :func:`temperature_table` makes it, with greedy and real-text rows and the cuts) and its
    :func:`summarise` (``summary``); ``predict_len`` characters per sample."""

    config: TrainConfig
    table: pd.DataFrame
    summary: pd.DataFrame
    predict_len: int


def measured_study(cfg: TrainConfig, temps: Sequence[float] = MEASURED_TEMPS,
                   n_seeds: int = len(DEFAULT_SEEDS), predict_len: int = DEFAULT_PREDICT_LEN,
                   top_ks: Sequence[int] = MEASURED_TOP_KS,
                   top_ps: Sequence[float] = MEASURED_TOP_PS) -> MeasuredStudy:
    """:func:`checkpoint_temperature_table` of the run of ``cfg`` (trained if the cache lacks
    it) with seeds ``0 .. n_seeds - 1``, and its summary; kept on disk (:mod:`charlm.memo`), so
    4.4 and Appendix D compute it once. The arguments are put in one form first (floats for
    temperatures and p, ints for the rest), so that equal settings find the same entry."""
    return _measured_study(cfg, tuple(float(t) for t in temps), int(n_seeds), int(predict_len),
                           tuple(int(k) for k in top_ks), tuple(float(p) for p in top_ps))


@memo
def _measured_study(cfg, temps, n_seeds, predict_len, top_ks, top_ps) -> MeasuredStudy:
    table = checkpoint_temperature_table(cached_run(cfg), temps=temps, seeds=range(n_seeds),
                                         predict_len=predict_len, top_ks=top_ks, top_ps=top_ps)
    return MeasuredStudy(cfg, table, summarise(table), predict_len)


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Samples of the model of ``config`` after one priming string, all with one seed, so what
    differs between them is the setting alone: ``samples`` maps a temperature to its
    continuation, and ``measures`` is their :func:`sample_measures`; ``top_k`` and ``top_p`` map
    each cut (at T = 1) to its continuation (empty when none was asked for). ``prime`` is
    :func:`pick_prime` of the test text with ``seed``: one of its ``n_chunks`` chunks of
    ``chunk_len`` characters."""

    config: TrainConfig
    prime: str
    seed: int
    predict_len: int
    n_chunks: int
    chunk_len: int
    samples: Mapping[float, str]
    measures: pd.DataFrame
    top_k: Mapping[int, str]
    top_p: Mapping[float, str]


def sample_set(cfg: TrainConfig, temps: Sequence[float], predict_len: int = 200,
               top_ks: Sequence[int] = (), top_ps: Sequence[float] = (),
               chunk_len: int = 200) -> SampleSet:
    """One sample per temperature of ``temps`` (and per cut of ``top_ks`` and ``top_ps``, at
    T = 1) after the priming string ``--diff_temp`` picks from the test text with the run's
    seed, each ``predict_len`` characters long and drawn with that seed; measured. Kept on disk
    like :func:`measured_study` (the samples of 4.4, and the sliders of Appendix D)."""
    return _sample_set(cfg, tuple(float(t) for t in temps), int(predict_len),
                       tuple(int(k) for k in top_ks), tuple(float(p) for p in top_ps),
                       int(chunk_len))


@memo
def _sample_set(cfg, temps, predict_len, top_ks, top_ps, chunk_len) -> SampleSet:
    model, text, seed = cached_run(cfg).model, corpus_text(TEST_FILE), cfg.seed
    prime = pick_prime(text, seed=seed, chunk_len=chunk_len)
    samples = samples_at(model, prime, temps, predict_len=predict_len, seed=seed)
    cuts = {c: truncation_samples(model, prime, c, values, predict_len, seed) if values else {}
            for c, values in (("top_k", top_ks), ("top_p", top_ps))}
    measures = sample_measures(model, prime, samples, word_vocabulary(corpus_text(cfg.corpus)))
    return SampleSet(cfg, prime, seed, predict_len, len(text) // chunk_len, chunk_len, samples,
                     measures, cuts["top_k"], cuts["top_p"])


__all__ = ["COLUMNS", "MeasuredStudy", "SampleSet", "measured_study", "sample_set", "COURSEWORK_TEMPS", "DEFAULT_SEEDS", "MEASURED_TEMPS", "MEASURED_TOP_KS",
           "MEASURED_TOP_PS", "MEASURES", "TRUNCATIONS", "truncation_samples",
           "METRICS", "checkpoint_temperature_table", "distribution_entropy", "entropy_of",
           "distinct_share", "generated_words", "in_vocab_share", "next_char_distribution", "open_context",
           "pick_prime", "repeated_ngram_share", "sample_bpc", "sample_measures",
           "sample_metrics", "samples_at", "sampling_entropy", "summarise", "summary_row",
           "temperature_grid", "temperature_table", "training_vocabulary", "word_vocabulary",
           "words"]
