"""Inside the model (notebook 07 and Appendix G), computed once for both.

- :func:`recording`: one pass of the best model over a test file that records its states, the
  unit search on them, and the default model's bits for every character. The states
  themselves are not kept (a 2 x 256 LSTM's cell and hidden states over the 180,415
  characters of the large test file take 740 MB): the result holds what the report shows,
  the bits of both models, the search, each unit's usual range and the activation of each
  property's best unit over the whole file.
- :func:`control_search`: the same search on an untrained model of the best model's shape.
- :func:`kinds_table`: the bits of both models and of the n-gram yardstick summed by kind of
  character (the n-gram is the one :func:`charlm.studies.ladder.report_yardsticks` chose on
  validation, not fitted again).
- :func:`inside_study` gathers them; :func:`kind_facts`, :func:`unit_facts`,
  :func:`passage_facts` and :func:`detail_facts` are the values the prose states, and the
  small verdict functions (:func:`direction`, :func:`lead`, :func:`line_course`,
  :func:`verdict`) each decide one word of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..baselines import ngram_name, ngram_order
from ..checkpoint import Checkpoint
from ..corpora import TEST_LARGE_FILE, corpus_text
from ..errors import CharlmError
from ..facts import Int, Num, bits, count, num, share
from ..inside import (FOUND_MARGIN, KIND_PLURALS, KINDS, PROPERTIES, States, bits_by_kind,
                      char_kinds, found_units, in_parentheses, label, record_states, surprisal,
                      unit_name, unit_search, untrained_like)
from ..memo import memo
from ..runs import torch_threads
from .ladder import report_yardsticks
from .models import ReportModels

DEFAULT, BEST = "default model", "best model"  # the column names of the kinds table
MIN_SHARE = 0.01  # "per character" comparisons leave out kinds rarer than this share of the text
SCALE_QUANTILE = 0.99  # a unit's usual range: this quantile of its absolute activation


# ---------------------------------------------------------------- the results kept


@dataclass
class Recording:
    """What the report keeps of one pass of each model over a text: the bits each paid for
    every character (NaN first, as :func:`charlm.inside.surprisal`), the best model's unit
    search (:func:`charlm.inside.unit_search`), each unit's usual range (:func:`unit_scales`),
    the activation of each property's best unit over the whole text (unit -> values), the
    shape of the states (for the units' names) and :attr:`charlm.inside.States.cell_check`."""

    default_bits: np.ndarray
    best_bits: np.ndarray
    search: pd.DataFrame
    scales: np.ndarray
    traces: dict[int, np.ndarray]
    n_cell: int
    hidden_size: int
    cell_check: float

    @property
    def n_units(self) -> int:
        return 2 * self.n_cell

    def name(self, j: int) -> str:
        """The unit's name, ``"cell 2.37"`` (:func:`charlm.inside.unit_name`)."""
        return unit_name(j, self.n_cell, self.hidden_size)


def unit_scales(states: States, quantile: float = SCALE_QUANTILE, block: int = 64) -> np.ndarray:
    """Each unit's usual range (cell units first, then hidden): the ``quantile`` of its
    absolute activation over the text, 1 where that is 0; ``block`` columns at a time."""
    q = np.concatenate([np.quantile(np.abs(m[:, k:k + block]), quantile, axis=0)
                        for m in (states.cell, states.hidden) for k in range(0, m.shape[1], block)])
    return np.where(q > 0, q, 1.0)


def keep(states: States, labels: dict[str, np.ndarray], default_bits: np.ndarray) -> Recording:
    """What :class:`Recording` keeps of ``states`` (searched for the properties ``labels``)
    and of the default model's bits."""
    search = unit_search(states, labels)
    traces = {int(j): states.column(int(j)).copy() for j in search["unit"]}
    return Recording(np.asarray(default_bits), states.bits, search, unit_scales(states), traces,
                     states.cell.shape[1], states.hidden_size, states.cell_check)


@memo
def recording(best: Checkpoint, default: Checkpoint, corpus: str = TEST_LARGE_FILE) -> Recording:
    """Record the best model's states over the corpus ``corpus`` in one pass, search them for
    each property's best unit, and score the corpus with the default model."""
    text = corpus_text(corpus)
    return keep(record_states(best.model, text), label(text), surprisal(default.model, text))


@memo
def control_search(best: Checkpoint, seed: int, corpus: str = TEST_LARGE_FILE) -> pd.DataFrame:
    """The unit search on an untrained model of the best model's shape, its weights drawn
    with ``seed`` (:func:`charlm.inside.untrained_like`): the control."""
    text = corpus_text(corpus)
    return unit_search(record_states(untrained_like(best.model, seed), text), label(text))


@memo
def kinds_table(best: Checkpoint, default: Checkpoint, corpus: str = TEST_LARGE_FILE
                ) -> tuple[pd.DataFrame, str]:
    """:func:`charlm.inside.bits_by_kind` of the default model, the best model and the n-gram
    of the report's yardsticks (its order chosen on the validation split) on ``corpus``, and
    the n-gram's name."""
    rec = recording(best, default, corpus)
    rows, choice = report_yardsticks()
    ngram = next(r for r in rows if r.name == ngram_name(choice.order))
    df = bits_by_kind({DEFAULT: rec.default_bits, BEST: rec.best_bits, ngram.name: ngram.bits[corpus]},
                      char_kinds(corpus_text(corpus)))
    return df, ngram.name


@dataclass
class Inside:
    """Everything the section and its appendix show, from the results kept."""

    corpus: str
    text: str
    recording: Recording
    control: pd.DataFrame
    found: pd.DataFrame  # charlm.inside.found_units
    kinds: pd.DataFrame  # charlm.inside.bits_by_kind
    ngram: str  # the n-gram's name, as in the columns of ``kinds``


def inside_study(models: ReportModels, seed: int, threads: int = 1,
                 corpus: str = TEST_LARGE_FILE) -> Inside:
    """The recording, the control and the kinds for the report's models, with ``threads``
    torch threads (0: one per core), read from the results kept or computed once."""
    with torch_threads(threads):
        rec = recording(models.best, models.coursework, corpus)
        control = control_search(models.best, seed, corpus)
        kinds, ngram = kinds_table(models.best, models.coursework, corpus)
    return Inside(corpus, corpus_text(corpus), rec, control, found_units(rec.search, control),
                  kinds, ngram)


# ---------------------------------------------------------------- verdicts


def direction(difference: float) -> str:
    """``"more"`` when the best model pays more bits (a positive difference, best minus
    default), else ``"fewer"``."""
    return "more" if difference > 0 else "fewer"


def lead(saving: float) -> str:
    """Where the best model stands against the n-gram on one kind of character: ``"ahead
    of"`` when it saves bits there (a positive saving, n-gram minus best), else ``"behind"``."""
    return "ahead of" if saving > 0 else "behind"


def verdict(found: bool) -> str:
    """``"found"`` or ``"not found"``: the unit search's verdict for one property."""
    return "found" if found else "not found"


def line_course(r: float, found: bool) -> str:
    """How the line-position unit's activation runs along a line, from the sign of its
    correlation ``r`` with the position: it rises (r > 0) or falls (r < 0) along each line
    and turns back at each newline; when the unit is not found, it follows the position no
    better than chance units do."""
    if not found:
        return "follows the position in the line no more closely than the control's best unit"
    return ("rises along each line and drops at each newline" if r > 0 else
            "falls along each line and jumps back up at each newline")


# ---------------------------------------------------------------- facts for the prose


def saving_by_kind(df: pd.DataFrame, worse: str, better: str) -> pd.DataFrame:
    """Per kind (the total row left out): the bits per character ``better`` saves against
    ``worse`` and the share of the whole saving that kind accounts for."""
    kinds = df[df["kind"] != "all"]
    per_char = kinds[f"{worse} BPC"] - kinds[f"{better} BPC"]
    total = per_char * kinds["chars"]
    return pd.DataFrame({"kind": kinds["kind"], "saving per char": per_char,
                         "share of saving": total / total.sum(), "chars": kinds["chars"]})


@dataclass
class KindFacts:
    """Where the bits go (the answer of notebook 07 and Figure "bits by kind"): the best
    model's bits on the first letters of words and on the letters inside them; its saving
    against the default model (where the largest part of it is, and the steepest fall per
    character among kinds of at least ``min_share`` of the text); against the n-gram, the
    kinds it saves most and least on, per character among those kinds (``*_by``: n-gram minus
    best model; ``*_lead``: :func:`lead`), and how many characters before the one it predicts
    the n-gram sees (``ngram_context``)."""

    first_chars: Num
    first_bits: Num
    first_bpc: Num
    first_ratio: Num
    inner_chars: Num
    inner_bits: Num
    inner_bpc: Num
    saving: Num
    top: str
    top_share: Num
    top_from: Num
    top_to: Num
    steep: str
    steep_from: Num
    steep_to: Num
    min_share: Num
    ngram: str
    ngram_context: Int
    ahead: str
    ahead_by: Num
    ahead_lead: str
    behind: str
    behind_by: Num
    behind_lead: str
    digits: Int


def kind_facts(df: pd.DataFrame, ngram: str, default: str = DEFAULT, best: str = BEST,
               min_share: float = MIN_SHARE) -> KindFacts:
    """The :class:`KindFacts` of a :func:`charlm.inside.bits_by_kind` table with the columns
    of ``default``, ``best`` and ``ngram``."""
    rows = df.set_index("kind")
    first, inner = rows.loc["first letter of a word"], rows.loc["letter inside a word"]
    gain = saving_by_kind(df, default, best).set_index("kind")
    common = gain["chars"] >= min_share * gain["chars"].sum()
    top = gain["share of saving"].idxmax()
    steep = gain[common]["saving per char"].idxmax()
    vs = saving_by_kind(df, ngram, best).set_index("kind")[common]["saving per char"]
    ahead, behind = vs.idxmax(), vs.idxmin()

    def two(x: float) -> Num:
        return num(x, ".2f")

    return KindFacts(
        first_chars=share(first["share of chars"]), first_bits=share(first[f"{best} share of bits"]),
        first_bpc=two(first[f"{best} BPC"]),
        first_ratio=num(first[f"{best} share of bits"] / first["share of chars"], ".1f"),
        inner_chars=share(inner["share of chars"]), inner_bits=share(inner[f"{best} share of bits"]),
        inner_bpc=two(inner[f"{best} BPC"]),
        saving=two(rows.loc["all", f"{default} BPC"] - rows.loc["all", f"{best} BPC"]),
        top=KIND_PLURALS[top], top_share=share(gain.loc[top, "share of saving"]),
        top_from=two(rows.loc[top, f"{default} BPC"]), top_to=two(rows.loc[top, f"{best} BPC"]),
        steep=KIND_PLURALS[steep], steep_from=two(rows.loc[steep, f"{default} BPC"]),
        steep_to=two(rows.loc[steep, f"{best} BPC"]), min_share=share(min_share), ngram=ngram,
        ngram_context=count(ngram_order(ngram) - 1),
        ahead=KIND_PLURALS[ahead], ahead_by=num(vs[ahead], "+.2f"), ahead_lead=lead(vs[ahead]),
        behind=KIND_PLURALS[behind],
        behind_by=num(vs[behind], "+.2f"), behind_lead=lead(vs[behind]),
        digits=count(rows.loc["digit", "chars"]))


@dataclass
class UnitFact:
    """One property's best unit: its name and what the name says (``state``: cell or hidden,
    ``layer`` from 1, ``index`` in the layer from 0), its correlation ``r`` with the property
    and the sign the views multiply it by, the control's best unit and correlation, and the
    verdict (:func:`verdict`); ``course``: :func:`line_course` (said of the line position)."""

    property: str
    name: str
    state: str
    layer: Int
    index: Int
    r: Num
    sign: str
    control_name: str
    control_r: Num
    found: bool
    verdict: str
    course: str


@dataclass
class UnitFacts:
    """The unit search's verdicts, one :class:`UnitFact` per property, how many were found
    and the margin a unit must beat the control's best by."""

    quotation: UnitFact
    line: UnitFact
    word: UnitFact
    parentheses: UnitFact
    n_found: Int
    n_properties: Int
    margin: Num


FIELDS = {"inside a quotation": "quotation", "characters since newline": "line",
          "inside a word": "word", "inside parentheses": "parentheses"}


def _unit_fact(row: pd.Series) -> UnitFact:
    state, place = row["name"].split(" ")
    layer, index = place.split(".")
    found = bool(row["found"])
    return UnitFact(row["property"], row["name"], state, count(int(layer)), count(int(index)),
                    num(row["r"], "+.2f"), "+1" if row["r"] >= 0 else "-1", row["control name"],
                    num(row["control r"], "+.2f"), found, verdict(found), line_course(row["r"], found))


def unit_facts(found: pd.DataFrame, margin: float = FOUND_MARGIN) -> UnitFacts:
    """The :class:`UnitFacts` of :func:`charlm.inside.found_units` (one row per property of
    :data:`charlm.inside.PROPERTIES`)."""
    if set(found["property"]) != set(FIELDS) or set(FIELDS) != set(PROPERTIES):
        raise CharlmError(f"unit facts need the properties {', '.join(FIELDS)}")
    units = {FIELDS[row["property"]]: _unit_fact(row) for _, row in found.iterrows()}
    return UnitFacts(**units, n_found=count(int(found["found"].sum())), n_properties=count(len(found)),
                     margin=num(margin, ".1f"))


def passage(text: str, offset: int, length: int) -> tuple[int, int]:
    """``(start, stop)`` of the passage: ``length`` characters from ``offset``, moved back to
    fit a shorter text."""
    if length < 1:
        raise CharlmError(f"the passage needs at least 1 character, got {length}")
    start = max(0, min(offset, len(text) - length))
    return start, min(len(text), start + length)


def _word_around(text: str, i: int) -> str:
    """The word (letters and the apostrophes inside it) holding ``text[i]``."""
    def inside(k: int) -> bool:
        return 0 <= k < len(text) and (text[k].isalpha() or (
            text[k] == "'" and 0 < k < len(text) - 1 and text[k - 1].isalpha() and text[k + 1].isalpha()))

    lo, hi = i, i
    while inside(lo - 1):
        lo -= 1
    while inside(hi + 1):
        hi += 1
    return text[lo:hi + 1]


def where(text: str, i: int) -> str:
    """Which character ``text[i]`` is, in a few words: ``"x" of "inexplicably"`` for a letter,
    else the character (a line break, a space, a mark) after the word before it."""
    if text[i].isalpha():
        return f"\u201c{text[i]}\u201d of \u201c{_word_around(text, i)}\u201d"
    what = {"\n": "the line break", " ": "the space"}.get(text[i], f"\u201c{text[i]}\u201d")
    before = text[:i].rstrip(" \n")
    k = len(before) - 1
    while k >= 0 and not before[k].isalpha():
        k -= 1
    return f"{what} after \u201c{_word_around(text, k)}\u201d" if k >= 0 else what


@dataclass
class Difference:
    """One character of the passage where the two models differ: where it is (:func:`where`),
    the size of the difference in bits and its :func:`direction` for the best model."""

    where: str
    size: Num
    direction: str


@dataclass
class PassageFacts:
    """The coloured passage: where it is, the mean bits of each model over it and over its
    first letters of words, the two largest differences (best minus default), and the mean
    difference on its line breaks (``newline_size``, ``newline_direction``; NaN if none)."""

    start: Int
    stop: Int
    length: Int
    line_breaks: Int
    default_mean: Num
    best_mean: Num
    first_default: Num
    first_best: Num
    largest: Difference
    second: Difference
    newline_size: Num
    newline_direction: str


def passage_facts(text: str, start: int, stop: int, default_bits: np.ndarray,
                  best_bits: np.ndarray) -> PassageFacts:
    """The :class:`PassageFacts` of ``text[start:stop]`` (``*_bits``: of the whole text, one
    per character, NaN first)."""
    piece = text[start:stop]
    d, b = np.asarray(default_bits)[start:stop], np.asarray(best_bits)[start:stop]
    diff = b - d
    order = np.argsort(-np.nan_to_num(np.abs(diff), nan=-1.0), kind="stable")
    first = char_kinds(text)[start:stop] == KINDS.index("first letter of a word")
    newline = np.array([c == "\n" for c in piece], dtype=bool)
    nl = float(np.nanmean(diff[newline])) if newline.any() else math.nan

    def two(x: float) -> Num:
        return num(x, ".2f")

    def differ(k: int) -> Difference:
        return Difference(where(text, start + int(k)), two(abs(diff[k])), direction(diff[k]))

    return PassageFacts(count(start), count(stop), count(stop - start), count(int(newline.sum())),
                        two(np.nanmean(d)), two(np.nanmean(b)), two(np.nanmean(d[first])),
                        two(np.nanmean(b[first])), differ(order[0]), differ(order[1]),
                        two(abs(nl)), direction(nl))


@dataclass
class DetailFacts:
    """Appendix G's values: the n-gram (its name, its order chosen on the validation split
    and its BPC there, its BPC on the file; the order that would score best on the file
    itself and that BPC), the best compressor on the file, the file's longest line, the
    share of its characters inside parentheses, the largest difference between the rebuilt
    and the returned final cell state, the file's length, the margin of "found" and the
    quantile that gives a unit's usual range."""

    ngram: str
    ngram_order: Int
    ngram_valid: Num
    ngram_bpc: Num
    file_best: str
    file_best_bpc: Num
    compressor: str
    compressor_bpc: Num
    line_width: Int
    parentheses: Num
    cell_check: Num
    chars: Int
    margin: Num
    scale_quantile: Num


def detail_facts(study: Inside) -> DetailFacts:
    """The :class:`DetailFacts` of a study (the yardsticks read from the results kept)."""
    rows, choice = report_yardsticks()
    on_file = {r.name: r.bpc[study.corpus] for r in rows}
    ngrams = {r.name: r.bpc[study.corpus] for r in rows if ngram_order(r.name) is not None}
    compressors = {r.name: r.bpc[study.corpus] for r in rows if r.bits is None}
    file_best, compressor = min(ngrams, key=ngrams.get), min(compressors, key=compressors.get)
    return DetailFacts(
        ngram=study.ngram, ngram_order=count(choice.order), ngram_valid=bits(choice.valid_bpc[choice.order]),
        ngram_bpc=bits(on_file[study.ngram]), file_best=file_best, file_best_bpc=bits(ngrams[file_best]),
        compressor=compressor, compressor_bpc=bits(compressors[compressor]),
        line_width=count(max(len(line) for line in study.text.split("\n"))),
        parentheses=share(in_parentheses(study.text).mean(), 1),
        cell_check=num(study.recording.cell_check, ".0e"), chars=count(len(study.text)),
        margin=num(FOUND_MARGIN, ".1f"), scale_quantile=share(SCALE_QUANTILE))


__all__ = ["BEST", "DEFAULT", "DetailFacts", "Difference", "Inside", "KindFacts", "MIN_SHARE",
           "PassageFacts", "Recording", "UnitFact", "UnitFacts", "control_search", "detail_facts",
           "direction", "inside_study", "keep", "kind_facts", "kinds_table", "lead", "line_course",
           "passage", "passage_facts", "recording", "saving_by_kind", "unit_facts", "unit_scales",
           "verdict", "where"]
