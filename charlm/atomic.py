"""Atomic file writes: a crash never leaves a half-written file where a good one was.

Everything charlm writes (checkpoints, CSV logs, figures, JSON results) goes through
:func:`atomic_write`: the content is written to a temporary file in the same folder,
flushed to disk, then renamed over the target (``os.replace`` is atomic on POSIX).
:func:`check_destination` checks a path the user named before any work is done for it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import ConfigError

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed and
    ``path`` is left untouched. A symbolic link is followed: the file it points to is replaced
    (the temporary file goes next to that file, on its file system), and the link is kept.
    A path that names a directory (an existing one, or any path ending in a separator) raises
    ``IsADirectoryError`` before anything is created, so no temporary file ever lands in the
    directory's parent.
    """
    if str(path).endswith((os.sep, "/")) or Path(path).is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(path))
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w") as fh:
        fh.write(text)


def check_destination(path: str | os.PathLike, what: str) -> Path:
    """Check that ``path`` can be written as a file, before any work is done for it.

    Raises :class:`~charlm.errors.ConfigError` with one line, naming ``what`` the file is for
    (e.g. ``"--save"``), when ``path`` is a directory (or ends in a separator), exists but is
    not a regular file (a device, a FIFO...), or when its folder (or, for a folder still to be
    created, the nearest one that exists) is not a folder or a file cannot be created in it
    (:func:`probe_folder` tries). Returns the path resolved (absolute, symbolic links followed),
    which is where :func:`atomic_write` will put the file. A write can still fail later (a full
    disk, say); this only rules out what can be known in advance.
    """
    raw = str(path)
    if raw.endswith((os.sep, "/")) or Path(path).is_dir():
        raise ConfigError(f"{what} {raw} is a directory; give a file name")
    target = Path(path).resolve()
    if target.exists() and not target.is_file():
        raise ConfigError(f"{what} {raw} exists and is not a regular file")
    # atomic_write creates missing folders: the nearest one that exists must be a writable folder
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{what} {raw}: {folder} is not a folder")
    reason = probe_folder(folder)
    if reason:
        raise ConfigError(f"{what} {raw}: folder {folder} is not writable (creating a file there: "
                          f"{reason})")
    return target


def probe_folder(folder: str | os.PathLike) -> str | None:
    """Why a file cannot be created in ``folder`` (None: it can), found by creating one.

    ``os.access`` is no test: for root it says yes to a read-only mount, to ``/proc`` and to a
    folder made read-only, and everything here (CI included) runs as root. So a temporary file
    is created and removed at once.
    """
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".charlm-probe-")
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, wait: bool = True) -> Iterator[int | None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the duration.

    With ``wait`` a second holder waits its turn; without, it gets ``BlockingIOError`` at once.
    Yields the lock file's descriptor. ``flock`` locks die with their process, so a killed
    holder never leaves a stale lock. The lock file stays (an empty file): removing it would
    let a waiting process lock a file that no longer has a name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield fd
    finally:
        os.close(fd)  # releases the lock
