"""What can go wrong in a report build: its exceptions, and the error outputs of a notebook."""

from __future__ import annotations

from ..errors import CharlmError


class ReportError(CharlmError):
    """The report could not be built (a notebook failed, bad parameters, lock held...)."""


class LockBusy(ReportError):
    """Another build holds the lock."""


class NotebookFailed(ReportError):
    """A notebook cell raised, or an executed notebook holds an error output."""


def find_errors(nb) -> list[tuple[int, str, str]]:
    """(cell number, ename, evalue's first line) of every error output in a notebook."""
    return [(i, o.get("ename", "?"), (str(o.get("evalue", "")).splitlines() or [""])[0])
            for i, cell in enumerate(nb.cells, 1) for o in cell.get("outputs", [])
            if o.get("output_type") == "error"]


def first_line(text: object) -> str:
    """The first line of ``str(text)`` that is not blank, stripped ("" when there is none):
    what a one-line message quotes of a cell's source or of an exception."""
    return next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")


__all__ = ["LockBusy", "NotebookFailed", "ReportError", "find_errors", "first_line"]
