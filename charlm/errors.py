"""The one exception type users see.

Every mistake a user can make (bad flag, bad file, bad checkpoint, bad text) raises a
:class:`CharlmError` whose message is one line saying what is wrong and what is accepted.
The command line turns it into ``charlm: error: <message>`` on stderr and exit status 2;
the Python API lets it propagate (it is a ``ValueError``, so generic handlers still work).
"""

from __future__ import annotations

import sys
from typing import Callable


class CharlmError(ValueError):
    """A user-facing error with a one-line message."""


class DataError(CharlmError):
    """The corpus or a text file is missing, corrupt or contains unusable characters."""


class CheckpointError(CharlmError):
    """A checkpoint file is missing, corrupt, foreign or does not match what is asked."""


class ConfigError(CharlmError):
    """A hyperparameter or option has an invalid value."""


class ModelError(CharlmError):
    """A model cannot be used as it is (e.g. its weights contain NaN after a diverged run)."""


def os_error_message(exc: OSError, doing: str = "") -> str:
    """One line for an ``OSError``: ``[cannot DOING] FILE: REASON`` (e.g. ``cannot read
    runs/x.pt: Permission denied``)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    name = f" {exc.filename}" if exc.filename else ""
    return f"cannot {doing}{name}: {reason}" if doing else f"{name.strip() or type(exc).__name__}: {reason}"


def warn(message: str, to: Callable[[str], None] | None = None) -> None:
    """Report ``message`` (one line) where work goes on: to ``to``, or as ``charlm: warning:
    MESSAGE`` on stderr."""
    if to is None:
        print(f"charlm: warning: {message}", file=sys.stderr)
    else:
        to(message)
