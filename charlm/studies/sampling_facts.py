"""What part 4.4 and Appendix D state about the samples: facts and verdicts, no sentences.

The notebooks' markdown says it; the values come from here (``{eval}`a.lo.distinct```), each
number shown as the report shows numbers (:mod:`charlm.facts`). A verdict is a small function
with its rule in its docstring and the threshold it uses named here, so the text can state the
rule with the same number:

- a text **keeps to a few words** when fewer than :data:`FEW_WORDS` of its words are distinct
  (the type-token ratio; real Dickens, in windows of the samples' length, has about 0.8);
- a text **loops** when at least :data:`LOOP_SHARE` of its word 4-grams repeat an earlier one
  of the same text: it comes back to the same phrase over and over. Few distinct words alone
  is not a loop: a text can cycle through a few frequent words in ever new orders;
- a text is **near-random** when fewer than :data:`NEAR_RANDOM` of its words are words of the
  training text;
- a measure **rises** (or falls) with a setting when the rank correlation of its means with the
  setting is above (below) zero;
- the samples are **as surprising as real text** where the mean own BPC of the samples is
  within :data:`Z_BAND` standard errors of the real text's (:func:`matching_range`).

:func:`temperature_facts` gathers the measured study's facts (:class:`TemperatureFacts`),
:func:`cut_facts` those of the cuts, :func:`samples_facts` those of a set of samples
(:class:`SamplesFacts`), :func:`distribution_facts` those of the next-character distribution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import VOCAB
from ..facts import Int, Num, count, num, share
from .temperature import (COURSEWORK_TEMPS, OPEN_THRESHOLD, MeasuredStudy, SampleSet,
                          distribution_entropy, next_char_distribution, open_context, summary_row)

FEW_WORDS = 0.5  # keeps to a few words: fewer than this share of its words distinct
LOOP_SHARE = 0.5  # loops: at least this share of its word 4-grams repeat an earlier one
NEAR_RANDOM = 0.5  # near-random: fewer than this share of its words in the training text
Z_BAND = 2.0  # as surprising as real text: mean own BPC within this many standard errors


class Phrase(str):
    """A string that shows itself as it is (no quotes, no escapes), in JupyterLab and in the
    HTML alike: for a priming string's ``repr`` or a short phrase a verdict returns."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's text/plain
        p.text(str(self))


class Code(Phrase):
    """A string shown as inline code (a priming string's ``repr``, a character): its markdown is
    a code span, so the build and JupyterLab show it as it is, quotes, spaces and escapes
    included."""

    def _repr_markdown_(self) -> str:
        fence = "`" * (max((len(m) for m in re.findall("`+", self)), default=0) + 1)
        pad = " " if self.startswith("`") or self.endswith("`") else ""
        return f"{fence}{pad}{self}{pad}{fence}"


def temp(value: float) -> Num:
    """A temperature or a cut as the report writes it (``0.1``, ``2``, ``40``)."""
    return num(value, "g")


def listing(values: Sequence[float]) -> Phrase:
    """Settings as a list: ``2, 5, 10, 20, 40``."""
    return Phrase(", ".join(f"{v:g}" for v in values))


# ---------------------------------------------------------------------------------------------
# verdicts


def few_words(distinct_share: float, threshold: float = FEW_WORDS) -> bool | None:
    """Does a text keep to a few words (fewer than ``threshold`` of its words distinct)? None
    when it has no words."""
    return None if math.isnan(distinct_share) else bool(distinct_share < threshold)


def loops(repeat_share: float, threshold: float = LOOP_SHARE) -> bool | None:
    """Does a text loop (at least ``threshold`` of its word 4-grams repeat an earlier one)? None
    when it has no 4-gram."""
    return None if math.isnan(repeat_share) else bool(repeat_share >= threshold)


def near_random(known_share: float, threshold: float = NEAR_RANDOM) -> bool | None:
    """Is a text near-random (fewer than ``threshold`` of its words in the training text)? None
    when it has no words."""
    return None if math.isnan(known_share) else bool(known_share < threshold)


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (ties get their average rank); NaN with fewer than 3 finite
    pairs, 0 when either side is constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return math.nan
    rx, ry = (pd.Series(v[keep]).rank().to_numpy() for v in (x, y))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def verdict(flag: bool | None) -> Phrase:
    """``holds``, ``does not hold`` or ``cannot be checked``: whether a claim holds here."""
    return Phrase({True: "holds", False: "does not hold", None: "cannot be checked"}[flag])


def loop_phrase(flag: bool | None) -> Phrase:
    """``loops``, ``does not loop``, or ``has too few words to tell``."""
    return Phrase({True: "loops", False: "does not loop", None: "has too few words to tell"}[flag])


