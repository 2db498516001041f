"""A document's furniture for the assembled report: numbered captions, alt text, unique
anchors, a two-level table of contents and word counts.

The notebooks mark captions in plain markdown, so they read the same in JupyterLab:

- a paragraph that starts ``Figure {#fig-name}:`` or ``Table {#tab-name}:`` is the caption of
  the figure or table just above it. It becomes ``Figure 3.`` (numbered in order, figures and
  tables apart) with the id as its anchor, and a figure's caption is also the alt text of the
  images between it and the caption before it;
- a table drawn by :func:`charlm.report.display.table` with a ``caption`` is numbered by that
  caption when no ``Table {#tab-name}:`` paragraph follows it;
- a link ``[Figure](#fig-name)`` (or ``[Table](#tab-name)``, or empty) in prose becomes a link
  reading ``Figure 3``; JupyterLab shows it as "Figure", a link to the caption.

Everything works on the HTML that nbconvert writes (one pass of regular expressions over its
known shapes), so no parser rewrites the rest of the page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ..errors import CharlmError

NO_ALT = "No description has been provided for this image"  # what nbconvert writes
APPENDIX = "Appendix"  # a level-2 heading starting with this word starts the appendix
MAIN_WORDS = 7000  # the main text's length at most: a report, not a lab notebook (issue 18)
# The tests bound a QUICK build, whose computed sentences differ a little from a full build's.
QUICK_MARGIN = 300

_CAPTION = re.compile(r"<p>(Figure|Table) \{#((?:fig|tab)-[\w.-]+)\}:\s*(.*?)</p>", re.DOTALL)
_TITLE = re.compile(r'<p class="charlm-caption"[^>]*>(.*?)</p>', re.DOTALL)
_TABLE = re.compile(r"<table\b")
_IMG_ALT = re.compile(r'(<img\b[^>]*?\balt=")' + re.escape(NO_ALT) + '"')
_REFERENCE = re.compile(r'<a href="#((?:fig|tab)-[\w.-]+)">(?:Figure|Table)?</a>')
_HEADING = re.compile(r'<(h[1-4]) id="([^"]*)">(.*?)</\1>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_INLINE = re.compile(r"</?(?:span|a|em|strong|b|i|code|sub|sup|mark|small)\b[^>]*>", re.I)
_SKIP = re.compile(r"<(head|style|script|nav|math)\b.*?</\1>", re.DOTALL | re.IGNORECASE)


class FurnitureError(CharlmError):
    """The report's captions or references are inconsistent."""


def plain(fragment: str) -> str:
    """The text of an HTML fragment: tags dropped, entities decoded, the pilcrow of nbconvert's
    anchor links removed, whitespace collapsed."""
    text = html.unescape(_TAG.sub("", fragment)).replace("¶", "")
    return " ".join(text.split())


def number_captions(body: str) -> tuple[str, dict[str, str]]:
    """Number the captions of ``body`` and give figures their alt text.

    Figures are numbered by their ``Figure {#id}:`` paragraphs. A table is numbered by the
    ``Table {#id}:`` paragraph after it when it has one, else by the caption that
    :func:`charlm.report.display.table` puts above it (which then stays as the table's title
    when a numbered paragraph follows). Returns the new body and the label of every caption id
    (``{"fig-loss": "Figure 1"}``); a repeated id is an error."""
    labels: dict[str, str] = {}
    counts = {"Figure": 0, "Table": 0}
    edits: list[tuple[int, int, str]] = []

    def number(kind: str) -> str:
        counts[kind] += 1
        return f"{kind} {counts[kind]}"

    def number_title(m: re.Match | None) -> None:  # a table's title, when it numbers it
        if m is not None:
            edits.append((m.start(1), m.start(1), f"<strong>{number('Table')}.</strong> "))

    kinds = {"caption": _CAPTION, "title": _TITLE, "table": _TABLE, "heading": _HEADING}
    events = sorted(((m.start(), what, m) for what, rx in kinds.items() for m in rx.finditer(body)),
                    key=lambda e: e[0])
    waiting = above = None  # a title waiting for its table; the title of the last table
    figures_from = 0  # where the images of the next figure start
    for _, what, m in events:
        if what == "heading":
            figures_from = m.end()  # a figure's images follow its section's heading
        elif what == "title":
            number_title(above)
            waiting, above = m, None
        elif what == "table":
            figures_from = m.start()
            number_title(above)
            above, waiting = waiting, None
        else:
            kind, cid, text = m.groups()
            if cid in labels:
                raise FurnitureError(f"the caption id {cid!r} is used twice; ids must be unique")
            if kind == "Table":
                above = None  # the paragraph numbers the table; its title stays a title
            labels[cid] = number(kind)
            if kind == "Figure":  # the images since the previous caption or heading
                alt = html.escape(plain(text), quote=True)
                for img in _IMG_ALT.finditer(body, figures_from, m.start()):
                    edits.append((img.end(1), img.end(0) - 1, alt))
            figures_from = m.end()
            edits.append((m.start(), m.end(), f'<p class="caption" id="{cid}"><strong>'
                                              f"{labels[cid]}.</strong> {text}</p>"))
    number_title(above)
    out, last = [], 0
    for start, end, text in sorted(edits, key=lambda e: e[0]):
        out += [body[last:start], text]
        last = end
    out.append(body[last:])
    return "".join(out), labels


