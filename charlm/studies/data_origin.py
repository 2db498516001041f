"""Where the test files come from, read from the texts themselves.

- **The training file's novels.** :func:`split_novels` cuts the training text where the form
  of its chapter headings changes (:data:`HEADING_FORMS`: ``CHAPTER 12``, ``CHAPTER XII -
  TITLE``, or a Roman numeral alone on an indented line); a novel starts at its title lines
  (lines with no lower-case letter just above its first heading) or, without any, at that
  heading. Each novel is named by the character of :data:`NOVELS` that it mentions most: the
  files carry a title line for some novels only.
- **The test file's parts.** :func:`attribute` codes each line of a test text with a character
  n-gram (:class:`~charlm.baselines.KneserNey`) of each training novel and cuts the text into
  parts where the novel that codes the lines in the fewest bits changes: the cheapest labelling
  of the lines when every change of novel costs :data:`SWITCH_BITS` bits (Viterbi), so that a
  part is at least several lines long. Each part gets its novel, first character, share of the
  file, the chapter headings it holds and the names it shares with its novel only.
- **Overlap.** :func:`shared_passages` looks passages of the test text up in the training
  text word for word; :func:`containment` says whether the small test file is part of the
  large one.

:func:`data_origin` gathers these facts for the report's files (memoized); the setting section
states them and Appendix E refers to it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..baselines import KneserNey
from ..corpora import TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE, corpus_text
from ..facts import Int, Num, bits, count, share
from ..memo import memo

# The forms a chapter heading takes in these files (one per novel); group 1 is the number.
HEADING_FORMS = (
    re.compile(r"^CHAPTER (\d+)[ \t]*$", re.M),
    re.compile(r"^CHAPTER ([IVXLC]+) - \S.*$", re.M),
    re.compile(r"^  ([IVXLC]+)[ \t]*$", re.M),
)
# Dickens's novels, each with a character who appears in it only: how a stretch of text is
# named (knowledge of the novels, not of these files).
NOVELS = {"David Copperfield": "Peggotty", "The Mystery of Edwin Drood": "Jasper",
          "A Tale of Two Cities": "Lorry"}
# Each novel's model: a 3-gram learns a novel's spelling conventions (its quotes, indents and
# line ends) and common words, which carry over to its other chapters better than the phrases
# of longer contexts.
ORDER = 3
SWITCH_BITS = 300.0  # what a change of novel between two lines costs in the labelling
WINDOW = 100  # characters of a test passage looked up in the training text
STRIDE = 500  # characters between the starts of the passages looked up
NAME = re.compile(r"\b[A-Z][a-z]{2,}\b")
TOP_NAMES = 3  # names shown per part


@dataclass(frozen=True)
class Novel:
    """One novel of the training text: characters ``start`` to ``end`` (0-based, end excluded)
    and its chapter headings' numbers."""

    title: str
    start: int
    end: int
    chapters: tuple[str, ...]


@dataclass(frozen=True)
class Part:
    """One stretch of a test text and the training novel it comes from.

    ``first``: its first character, counting from 1; ``bpc``: bits per character of its own
    novel's n-gram on it, ``other_bpc`` of the best other novel's; ``chapters``: the headings
    it holds (e.g. ``"60 to 64"``, ``"none"``); ``names``: the names it shares with its novel
    and with no other training novel, most frequent first."""

    novel: str
    first: Int
    chars: Int
    share: Num
    bpc: Num
    other_bpc: Num
    chapters: str
    names: str


@dataclass(frozen=True)
class DataOrigin:
    """The facts of the setting's paragraph on the data (``{eval}`` values)."""

    novels: tuple[Novel, ...]  # of the training file
    n_novels: Int
    named_by: str  # the characters that name the novels: "Peggotty, Jasper and Lorry"
    order: Int  # of each novel's n-gram
    switch_bits: Int  # what a change of novel between two lines costs
    parts: tuple[Part, ...]  # of the large test file
    n_parts: Int
    named_parts: Int  # parts that use names found in their own training novel alone
    titles: str  # the parts' novels, in order of first appearance: "A, B and C"
    n_passages: Int  # passages of the large test file looked up in the training file
    window: Int
    stride: Int
    shared: Int  # how many of them the training file holds word for word
    small_chars: Int
    small_place: str  # see containment()
    small_share: Num  # the small file's length as a share of the large file's
    scores: str  # "are not independent" when one file holds the other, else "use different text"