def matching_range(sampled: pd.DataFrame, ref, z: float = Z_BAND,
                   points: int = 2001) -> tuple[float, float] | None:
    """The temperatures at which the samples are as surprising to the model as real text, to
    the precision the samples allow: where the mean own BPC of the samples differs from the
    real text's by less than ``z`` standard errors of the difference (mean and standard
    deviation interpolated linearly between the sampled temperatures; the standard error from
    both rows' standard deviations and sample counts). None when no temperature qualifies or
    the own BPC does not rise strictly with T (no single crossing)."""
    ts = sampled.temperature.to_numpy(float)
    own, sd = sampled.bpc_mean.to_numpy(float), sampled.bpc_std.to_numpy(float)
    if len(own) < 2 or not np.all(np.diff(own) > 0) or np.isnan(sd).any():
        return None
    grid = np.linspace(ts[0], ts[-1], points)
    n = float(sampled.n_seeds.min())
    se = np.sqrt(np.interp(grid, ts, sd) ** 2 / n + ref["bpc_std"] ** 2 / ref["n_seeds"])
    inside = np.abs(np.interp(grid, ts, own) - ref["bpc_mean"]) <= z * se
    if not inside.any():
        return None
    return float(grid[inside].min()), float(grid[inside].max())


def band_phrase(band: tuple[float, float] | None) -> Phrase:
    """Where the samples are as surprising as real text: ``between about T = 0.83 and 1.05``,
    or ``at none of the temperatures measured``."""
    if band is None:
        return Phrase("at none of the temperatures measured")
    return Phrase(f"between about T = {band[0]:.2f} and {band[1]:.2f}")


def loosening_phrase(kinds: Mapping[str, bool | None]) -> Phrase:
    """What the checks of the cuts found (``kinds``: a cut's name -> whether its known words
    fall and its own BPC rises as it loosens): ``both measures move back towards uncut
    sampling``, or which cuts do not, or which cannot be told."""
    bad = [k for k, ok in kinds.items() if ok is False]
    unknown = [k for k, ok in kinds.items() if ok is None]
    if bad:
        return Phrase("the measures do not both move back towards uncut sampling for "
                      + " and ".join(bad))
    if unknown:
        return Phrase("too few cuts were measured to tell for " + " and ".join(unknown))
    return Phrase("both measures move back towards uncut sampling")


# ---------------------------------------------------------------------------------------------
# facts


@dataclass(frozen=True)
class Row:
    """One row of a :func:`~charlm.studies.temperature.summarise` table: means (and ranges)
    over its ``n`` samples, as the report shows them."""

    t: Num  # temperature (NaN for real text)
    cut: Num  # the cut's k or p (NaN without one)
    n: Int
    known: Num  # share of the words found in the training text
    known_min: Num
    known_max: Num
    distinct: Num  # share of the words that are distinct
    distinct_min: Num
    distinct_max: Num
    repeat: Num  # share of word 4-grams repeating an earlier one
    repeat_max: Num
    bpc: Num  # the model's own bits per character on the samples
    entropy: Num  # bits per generated character of the distribution sampled from
    chars: Num  # distinct characters


def row(r) -> Row:
    """:class:`Row` of a summary row."""
    cut = r["cut"] if "cut" in r else math.nan
    return Row(temp(r["temperature"]), temp(cut), count(r["n_seeds"]),
               share(r["in_vocab_mean"]), share(r["in_vocab_min"]), share(r["in_vocab_max"]),
               share(r["distinct_words_mean"]), share(r["distinct_words_min"]),
               share(r["distinct_words_max"]), share(r["repeat_4gram_mean"]),
               share(r["repeat_4gram_max"]), num(r["bpc_mean"], ".2f"),
               num(r["entropy_bits_mean"], ".2f"), num(r["distinct_chars_mean"], ".0f"))


@dataclass(frozen=True)
class CutFacts:
    """Top-k and top-p at T = 1 against uncut sampling: the tightest and loosest cut of each
    kind, the rank correlations of the cut with the mean share of known words and with the mean
    own BPC, and whether both move back towards uncut sampling as the cut loosens (known
    words fall, own BPC rises)."""

    uncut: Row
    k_tight: Row
    k_loose: Row
    p_tight: Row
    p_loose: Row
    n_k: Int
    n_p: Int
    ks: Phrase
    ps: Phrase
    k_rho_known: Num
    k_rho_bpc: Num
    p_rho_known: Num
    p_rho_bpc: Num
    k_holds: Phrase
    p_holds: Phrase
    loosening: Phrase
    k_repeat_max: Num  # the most repeated 4-grams in any top-k sample
    p_repeat_max: Num


def _cut_holds(rows: pd.DataFrame) -> tuple[float, float, bool | None]:
    cut = rows.cut.to_numpy(float)
    rho_known, rho_bpc = (rank_correlation(cut, rows[c]) for c in ("in_vocab_mean", "bpc_mean"))
    ok = None if math.isnan(rho_known) or math.isnan(rho_bpc) else bool(rho_known < 0 < rho_bpc)
    return rho_known, rho_bpc, ok


