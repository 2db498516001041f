"""A document's furniture for the assembled report: numbered captions, alt text, unique
anchors, a two-level table of contents and word counts.

The notebooks mark captions in plain markdown, so they read the same in JupyterLab:

- a paragraph that starts ``Figure {#fig-name}:`` or ``Table {#tab-name}:`` is the caption of
  the figure or table just above it. It becomes ``Figure 3.`` (numbered in order, figures and
  tables apart) with the id as its anchor, and a figure's caption is also the alt text of the
  images between it and the caption before it;
- an empty link ``[](#fig-name)`` in prose becomes a link reading ``Figure 3``.

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

_CAPTION = re.compile(r"<p>(Figure|Table) \{#((?:fig|tab)-[\w.-]+)\}:\s*(.*?)</p>", re.DOTALL)
_IMG_ALT = re.compile(r'(<img\b[^>]*?\balt=")' + re.escape(NO_ALT) + '"')
_REFERENCE = re.compile(r'<a href="#((?:fig|tab)-[\w.-]+)"></a>')
_HEADING = re.compile(r'<(h[1-4]) id="([^"]*)">(.*?)</\1>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SKIP = re.compile(r"<(head|style|script|nav)\b.*?</\1>", re.DOTALL | re.IGNORECASE)


class FurnitureError(CharlmError):
    """The report's captions or references are inconsistent."""


def plain(fragment: str) -> str:
    """The text of an HTML fragment: tags dropped, entities decoded, the pilcrow of nbconvert's
    anchor links removed, whitespace collapsed."""
    text = html.unescape(_TAG.sub("", fragment)).replace("¶", "")
    return " ".join(text.split())


def number_captions(body: str) -> tuple[str, dict[str, str]]:
    """Number the caption paragraphs of ``body`` and give figures their alt text.

    Returns the new body and the label of every caption id (``{"fig-loss": "Figure 1"}``).
    A repeated id is an error."""
    labels: dict[str, str] = {}
    counts = {"Figure": 0, "Table": 0}
    out, last = [], 0
    for m in _CAPTION.finditer(body):
        kind, cid, text = m.groups()
        if cid in labels:
            raise FurnitureError(f"the caption id {cid!r} is used twice; ids must be unique")
        counts[kind] += 1
        labels[cid] = f"{kind} {counts[kind]}"
        before = body[last:m.start()]
        if kind == "Figure":  # the images since the previous caption are this figure
            alt = html.escape(plain(text), quote=True)
            before = _IMG_ALT.sub(lambda g: g.group(1) + alt + '"', before)
        out.append(before)
        out.append(f'<p class="caption" id="{cid}"><strong>{labels[cid]}.</strong> {text}</p>')
        last = m.end()
    out.append(body[last:])
    return "".join(out), labels


def fill_references(body: str, labels: dict[str, str]) -> str:
    """Turn each empty link to a caption id into a link reading its label."""
    def label(m: re.Match) -> str:
        cid = m.group(1)
        if cid not in labels:
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


def add_toc(body: str) -> str:
    """A contents list of the level-2 headings, each with its level-3 ones, inserted after the
    first level-1 heading."""
    entries: list[tuple[str, str, list[tuple[str, str]]]] = []
    for m in _HEADING.finditer(body):
        tag, hid, inner = m.groups()
        if tag == "h2":
            entries.append((hid, plain(inner), []))
        elif tag == "h3" and entries:
            entries[-1][2].append((hid, plain(inner)))
    if not entries:
        return body

    def item(hid: str, text: str, children: list[tuple[str, str]]) -> str:
        sub = "".join(f'<li><a href="#{c}">{html.escape(t)}</a></li>' for c, t in children)
        return (f'<li><a href="#{hid}">{html.escape(text)}</a>'
                + (f"<ol>{sub}</ol>" if sub else "") + "</li>")
    items = "".join(item(*e) for e in entries)
    nav = f'<nav class="charlm-toc"><strong>Contents</strong><ol>{items}</ol></nav>'
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

    def words(part: str) -> int:  # a tag separates words (a cell's text from the next)
        return len(html.unescape(_TAG.sub(" ", part)).replace("¶", " ").split())
    return WordCount(words(text[:cut]), words(text[cut:]))


def missing_alt(body: str) -> int:
    """How many images still carry nbconvert's placeholder alt text (figures without a
    caption)."""
    return len(_IMG_ALT.findall(body))


def furnish(body: str) -> str:
    """All of the above, in order: unique anchors, numbered captions and alt text, filled
    references, then the contents list. Figures left without a caption are an error, since
    their images would have no description."""
    body = unique_anchors(body)
    body, labels = number_captions(body)
    body = fill_references(body, labels)
    bare = missing_alt(body)
    if bare:
        raise FurnitureError(
            f"{bare} image(s) have no caption: put a paragraph 'Figure {{#fig-name}}: ...' "
            "after each figure (it becomes the caption and the alt text)")
    return add_toc(body)
