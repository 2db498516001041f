"""The report: run the notebooks with papermill, assemble ONE self-contained HTML file.

    python -m charlm.report                      # what `make report` runs
    python -m charlm.report --quick              # tiny budgets (notebooks/params/quick.yaml)
    python -m charlm.report -p n_epochs 500 -f my_params.yaml

:func:`build` is ``make report``; each of its steps is a module of its own, usable alone:

1. :mod:`~charlm.report.params`: the parameters, from YAML files (``-f``) and ``-p NAME VALUE``
   pairs; each notebook gets only the ones its ``parameters`` cell declares, typed, and a name
   no notebook declares is an error.
2. :mod:`~charlm.report.execute`: the destinations checked, the lock (``report/.lock``) taken,
   then ``notebooks/NN_*.ipynb`` executed in order into ``report/executed/`` (those whose
   executed copy is up to date are not executed again).
3. :mod:`~charlm.report.assemble`: the executed notebooks merged into ``report/report.html``,
   one file that opens with no network.
4. :mod:`charlm.timings`: the build's time recorded in ``results/timings.json`` and the
   README, when it executed every notebook with the default parameters (``make report``).

:func:`main` is its command line (``python -m charlm.report``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .. import paths
from ..errors import CharlmError, os_error_message
from .assemble import assemble
from .errors import NotebookFailed
from .execute import NotebookRun, check_destinations, remove_stale_temporaries, report_lock
from .schedule import run_notebooks
from .furniture import MAIN_WORDS, word_count
from .params import NOTEBOOKS_DIR, QUICK_PARAMS, notebook_files, parse_value, read_params_file
from ..timings import TimingsFile, cache_entries, models_kind, record, report_entry

REPORT_DIR = paths.ROOT / "report"


def build_note(params: dict[str, Any], quick: bool) -> str | None:
    """The markdown note placed under the report's title: the parameters changed from the
    notebooks' defaults, and a warning for a QUICK build; None when there is nothing to say
    (how the report is built is Appendix A's)."""
    lines = []
    if params:
        listed = ", ".join(f"`{k} = {v!r}`" for k, v in sorted(params.items()))
        lines.append(f"*Parameters changed from the notebooks' defaults: {listed}.*")
    if quick:
        lines.append("**QUICK build: tiny budgets to check that every step works. The numbers "
                     "are not results; run `make report` for the real ones.**")
    return "\n\n".join(lines) or None


@dataclass
class Build:
    """The outcome of :func:`build`."""

    runs: list[NotebookRun] = field(default_factory=list)
    html: Path | None = None
    seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error]


def build(
    params_files: Sequence[str | Path] = (), overrides: dict[str, Any] | None = None,
    quick: bool = False, notebooks_dir: str | Path = NOTEBOOKS_DIR,
    executed_dir: str | Path | None = None, output: str | Path | None = None,
    stop_on_error: bool = True, say=print, only: Sequence[str] = (), force: bool = False,
    timings: TimingsFile | None = None, jobs: int | None = None,
) -> Build:
    """Run every notebook and assemble the report, holding the lock beside ``output``.

    With ``timings``, a build that executed every notebook with the notebooks' own parameters
    records its time there (:func:`record_time`)."""
    start = time.time()
    cached_before = cache_entries() if timings else None
    output = Path(output) if output else REPORT_DIR / "report.html"
    executed_dir = Path(executed_dir) if executed_dir else output.parent / "executed"
    params: dict[str, Any] = {}
    for f in ([QUICK_PARAMS] if quick else []) + [Path(f) for f in params_files]:
        params.update(read_params_file(f))
    params.update(overrides or {})
    notebooks = notebook_files(notebooks_dir)
    check_destinations(output, executed_dir, notebooks)
    result = Build()
    with report_lock(output.parent / ".lock"):
        remove_stale_temporaries(output.parent, [output.name])
        result.runs = run_notebooks(notebooks, executed_dir, params, stop_on_error, say, only, force,
                                    jobs)
        if not result.errors:
            result.html = assemble([r.executed for r in result.runs], output,
                                   header=build_note(params, quick),
                                   strict=Path(notebooks_dir).resolve() == NOTEBOOKS_DIR.resolve())
    result.seconds = time.time() - start
    if say and result.html:
        size = result.html.stat().st_size / 1e6
        words = word_count(result.html.read_text())
        say(f"report: {result.html} ({size:.1f} MB, {words.sentence()}) built in "
            f"{result.seconds / 60:.1f} min")
        if words.main > MAIN_WORDS and not quick:
            say(f"report: warning: the main text has {words.main:,} words, over the "
                f"{MAIN_WORDS:,} a reader is asked to read; move detail to the appendices")
    if timings and result.html:
        note = record_time(result, timings, quick or bool(params) or bool(only), cached_before)
        if say:
            say(f"report: {note}")
    return result


