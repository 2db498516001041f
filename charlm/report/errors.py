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
    """(cell number, ename, evalue) of every error output in a notebook."""
    out = []
    for i, cell in enumerate(nb.cells, 1):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append((i, o.get("ename", "?"), str(o.get("evalue", "")).splitlines()[0:1]))
    return [(i, e, v[0] if v else "") for i, e, v in out]


__all__ = ["LockBusy", "NotebookFailed", "ReportError", "find_errors"]