def cut_facts(summary: pd.DataFrame) -> CutFacts:
    """:class:`CutFacts` of a summary that has uncut rows at T = 1 and top-k and top-p rows."""
    uncut = summary_row(summary, temperature=1.0)
    kinds = {kind: summary[summary.decoding == kind].sort_values("cut") for kind in ("top_k", "top_p")}
    if uncut is None or any(rows.empty for rows in kinds.values()):
        raise ValueError("cut_facts needs uncut samples at T = 1 and both kinds of cut")
    k, p = kinds["top_k"], kinds["top_p"]
    k_known, k_bpc, k_ok = _cut_holds(k)
    p_known, p_bpc, p_ok = _cut_holds(p)
    rho = lambda v: num(v, "+.2f")  # noqa: E731
    return CutFacts(
        uncut=row(uncut), k_tight=row(k.iloc[0]), k_loose=row(k.iloc[-1]), p_tight=row(p.iloc[0]),
        p_loose=row(p.iloc[-1]), n_k=count(len(k)), n_p=count(len(p)), ks=listing(k.cut),
        ps=listing(p.cut), k_rho_known=rho(k_known), k_rho_bpc=rho(k_bpc),
        p_rho_known=rho(p_known), p_rho_bpc=rho(p_bpc), k_holds=verdict(k_ok),
        p_holds=verdict(p_ok), loosening=loosening_phrase({"top-k": k_ok, "top-p": p_ok}),
        k_repeat_max=share(k.repeat_4gram_max.max()), p_repeat_max=share(p.repeat_4gram_max.max()))


@dataclass(frozen=True)
class TemperatureFacts:
    """The measured study of 4.4 (and Appendix D), as the text states it.

    ``lo``, ``hi``: the lowest and highest sampled temperature; ``greedy``; ``ref``: real
    held-out text; ``t1``: sampling at T = 1. ``words_*``: the mean number of words of a sample
    there. The verdicts, each by the rule of the module docstring: ``varied`` (distinct
    characters and distinct words both rise with T), ``few`` (the coldest keeps to a few
    words), ``lo_loops`` and ``greedy_loops`` (as phrases, and ``lo_loops_holds`` for the
    reference's "loops"), ``near_random`` (the hottest); ``band``: where the samples are as
    surprising as real text; ``cuts``: :class:`CutFacts`."""

    n_seeds: Int
    n_temps: Int
    predict_len: Int
    temps: Phrase
    lo: Row
    hi: Row
    greedy: Row
    ref: Row
    t1: Row | None  # None when T = 1 was not sampled
    words_lo: Num
    words_hi: Num
    words_ref: Num
    rho_chars: Num
    rho_words: Num
    varied: Phrase
    few: Phrase
    lo_loops: Phrase
    lo_loops_holds: Phrase
    greedy_loops: Phrase
    near_random: Phrase
    band: Phrase
    cuts: CutFacts | None  # None when no cut was measured
    few_share: Num = share(FEW_WORDS)
    loop_share: Num = share(LOOP_SHARE)
    near_random_share: Num = share(NEAR_RANDOM)
    z: Num = num(Z_BAND, "g")


def temperature_facts(study: MeasuredStudy) -> TemperatureFacts:
    """:class:`TemperatureFacts` of a :func:`~charlm.studies.temperature.measured_study`."""
    summary, table = study.summary, study.table
    sampled = summary[summary.decoding == "sample"].sort_values("temperature")
    ref, greedy = summary_row(summary, "reference"), summary_row(summary, "greedy")
    if len(sampled) < 2 or ref is None or greedy is None:
        raise ValueError("temperature_facts needs two temperatures, greedy and real-text rows")
    lo, hi = sampled.iloc[0], sampled.iloc[-1]
    words = table[table.decoding == "sample"].groupby("temperature").n_words.mean()
    temps = sampled.temperature.to_numpy(float)
    rho_chars = rank_correlation(temps, sampled.distinct_chars_mean)
    rho_words = rank_correlation(temps, sampled.distinct_words_mean)
    varied = (None if math.isnan(rho_chars) or math.isnan(rho_words)
              else bool(rho_chars > 0 and rho_words > 0))
    lo_loops = loops(lo.repeat_4gram_mean)
    t1 = summary_row(summary, temperature=1.0)
    return TemperatureFacts(
        n_seeds=count(sampled.n_seeds.max()), n_temps=count(len(sampled)),
        predict_len=count(study.predict_len), temps=listing(temps), lo=row(lo), hi=row(hi),
        greedy=row(greedy), ref=row(ref), t1=None if t1 is None else row(t1),
        words_lo=num(words.iloc[0], ".0f"), words_hi=num(words.iloc[-1], ".0f"),
        words_ref=num(table[table.decoding == "reference"].n_words.mean(), ".0f"),
        rho_chars=num(rho_chars, "+.2f"), rho_words=num(rho_words, "+.2f"),
        varied=verdict(varied),
        few=verdict(few_words(lo.distinct_words_mean)), lo_loops=loop_phrase(lo_loops),
        lo_loops_holds=verdict(lo_loops), greedy_loops=loop_phrase(loops(greedy.repeat_4gram_mean)),
        near_random=verdict(near_random(hi.in_vocab_mean)),
        band=band_phrase(matching_range(sampled, ref)),
        cuts=cut_facts(summary) if summary.decoding.isin(["top_k", "top_p"]).any() else None)


