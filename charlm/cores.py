"""The machine's cores as tokens that every charlm process shares, as make's jobserver shares
job slots, so that work started side by side never asks for more cores than there are.

A token is a lock file (``core-0``, ``core-1``, ... one per core) in :func:`tokens_dir`; a
process holds a core while it holds the ``flock`` on its file, so a process that dies gives its
cores back. The report's build takes one core for each notebook it executes and marks the
kernel with ``CHARLM_CORE_HELD=1``: the kernel computes on that core. A study's process pool
(:mod:`charlm.studies.runner`) counts the core its process holds (if any) and takes the free
ones as it goes (:class:`Cores`): a study that starts while the budget run trains beside it
trains one run at a time, and more once the budget run is done. Nothing ever waits for a core
it cannot have: a process that holds none still works, on one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator

HELD = "CHARLM_CORE_HELD"  # set to 1 in a process whose core its parent took for it


def count() -> int:
    """The number of cores (tokens): ``CHARLM_CORES`` if set, else the CPUs this process may
    run on."""
    given = os.environ.get("CHARLM_CORES")
    if given:
        return max(1, int(given))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tokens_dir() -> Path:
    """Where the tokens live: ``CHARLM_CORES_DIR``, else one folder per user in the system's
    temporary folder (shared by every checkout on the machine, since they share its cores)."""
    given = os.environ.get("CHARLM_CORES_DIR")
    folder = Path(given) if given else Path(tempfile.gettempdir()) / f"charlm-cores-{os.getuid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _try(index: int) -> int | None:
    fd = os.open(tokens_dir() / f"core-{index}", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class Cores:
    """The cores one process holds: ``take()`` adds the free ones (never waits), ``release()``
    gives back what it took. ``held`` counts the core its parent took for it, if any."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self.inherited = 1 if os.environ.get(HELD) == "1" else 0

    @property
    def held(self) -> int:
        return self.inherited + len(self._fds)

    def take(self, want: int) -> int:
        """Take free cores until holding ``want`` (or all free ones); returns how many are held."""
        for index in range(count()):
            if self.held >= want:
                break
            fd = _try(index)
            if fd is not None:
                self._fds.append(fd)
        return self.held

    def release(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()

    def usable(self) -> int:
        """How many workers this process may run now: what it holds, and at least one."""
        return max(1, self.held)


@contextlib.contextmanager
def core(wait: bool = True) -> Iterator[int | None]:
    """Hold one core for the duration: the first free token, waiting for one with ``wait``
    (polling, so that any token that frees up serves). Yields the token's number (None: none
    was free and ``wait`` is off)."""
    while True:
        for index in range(count()):
            fd = _try(index)
            if fd is not None:
                try:
                    yield index
                finally:
                    os.close(fd)
                return
        if not wait:
            yield None
            return
        time.sleep(0.2)


__all__ = ["HELD", "Cores", "core", "count", "tokens_dir"]
