"""Values that show themselves as the report writes them, for ``{eval}`` roles in the prose.

The studies gather a section's facts into one small dataclass (``a = ...`` in a notebook's
code cell) whose numbers carry their display format: ``{eval}`a.test_bpc``` renders ``2.478``
in JupyterLab and in the HTML alike, and ``a.test_bpc`` still computes as the float it is. One
format per kind of number, here, for the whole report: BPC three decimals, losses in nats two,
shares as percentages, counts with separators. The sentence around a value is markdown;
nothing here writes prose.
"""

from __future__ import annotations

from typing import Any


class Num(float):
    """A float that shows itself with ``fmt`` (``Num(2.4781, ".3f")`` shows ``2.478``).

    Arithmetic gives plain floats; ``format(x, spec)`` with a spec of its own still works."""

    fmt: str

    def __new__(cls, value: Any, fmt: str = ".3f") -> "Num":
        obj = super().__new__(cls, value)
        obj.fmt = fmt
        return obj

    def __repr__(self) -> str:
        return format(float(self), self.fmt)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(float(self), spec or self.fmt)

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's text/plain
        p.text(repr(self))

    def __reduce__(self):
        return (Num, (float(self), self.fmt))


class Int(int):
    """An int that shows itself with thousands separators (``Int(6634)`` shows ``6,634``)."""

    def __repr__(self) -> str:
        return f"{int(self):,}"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(int(self), spec or ",")

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(repr(self))

    def __reduce__(self):
        return (Int, (int(self),))


def num(value: Any, fmt: str = ".3f") -> Num:
    """``value`` as a :class:`Num` (BPC: ``".3f"``; losses: ``".2f"``; shares: ``".0%"``)."""
    return Num(value, fmt)


def bits(value: Any) -> Num:
    """Bits per character, as every BPC of the report is shown: three decimals."""
    return Num(value, ".3f")


def nats(value: Any) -> Num:
    """A loss in nats per character: two decimals."""
    return Num(value, ".2f")


def share(value: Any, digits: int = 0) -> Num:
    """A fraction shown as a percentage (``share(0.271)`` shows ``27%``)."""
    return Num(value, f".{digits}%")


def count(value: Any) -> Int:
    """A count with thousands separators."""
    return Int(value)


__all__ = ["Int", "Num", "bits", "count", "nats", "num", "share"]
