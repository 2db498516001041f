"""Do samples stay on the rails? How often a model's samples derail, from two kinds of prime.

A sample **derails** (:func:`derails`) when its generated text holds a character that never
occurs in the training text (:func:`unseen_characters`: the model was never shown one, so
drawing it means the distribution has gone astray), or a run of :data:`JUNK_RUN` or more
symbols that are neither letters, digits, whitespace nor ordinary punctuation
(:data:`ORDINARY`). A **capital run** (:func:`capital_run`) is :data:`CAPITAL_RUN` or more
capital letters in a row within the first :data:`CAPITAL_WINDOW` characters of prime and
sample: Dickens has them (chapter titles, a shout), but rarely; :func:`capital_run_rate` says
how often a window of real text holds one, and :func:`prime_capital_run_rate` how often a window
that starts with the same character as the prime does (far more often: a capital ``A`` opens
chapter titles as well as sentences).

:func:`sanity_table` samples each model from two kinds of prime, a single character
(:data:`ONE_CHAR_PRIME`, the command line's default prime, so the model starts from its zero
state) and :func:`~charlm.studies.temperature.pick_prime` of a held-out text (10 characters of
real text, one per seed), at a few temperatures and many seeds; :func:`sanity_summary` counts
the derailed samples, the capital runs and the words the training text never uses per model,
prime and temperature. The measure counts what it names: a sample full of made-up words does
not derail.

:func:`rails` is the report's measure, kept (:mod:`charlm.memo`) and read by notebook 06 and
Appendix E; :func:`charlm.studies.best_facts.rails_facts` gives the facts their text states.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from ..checkpoint import Checkpoint
from ..corpora import TEST_FILE, corpus_text
from ..data import VOCAB
from ..memo import memo
from ..model import CharRNN
from ..runs import torch_threads
from ..sample import check_temperature, generate
from .temperature import generated_words, pick_prime, word_vocabulary

ORDINARY = frozenset(".,;:'\"!?()-")  # punctuation that is not junk
JUNK_RUN = 4  # this many junk symbols in a row derail a sample
CAPITAL_RUN = 6  # this many capitals in a row make a capital run
CAPITAL_WINDOW = 60  # ... when they fall within this many characters of the start
ONE_CHAR_PRIME = "A"
SANITY_TEMPS: tuple[float, ...] = (0.8, 1.0)
SANITY_SEEDS = 60
SANITY_LEN = 200
PRIME_KINDS = ("one character", "test text")
PRIME_LEN = 10  # characters of test text in a prime of the second kind (pick_prime's default)
LEVEL = 0.05  # a capital-run count agrees with a rate when Binomial reaches it this often
COURSEWORK, BEST = "coursework (4.1)", "best"  # the models of the report's measure
SANITY_SAMPLES = len(PRIME_KINDS) * len(SANITY_TEMPS) * SANITY_SEEDS  # per model, by default

_CAPITALS = re.compile(f"[A-Z]{{{CAPITAL_RUN},}}")


def unseen_characters(train_text: str) -> frozenset[str]:
    """The symbols of the vocabulary that never occur in ``train_text``."""
    return frozenset(VOCAB) - frozenset(train_text)


def _junk(ch: str) -> bool:
    return not (ch.isalnum() or ch.isspace() or ch in ORDINARY)


def junk_run(text: str) -> int:
    """The length of the longest run of junk symbols (not letter, digit, whitespace or
    :data:`ORDINARY` punctuation) in ``text``."""
    longest = run = 0
    for ch in text:
        run = run + 1 if _junk(ch) else 0
        longest = max(longest, run)
    return longest


def derails(sample: str, unseen: frozenset[str]) -> bool:
    """Whether ``sample`` holds a character of ``unseen`` or a junk run of :data:`JUNK_RUN`."""
    return any(ch in unseen for ch in sample) or junk_run(sample) >= JUNK_RUN


def capital_run(text: str, window: int = CAPITAL_WINDOW) -> bool:
    """Whether the first ``window`` characters of ``text`` hold :data:`CAPITAL_RUN` or more
    capitals in a row."""
    return _CAPITALS.search(text[:window]) is not None


def capital_run_rate(text: str, window: int = CAPITAL_WINDOW) -> float:
    """The share of the consecutive ``window``-character windows of ``text`` that hold a capital
    run: the rate real text sets for :func:`capital_run`."""
    n = len(text) // window
    if n == 0:
        return float("nan")
    return sum(capital_run(text[i * window:(i + 1) * window], window) for i in range(n)) / n


def prime_capital_run_rate(text: str, prime: str = ONE_CHAR_PRIME,
                           window: int = CAPITAL_WINDOW) -> float:
    """The share of the ``window``-character windows of ``text`` that start where ``prime``
    occurs and hold a capital run: how often real text that begins as a sample begins does so.
    A model primed with ``prime`` and no other context, if it matched the text, would start
    capital runs at this rate (a capital ``A`` opens chapter titles as well as sentences)."""
    starts = [m.start() for m in re.finditer(re.escape(prime), text)]
    if not starts:
        return float("nan")
    return sum(capital_run(text[i:i + window], window) for i in starts) / len(starts)


def binomial_tail(count: int, n: int, rate: float) -> float:
    """P(X >= count) for X ~ Binomial(n, rate): how surprising ``count`` or more hits are."""
    return float(sum(math.comb(n, k) * rate ** k * (1 - rate) ** (n - k) for k in range(count, n + 1)))


def sanity_table(
    models: Mapping[str, CharRNN],
    train_text: str,
    prime_text: str,
    temps: Iterable[float] = SANITY_TEMPS,
    seeds: Iterable[int] | int = SANITY_SEEDS,
    predict_len: int = SANITY_LEN,
    threads: int | None = 1,
) -> pd.DataFrame:
    """One sample per (model, kind of prime, temperature, seed), and whether it derailed.

    ``models``: name -> model. The primes are :data:`ONE_CHAR_PRIME`, and
    ``pick_prime(prime_text, seed)`` (a different 10 characters of real text per seed). Each
    sample is ``generate(model, prime, predict_len, T, seed=seed)``, so any row can be drawn
    again. Columns: ``model``, ``prime_kind``, ``temperature``, ``seed``, ``prime``,
    ``sample`` (the generated text), ``derailed`` (:func:`derails`, with the characters that
    ``train_text`` never shows), ``capital_run`` (:func:`capital_run` of prime + sample),
    ``words`` (the generated words, :func:`~charlm.studies.temperature.generated_words`) and
    ``unknown_words`` (those of them that ``train_text`` never uses).
    """
    temps = [check_temperature(t) for t in temps]
    seeds = list(range(seeds) if isinstance(seeds, int) else seeds)
    unseen = unseen_characters(train_text)
    vocab = word_vocabulary(train_text)
    rows = []
    with torch_threads(threads) if threads is not None else contextlib.nullcontext():
        for name, model in models.items():
            for kind in PRIME_KINDS:
                for t in temps:
                    for seed in seeds:
                        prime = ONE_CHAR_PRIME if kind == PRIME_KINDS[0] else \
                            pick_prime(prime_text, seed=seed)
                        sample = generate(model, prime, predict_len, t, seed=seed)[len(prime):]
                        said = generated_words(prime, sample)
                        rows.append({"model": name, "prime_kind": kind, "temperature": t,
                                     "seed": seed, "prime": prime, "sample": sample,
                                     "derailed": derails(sample, unseen),
                                     "capital_run": capital_run(prime + sample),
                                     "words": len(said),
                                     "unknown_words": sum(w not in vocab for w in said)})
    return pd.DataFrame(rows)


def sanity_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, kind of prime, temperature) of a :func:`sanity_table`: ``samples``, the
    number ``derailed``, the number with a ``capital_run``, and ``unknown_share``, the share of
    the generated words that the training text never uses; in the table's order."""
    groups = table.groupby(["model", "prime_kind", "temperature"], sort=False)
    out = groups.agg(samples=("seed", "size"), derailed=("derailed", "sum"),
                     capital_runs=("capital_run", "sum"), words=("words", "sum"),
                     unknown_words=("unknown_words", "sum")).reset_index()
    out["unknown_share"] = out.unknown_words / out.words.where(out.words > 0)
    return out


