"""How long ``make report`` and ``make test`` take, recorded by the builds themselves.

The times live in one small committed file, ``results/timings.json``; the README's timing lines
(between ``<!-- timings`` and ``<!-- /timings -->``) are rendered from it, so prose never holds a
time that the last build did not measure. Recording a time rewrites both.

    python -m charlm.timings record test --seconds 431 --junit junit.xml   # make test
    python -m charlm.timings render           # the README block, from the file
    python -m charlm.timings check            # exit 1 if the README's block differs

``make report`` records itself (:func:`charlm.report.build.build`, after a successful build of
every notebook with the default parameters): under ``cached`` when it trained no model, under
``trained`` when the run cache was empty at its start. A time that cannot be written is a
warning, never a failed build.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from . import cores, paths
from .atomic import atomic_write_text
from .errors import CharlmError, os_error_message
from .machine import git_commit

TIMINGS_FILE = paths.ROOT / "results" / "timings.json"
README = paths.ROOT / "README.md"
BEGIN = "<!-- timings: rendered from results/timings.json by charlm.timings; do not edit -->"
END = "<!-- /timings -->"
WIDTH = 100  # README lines


@dataclass(frozen=True)
class TimingsFile:
    """Where timings are recorded: the results file and the README whose block shows them."""

    path: Path = TIMINGS_FILE
    readme: Path | None = README


def load(path: str | Path = TIMINGS_FILE) -> dict[str, Any]:
    """The recorded timings (``{}`` when the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return {}
    timings = json.loads(path.read_text())
    if not isinstance(timings, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return timings


def _entry(seconds: float, **more: Any) -> dict[str, Any]:
    return {"minutes": round(seconds / 60, 1), "date": datetime.date.today().isoformat(),
            "cores": cores.count(), "commit": git_commit(), **more}


def cache_entries() -> int | None:
    """Trained runs in the run cache (``runs/cache/*.pt``); None if it cannot be read."""
    try:
        folder = paths.runs_dir() / "cache"
        return len(list(folder.glob("*.pt"))) if folder.is_dir() else 0
    except (OSError, CharlmError):
        return None


def models_kind(before: int | None, after: int | None) -> str | None:
    """``trained`` (the cache was empty: every model trained), ``cached`` (none trained), or
    None (some of each: a time that says nothing general; or a cache that cannot be read)."""
    if before is None or after is None:
        return None
    if before == 0 and after > 0:
        return "trained"
    return "cached" if after == before else None


def report_entry(seconds: float, models: str, notebooks: dict[str, float] | None = None
                 ) -> tuple[list[str], dict[str, Any]]:
    """Where a build's time goes in the file, and the entry (with each notebook's seconds: the
    next build's estimate of the time left)."""
    return ["report", models], _entry(seconds, **({"notebooks": notebooks} if notebooks else {}))


def test_entry(seconds: float, junit: str | Path) -> tuple[list[str], dict[str, Any]]:
    """The suite's time, with its counts read from pytest's JUnit XML; on a fresh clone when
    run by CI (``.ci/run`` sets ``CI``)."""
    root = ElementTree.parse(str(junit)).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    count = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "skipped")}
    return ["test"], _entry(seconds, **count, fresh_clone=bool(os.environ.get("CI")))


def _date(iso: str) -> str:
    day = datetime.date.fromisoformat(iso)
    return f"{day.day} {day:%b %Y}"


def _how(entry: dict[str, Any]) -> str:
    return f"{entry['cores']} cores, {_date(entry['date'])}"