def headings(text: str) -> list[tuple[int, int, str]]:
    """Every chapter heading of ``text``: ``(position, form, number)`` in order of position
    (``form``: its index in :data:`HEADING_FORMS`)."""
    found = [(m.start(), form, m.group(1)) for form, rx in enumerate(HEADING_FORMS)
             for m in rx.finditer(text)]
    return sorted(found)


def _title_start(text: str, heading: int, floor: int) -> int:
    """Where a novel whose first heading is at ``heading`` starts: at the first of the lines
    just above it that have no lower-case letter (its title; blank lines between them
    allowed), looking no further back than ``floor``; at the heading without such lines."""
    start, pos = heading, heading
    for line in reversed(text[floor:heading].split("\n")[:-1]):
        pos -= len(line) + 1
        if any(c.islower() for c in line):
            break
        if line.strip():
            start = pos
    return start


def split_novels(text: str, novels: dict[str, str] = NOVELS) -> list[Novel]:
    """The novels of ``text``, cut where the form of the chapter headings changes (see the
    module); each named by the entry of ``novels`` (title: character name) whose name it
    mentions most. A text with no heading is one untitled novel."""
    heads = headings(text)
    if not heads:
        return [Novel("", 0, len(text), ())]
    groups: list[list[tuple[int, int, str]]] = []
    for h in heads:
        if groups and groups[-1][-1][1] == h[1]:
            groups[-1].append(h)
        else:
            groups.append([h])
    starts = [0]
    for prev, group in zip(groups, groups[1:]):
        starts.append(_title_start(text, group[0][0], prev[-1][0] + 1))
    ends = starts[1:] + [len(text)]
    out = []
    for group, start, end in zip(groups, starts, ends):
        body = text[start:end]
        mentions = {title: body.count(name) for title, name in novels.items()}
        title = max(mentions, key=mentions.get) if any(mentions.values()) else ""
        out.append(Novel(title, start, end, tuple(h[2] for h in group)))
    return out


def line_bits(models: Sequence[KneserNey], text: str, order: int = ORDER
              ) -> tuple[np.ndarray, np.ndarray]:
    """The bits of each non-blank line of ``text`` (its newline included) under each model:
    ``(starts, bits)``, ``starts`` the lines' first characters and ``bits`` of shape
    ``(len(models), lines)``. The first character of the text is charged log2(100) bits."""
    per_char = np.stack([np.concatenate([[np.log2(100.0)], m.char_bits(text, order)])
                         for m in models])
    line_starts = np.r_[0, np.flatnonzero(np.frombuffer(text.encode("ascii"), np.uint8) == 10) + 1]
    line_starts = line_starts[line_starts < len(text)]
    sums = np.add.reduceat(per_char, line_starts, axis=1)
    ends = np.r_[line_starts[1:], len(text)]
    keep = np.array([bool(text[a:b].strip()) for a, b in zip(line_starts, ends)])
    return line_starts[keep], sums[:, keep]


def cheapest_labels(costs: np.ndarray, switch: float = SWITCH_BITS) -> np.ndarray:
    """The label of each column of ``costs`` (``(labels, items)``) that minimises the total
    cost plus ``switch`` for every change of label between neighbours (Viterbi)."""
    k, n = costs.shape
    if n == 0:
        return np.zeros(0, dtype=int)
    total = costs[:, 0].copy()
    back = np.zeros((k, n), dtype=int)
    for i in range(1, n):
        moved = total[None, :] + switch * (1 - np.eye(k))  # [to, from]
        back[:, i] = moved.argmin(axis=1)
        total = moved.min(axis=1) + costs[:, i]
    labels = np.zeros(n, dtype=int)
    labels[-1] = int(total.argmin())
    for i in range(n - 1, 0, -1):
        labels[i - 1] = back[labels[i], i]
    return labels


def chapter_span(numbers: Sequence[str]) -> str:
    """``"60 to 64"``, ``"XXIII"`` or ``"none"``: the chapter headings a part holds."""
    if not numbers:
        return "none"
    return numbers[0] if len(numbers) == 1 else f"{numbers[0]} to {numbers[-1]}"


