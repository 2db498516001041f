"""What machine and code a result came from: CPU, versions, commit, threads."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy
import pandas
import torch

from . import __version__, paths


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else :func:`platform.processor`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """Short commit of the repository, with ``+changes`` when the tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.ROOT,
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown (not a git checkout)"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=paths.ROOT, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + (" +changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict[str, str]:
    """What this report ran on: versions, CPU, cores and torch threads."""
    return {
        "charlm": f"{__version__} (commit {git_commit()})",
        "Python": platform.python_version(),
        "torch": str(torch.__version__),
        "numpy / pandas": f"{numpy.__version__} / {pandas.__version__}",
        "OS": platform.platform(),
        "CPU": cpu_model(),
        "logical CPUs": str(os.cpu_count()),
        "torch threads in this kernel": str(torch.get_num_threads()),
        "CUDA available": str(torch.cuda.is_available()),
        "interpreter": sys.executable,
    }


__all__ = ["cpu_model", "environment", "git_commit"]