@dataclass(frozen=True)
class SamplesFacts:
    """A set of samples (:class:`~charlm.studies.temperature.SampleSet`): how they were drawn,
    and the coldest one's words (``cold_*``: its temperature, words, distinct words and the
    share of its word 4-grams that repeat an earlier one)."""

    prime: Phrase  # the priming string's repr
    prime_len: Int
    chunk_len: Int
    n_chunks: Int
    predict_len: Int
    seed: Num
    n: Int  # samples
    t_min: Num
    t_max: Num
    cold_t: Num
    cold_words: Int
    cold_distinct: Int
    cold_repeat: Num
    ks: Phrase  # the top-k cuts sampled (at T = 1)
    ps: Phrase
    n_cuts: Int


def samples_facts(s: SampleSet) -> SamplesFacts:
    """:class:`SamplesFacts` of a sample set."""
    m = s.measures.sort_values("temperature")
    cold = m.iloc[0]
    return SamplesFacts(
        prime=Code(repr(s.prime)), prime_len=count(len(s.prime)), chunk_len=count(s.chunk_len),
        n_chunks=count(s.n_chunks), predict_len=count(s.predict_len), seed=num(s.seed, ".0f"),
        n=count(len(m)), t_min=temp(m.temperature.min()), t_max=temp(m.temperature.max()),
        cold_t=temp(cold.temperature), cold_words=count(cold.n_words),
        cold_distinct=count(round(cold.distinct_words * cold.n_words)) if cold.n_words else count(0),
        cold_repeat=share(cold.repeat_4gram), ks=listing(list(s.top_k)),
        ps=listing(list(s.top_p)), n_cuts=count(len(s.top_k) + len(s.top_p)))


@dataclass(frozen=True)
class DistributionFacts:
    """The model's next-character distribution after ``context`` at the coursework's
    temperatures: the ``labels`` (likeliest first, at T = 1) and ``probs`` (per temperature)
    to draw, the characters added to the priming string to reach an open choice (``added``),
    the likeliest character's probability (``top``) and the whole distribution's entropy
    (``entropy``) at each temperature, against a uniform choice (``uniform`` bits)."""

    context: str
    labels: list[str]
    probs: dict[float, np.ndarray]
    n_labels: Int
    added: Phrase
    likeliest: Phrase
    top: Phrase
    entropy: Phrase
    uniform: Num
    n_symbols: Int
    threshold: Num


def distribution_facts(model, prime: str, temps: Sequence[float] = COURSEWORK_TEMPS,
                       threshold: float = OPEN_THRESHOLD) -> DistributionFacts:
    """:class:`DistributionFacts` after ``prime`` extended until no character has more than
    ``threshold`` probability (:func:`~charlm.studies.temperature.open_context`)."""
    context = open_context(model, prime, threshold)
    labels, probs = next_char_distribution(model, context, temps)
    entropy = distribution_entropy(model, context, temps)
    extra = context[len(prime):]
    return DistributionFacts(
        context=context, labels=labels, probs=probs, n_labels=count(len(labels)),
        added=Phrase(f"{extra!r} was added" if extra else "nothing was added"),
        likeliest=Code(repr(labels[0])),
        top=Phrase(", ".join(f"{p[0]:.2f} at T = {t:g}" for t, p in probs.items())),
        entropy=Phrase(", ".join(f"{h:.2f} bits at T = {t:g}" for t, h in entropy.items())),
        uniform=num(math.log2(len(VOCAB)), ".2f"), n_symbols=count(len(VOCAB)),
        threshold=share(threshold))


__all__ = ["FEW_WORDS", "LOOP_SHARE", "NEAR_RANDOM", "Z_BAND", "CutFacts", "DistributionFacts",
           "Code", "Phrase", "Row", "SamplesFacts", "TemperatureFacts", "band_phrase",
           "cut_facts", "distribution_facts", "few_words", "listing", "loop_phrase", "loops",
           "loosening_phrase", "matching_range", "near_random", "rank_correlation", "row",
           "samples_facts", "temp", "temperature_facts", "verdict"]
