"""When to show progress bars.

Bars are for people watching: an interactive terminal or a live Jupyter kernel. Papermill
runs (``make report``) and logs set ``CHARLM_PROGRESS=0`` so that executed notebooks and CI
logs are not filled with thousands of bar refreshes.
"""

from __future__ import annotations

import os
import sys


def progress_enabled(flag: bool | None = None) -> bool:
    """``flag`` if given, else on for a TTY or a Jupyter kernel; ``CHARLM_PROGRESS=0`` wins."""
    if os.environ.get("CHARLM_PROGRESS", "").lower() in ("0", "false", "no", "off"):
        return False
    if flag is not None:
        return flag
    return sys.stderr.isatty() or "ipykernel" in sys.modules
