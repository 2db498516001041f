"""Compare the numbers of two builds of the report: which numbers one text holds and the other
does not, each with a few words of context.

    python benchmarks/report_numbers.py OLD.html NEW.html [--context 6]

A rewrite of the prose moves sentences around, so a line diff says little; the numbers are what
must not change (except those of the budget run, which follow the machine's speed). Numbers are
read from the visible text (scripts, styles and the contents list left out).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from html.parser import HTMLParser

NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?%?")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "nav", "math"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "nav", "math") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def numbers(text: str, context: int) -> list[tuple[str, str]]:
    """(number, the words around it) for every number of ``text``."""
    words = text.split(" ")
    out = []
    for i, w in enumerate(words):
        for m in NUMBER.finditer(w):
            out.append((m.group().rstrip(","), " ".join(words[max(0, i - context):i + context + 1])))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--context", type=int, default=6, help="words shown on each side")
    args = p.parse_args(argv)
    old = numbers(visible_text(open(args.old).read()), args.context)
    new = numbers(visible_text(open(args.new).read()), args.context)
    a, b = Counter(n for n, _ in old), Counter(n for n, _ in new)
    print(f"numbers: {sum(a.values())} in {args.old}, {sum(b.values())} in {args.new}; "
          f"{len(set(a) & set(b))} distinct values in both")
    for title, mine, other, items in (("only in the old text", a, b, old), ("only in the new text", b, a, new)):
        gone = {n for n in mine if n not in other}
        print(f"\n{title}: {len(gone)} distinct values")
        shown = set()
        for n, ctx in items:
            if n in gone and n not in shown:
                shown.add(n)
                print(f"  {n:>10}  ... {ctx} ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