def render(timings: dict[str, Any]) -> str:
    """The README block: one line per command, each time with its cores and date."""
    report = timings.get("report", {})
    cached, trained = report.get("cached"), report.get("trained")
    text = "`make report`: "
    text += (f"**{cached['minutes']:.1f} min** with every model already in the run cache "
             f"({_how(cached)})" if cached else "with every model cached: not yet measured")
    text += ("; from an empty cache, training every model: "
             + (f"{trained['minutes']:.1f} min ({_how(trained)})." if trained
                else "not yet measured on this version."))
    test = timings.get("test")
    if test:
        skipped = f", {test['skipped']} skipped" if test.get("skipped") else ""
        where = " on a fresh clone" if test.get("fresh_clone") else ""
        line = (f"`make test`: **{test['tests']} tests in {test['minutes']:.1f} min**{skipped}"
                f"{where} ({_how(test)}).")
    else:
        line = "`make test`: not yet measured."
    items = [textwrap.fill(t, WIDTH, initial_indent="- ", subsequent_indent="  ")
             for t in (text, line)]
    return "\n".join([BEGIN, *items, END])


def readme_block(readme: str | Path = README) -> str | None:
    """The timings block of the README as it stands (None: it has none)."""
    text = Path(readme).read_text()
    start, end = text.find(BEGIN), text.find(END)
    return text[start:end + len(END)] if 0 <= start < end else None


def refresh_readme(timings: dict[str, Any], readme: str | Path = README) -> bool:
    """Replace the README's block by one rendered from ``timings``; False if it has none."""
    text = Path(readme).read_text()
    old = readme_block(readme)
    if old is None:
        return False
    new = render(timings)
    if new != old:
        atomic_write_text(readme, text.replace(old, new))
    return True


def record(where: Sequence[str], entry: dict[str, Any], to: TimingsFile = TimingsFile()) -> str:
    """Record ``entry`` under the keys ``where`` and refresh the README; the line to print.

    Never raises for a file that cannot be read or written: a build that took half an hour
    must not fail over its own timing."""
    try:
        timings = load(to.path)
        node = timings
        for key in where[:-1]:
            node = node.setdefault(key, {})
        node[where[-1]] = entry
        atomic_write_text(to.path, json.dumps(timings, indent=2, sort_keys=True) + "\n")
        shown = to.readme is not None and refresh_readme(timings, to.readme)
    except OSError as exc:
        return f"timings: warning: not recorded ({os_error_message(exc)})"
    except (ValueError, AttributeError, TypeError) as exc:  # a damaged timings file
        return f"timings: warning: not recorded ({to.path}: {exc})"
    return (f"timings: {' '.join(where)}: {entry['minutes']:.1f} min recorded in {to.path.name}"
            + (f" and {to.readme.name}" if shown else ""))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m charlm.timings",
                                description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="record a time and refresh the README's block")
    rec.add_argument("what", choices=["test", "report"])
    rec.add_argument("--seconds", type=float, required=True, help="wall-clock time")
    rec.add_argument("--junit", help="pytest's JUnit XML (record test): the counts")
    rec.add_argument("--models", choices=["cached", "trained"], default="cached",
                     help="record report: every model cached, or every model trained")
    sub.add_parser("render", help="print the README block that results/timings.json renders")
    sub.add_parser("check", help="exit 1 if the README's block is not what the file renders")
    args = p.parse_args(argv)
    if args.command == "render":
        print(render(load()))
        return 0
    if args.command == "check":
        same = readme_block() == render(load())
        print("timings: README block up to date" if same else
              "timings: README block differs; run `python -m charlm.timings render`",
              file=sys.stdout if same else sys.stderr)
        return 0 if same else 1
    try:
        if args.what == "test":
            where, entry = test_entry(args.seconds, args.junit)
        else:
            where, entry = report_entry(args.seconds, args.models)
    except (OSError, ElementTree.ParseError, TypeError) as exc:  # no JUnit file, or not XML
        print(f"timings: warning: not recorded (no test counts: {exc})", file=sys.stderr)
        return 0
    message = record(where, entry)
    print(message, file=sys.stderr if "warning" in message else sys.stdout)
    return 0


__all__ = ["BEGIN", "END", "README", "TIMINGS_FILE", "TimingsFile", "cache_entries", "load",
           "main", "models_kind", "readme_block", "record", "refresh_readme", "render",
           "report_entry", "test_entry"]


if __name__ == "__main__":
    sys.exit(main())