def own_names(part: str, novel: str, others: Sequence[str], top: int = TOP_NAMES) -> str:
    """The capitalised words of ``part`` that ``novel`` holds and none of ``others`` does,
    most frequent first (at most ``top``), each with its count in ``part``."""
    theirs = set().union(*(NAME.findall(o) for o in others)) if others else set()
    mine = set(NAME.findall(novel)) - theirs
    found = [(n, c) for n, c in Counter(NAME.findall(part)).most_common() if n in mine]
    return ", ".join(f"{n} ({c})" for n, c in found[:top]) or "none"


def attribute(text: str, train: str, novels: Sequence[Novel], order: int = ORDER,
              switch: float = SWITCH_BITS) -> list[Part]:
    """The parts of ``text``, each given to the novel of ``novels`` (parts of ``train``) whose
    n-gram of ``order`` codes its lines in the fewest bits (see the module)."""
    bodies = [train[n.start:n.end] for n in novels]
    models = [KneserNey(b, order) for b in bodies]
    starts, costs = line_bits(models, text, order)
    labels = cheapest_labels(costs, switch)
    cuts = [0] + [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]] + [len(labels)]
    parts = []
    for a, b in zip(cuts, cuts[1:]):
        first = 0 if a == 0 else int(starts[a])
        last = len(text) if b == len(labels) else int(starts[b])
        label = int(labels[a])
        chunk = text[first:last]
        chars = max(last - first, 1)
        own = costs[label, a:b].sum() / chars
        other = min(costs[j, a:b].sum() for j in range(len(novels)) if j != label) / chars \
            if len(novels) > 1 else float("nan")
        chapters = [h[2] for h in headings(chunk)]
        names = own_names(chunk, bodies[label], [x for j, x in enumerate(bodies) if j != label])
        parts.append(Part(novels[label].title, count(first + 1), count(last - first),
                          share((last - first) / len(text)), bits(own), bits(other),
                          chapter_span(chapters), names))
    return parts


def shared_passages(test: str, train: str, window: int = WINDOW, stride: int = STRIDE) -> int:
    """How many of the ``window``-character passages of ``test`` that start every ``stride``
    characters occur word for word in ``train``."""
    return sum(test[i:i + window] in train for i in passage_starts(len(test), window, stride))


def passage_starts(length: int, window: int = WINDOW, stride: int = STRIDE) -> range:
    """Where the looked-up passages of a text of ``length`` characters start."""
    return range(0, max(length - window, 0) + 1, stride)


def containment(small: str, large: str) -> str:
    """Where ``small`` lies in ``large``: ``"the beginning of"``, ``"a passage of"`` or
    ``"not a part of"``."""
    if large.startswith(small):
        return "the beginning of"
    return "a passage of" if small in large else "not a part of"


def listing(items: Sequence[str]) -> str:
    """``"A"``, ``"A and B"``, ``"A, B and C"``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def origin_facts(train: str, small: str, large: str) -> DataOrigin:
    """:class:`DataOrigin` of three texts (the work of :func:`data_origin`)."""
    novels = split_novels(train)
    parts = attribute(large, train, novels)
    place = containment(small, large)
    return DataOrigin(
        novels=tuple(novels), n_novels=count(len(novels)),
        named_by=listing([NOVELS[n.title] for n in novels if n.title in NOVELS]),
        order=count(ORDER), switch_bits=count(SWITCH_BITS),
        parts=tuple(parts), n_parts=count(len(parts)),
        named_parts=count(sum(p.names != "none" for p in parts)),
        titles=listing(list(dict.fromkeys(p.novel for p in parts))),
        n_passages=count(len(passage_starts(len(large)))), window=count(WINDOW),
        stride=count(STRIDE), shared=count(shared_passages(large, train)),
        small_chars=count(len(small)), small_place=place,
        small_share=share(len(small) / len(large)),
        scores="use different text" if place == "not a part of" else "are not independent")


@memo
def data_origin(train: str = TRAIN_FILE, small: str = TEST_FILE, large: str = TEST_LARGE_FILE
                ) -> DataOrigin:
    """The facts of where the report's test files come from (corpus names), computed once."""
    return origin_facts(corpus_text(train), corpus_text(small), corpus_text(large))


__all__ = ["DataOrigin", "HEADING_FORMS", "NOVELS", "Novel", "Part", "attribute", "chapter_span",
           "cheapest_labels", "containment", "data_origin", "headings", "line_bits", "listing",
           "origin_facts", "own_names", "passage_starts", "shared_passages", "split_novels"]
