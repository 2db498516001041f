"""Claims of the coursework and the reference write-up, checked against this run's data.

Where the report's discussion makes a claim, a :class:`Check` says what the claim is (with the
rule used to check it), what this run shows, and whether they agree, so a run that disagrees
says so plainly instead of repeating the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence




@dataclass(frozen=True)
class Check:
    """A claim, what this run shows, and whether they agree (None: not checkable here)."""

    claim: str
    observed: str
    agrees: bool | None


def verdict(checks: Sequence[Check]) -> str:
    """One sentence summing up a list of checks."""
    known = [c for c in checks if c.agrees is not None]
    if not known:
        return "None of these claims can be checked against this run (see the table)."
    bad = [c for c in known if not c.agrees]
    if not bad:
        return f"This run agrees with all {len(known)} checkable claims."
    return (f"This run disagrees with {len(bad)} of {len(known)} checkable claims: "
            + "; ".join(f"“{c.claim}” (here: {c.observed})" for c in bad) + ".")




__all__ = ["Check", "verdict"]