def record_time(result: Build, to: TimingsFile, partial: bool, cached_before: int | None) -> str:
    """Record the time of a successful build that executed every notebook with their own
    parameters, under ``cached`` (it trained no model) or ``trained`` (the run cache was empty);
    other builds say nothing general about the time ``make report`` takes, so they are not
    recorded. The line to print; a file that cannot be written is a warning, never an error."""
    if partial or any(r.reused for r in result.runs):
        return "timings: not recorded (not every notebook executed with its own parameters)"
    models = models_kind(cached_before, cache_entries())
    if models is None:
        return "timings: not recorded (some models were trained, some came from the cache)"
    seconds = {r.source.stem: round(r.seconds, 1) for r in result.runs}
    return record(*report_entry(result.seconds, models, seconds), to=to)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m charlm.report", description=__doc__.split("\n\n")[0],
                                allow_abbrev=False)
    p.add_argument("-f", "--parameters_file", action="append", default=[], metavar="FILE",
                   help="YAML file of parameters (repeatable; later files win)")
    p.add_argument("-p", "--parameter", action="append", nargs=2, default=[],
                   metavar=("NAME", "VALUE"), help="one parameter, as papermill -p (wins over -f)")
    p.add_argument("--quick", action="store_true",
                   help=f"tiny budgets: read {QUICK_PARAMS.relative_to(paths.ROOT)} first")
    p.add_argument("--notebooks", default=str(NOTEBOOKS_DIR), help="folder of NN_*.ipynb")
    p.add_argument("--executed", default=None, help="folder for executed notebooks "
                   "(default: executed/ beside the output)")
    p.add_argument("--output", default=str(REPORT_DIR / "report.html"), help="the HTML report")
    p.add_argument("--only", action="append", default=[], metavar="NN",
                   help="execute only this notebook (repeatable: 04, 04_temperature); the others' "
                        "executed copies are reused as they are")
    p.add_argument("--force", action="store_true",
                   help="execute every notebook, even those whose executed copy is up to date")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="notebooks executed at once (default: one per core)")
    args = p.parse_args(argv)
    overrides = {name: parse_value(value) for name, value in args.parameter}
    # SIGTERM behaves like Ctrl-C: the notebook being executed leaves no temporary file
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    # only the report itself, built where `make report` builds it, records its time
    default = (Path(args.notebooks) == NOTEBOOKS_DIR and args.executed is None
               and Path(args.output) == REPORT_DIR / "report.html")
    try:
        build(args.parameters_file, overrides, args.quick, args.notebooks, args.executed,
              args.output, only=args.only, force=args.force,
              timings=TimingsFile() if default else None, jobs=args.jobs)
    except CharlmError as exc:  # a failed notebook; bad parameters, lock held, missing files
        print(f"charlm report: error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, NotebookFailed) else 2
    except OSError as exc:  # the last net: a file that cannot be read or written, in one line
        print(f"charlm report: error: {os_error_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("charlm report: interrupted", file=sys.stderr)
        return 130
    return 0


__all__ = ["REPORT_DIR", "Build", "build", "build_note", "main", "record_time"]