# ---------------------------------------------------------------- the report's measure


@dataclass(frozen=True)
class Rails:
    """The report's measure: :func:`sanity_summary` of the coursework's model and the best,
    and the training text's capital-run rates (all windows; those that start at the prime)."""

    summary: pd.DataFrame
    train_rate: float
    prime_rate: float


@memo
def rails(coursework: Checkpoint, best: Checkpoint, seeds: int = SANITY_SEEDS) -> Rails:
    """:func:`sanity_table` of the two runs (``seeds`` samples per model, kind of prime and
    temperature; primes from ``dickens_test.txt``, which is not scored), summarised."""
    train_text = corpus_text(best.config.corpus)
    table = sanity_table({COURSEWORK: coursework.model, BEST: best.model}, train_text,
                         corpus_text(TEST_FILE), seeds=seeds)
    return Rails(sanity_summary(table), capital_run_rate(train_text),
                 prime_capital_run_rate(train_text))


def capital_runs_agree(summary: pd.DataFrame, rate: float, level: float = LEVEL) -> bool:
    """Whether, primed with one character, every model's capital runs at every temperature
    are a count that ``Binomial(samples, rate)`` reaches with probability ``level`` or more
    (``rate``: the training text's, :func:`prime_capital_run_rate`)."""
    one = summary[summary.prime_kind == PRIME_KINDS[0]]
    return all(binomial_tail(int(r.capital_runs), int(r.samples), rate) >= level
               for r in one.itertuples())


__all__ = ["BEST", "CAPITAL_RUN", "CAPITAL_WINDOW", "COURSEWORK", "JUNK_RUN", "LEVEL",
           "ONE_CHAR_PRIME", "ORDINARY", "PRIME_KINDS", "PRIME_LEN", "Rails", "SANITY_LEN",
           "SANITY_SAMPLES", "SANITY_SEEDS", "SANITY_TEMPS", "binomial_tail", "capital_run",
           "capital_run_rate", "capital_runs_agree", "derails", "junk_run",
           "prime_capital_run_rate", "rails", "sanity_summary", "sanity_table",
           "unseen_characters"]