def fill_references(body: str, labels: dict[str, str], strict: bool = True) -> str:
    """Turn each link to a caption id that reads "Figure", "Table" or nothing into a link
    reading its label (``Figure 3``). A link to an id no
    caption has is an error, or with ``strict`` off (a report of some notebooks only) the id
    in brackets."""
    def label(m: re.Match) -> str:
        cid = m.group(1)
        if cid not in labels:
            if not strict:
                return f"[{cid}]"
            raise FurnitureError(f"a reference points at {cid!r}, which no caption has")
        return f'<a href="#{cid}">{labels[cid]}</a>'
    return _REFERENCE.sub(label, body)


def unique_anchors(body: str) -> str:
    """Give every heading a unique id: a repeated one gets ``-2``, ``-3``, ... (its own
    anchor link follows)."""
    seen: dict[str, int] = {}

    def rename(m: re.Match) -> str:
        tag, hid, inner = m.groups()
        seen[hid] = seen.get(hid, 0) + 1
        if seen[hid] == 1:
            return m.group(0)
        new = f"{hid}-{seen[hid]}"
        inner = inner.replace(f'href="#{hid}"', f'href="#{new}"')
        return f'<{tag} id="{new}">{inner}</{tag}>'
    return _HEADING.sub(rename, body)


def add_toc(body: str, skip: str = "The-answers-at-a-glance") -> str:
    """A folded contents list of the level-2 headings, each with its level-3 ones, before the
    first part (after the heading ``skip``'s section, the answers at a glance, when there is
    one; else after the first level-1 heading). The section ``skip`` is not listed."""
    entries: list[tuple[str, str, list[tuple[str, str]]]] = []
    first = None
    for m in _HEADING.finditer(body):
        tag, hid, inner = m.groups()
        if hid == skip:
            continue
        if tag == "h2":
            entries.append((hid, plain(inner), []))
            first = m.start() if first is None else first
        elif tag == "h3" and entries:
            entries[-1][2].append((hid, plain(inner)))
    if not entries:
        return body

    def item(hid: str, text: str, children: list[tuple[str, str]]) -> str:
        sub = "".join(f'<li><a href="#{c}">{html.escape(t)}</a></li>' for c, t in children)
        return (f'<li><a href="#{hid}">{html.escape(text)}</a>'
                + (f"<ol>{sub}</ol>" if sub else "") + "</li>")
    items = "".join(item(*e) for e in entries)
    nav = (f'<nav class="charlm-toc"><details><summary><strong>Contents</strong> '
           f"({len(entries)} parts)</summary><ol>{items}</ol></details></nav>")
    glance = body.find(f'id="{skip}"')
    if glance >= 0 and first is not None:  # right before the first part, after the answers
        at = body.rfind('<div class="jp-Cell jp-', 0, first)  # the part's cell, not inside it
        at = at if at >= 0 else first
        return body[:at] + nav + body[at:]
    end = body.find("</h1>")
    return body if end < 0 else body[:end + 5] + nav + body[end + 5:]


@dataclass(frozen=True)
class WordCount:
    """Words of the report's text (prose, tables and sample blocks alike; the contents list,
    styles and scripts left out), before the first appendix heading and from it on."""

    main: int
    appendix: int

    def sentence(self) -> str:
        return f"{self.main:,} words of main text, {self.appendix:,} in the appendices"


def word_count(body: str) -> WordCount:
    """Count the words of ``body`` as :class:`WordCount` defines them."""
    text = _SKIP.sub(" ", body)
    start = re.search(r'<h2 id="[^"]*">\s*' + APPENDIX, text)
    cut = start.start() if start else len(text)

    def words(part: str) -> int:
        # an inline tag sits inside a word (coloured text wraps single characters); any other
        # tag separates words (a table cell's text from the next)
        part = _TAG.sub(" ", _INLINE.sub("", part))
        return len(html.unescape(part).replace("¶", " ").split())
    return WordCount(words(text[:cut]), words(text[cut:]))


def furnish(body: str, strict: bool = True) -> str:
    """All of the above, in order: unique anchors, numbered captions and alt text, filled
    references, then the contents list. Figures left without a caption are an error, since
    their images would have no description; so is a reference to no caption, when ``strict``."""
    body = unique_anchors(body)
    body, labels = number_captions(body)
    body = fill_references(body, labels, strict)
    bare = len(_IMG_ALT.findall(body))  # images still with nbconvert's placeholder alt text
    if bare:
        raise FurnitureError(
            f"{bare} image(s) have no caption: put a caption after each figure, its paragraph "
            "under a MyST target line '(fig-name)=' (it becomes the caption and the alt text)")
    return add_toc(body)
