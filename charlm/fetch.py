"""The data step: copy the Dickens corpus from a mirror folder into ``data/`` and verify it.

Mirror: ``CHARLM_DATA_MIRROR`` if set, else ``../shared/data`` beside the repository. Each
file is checked against the SHA-256 sums committed in ``data/SHA256SUMS``; a file that fails
is never copied over a good one. ``python -m charlm.fetch`` runs it (``make data``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path
from typing import Sequence

from . import paths
from .atomic import atomic_write
from .errors import CharlmError, DataError, os_error_message

CORPUS_FILES = ("dickens_train.txt", "dickens_test.txt", "dickens_test_large.txt")

_HOWTO = (
    "set CHARLM_DATA_MIRROR to a folder holding the course files "
    f"({', '.join(CORPUS_FILES)}) or copy them into data/"
)


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_sums(sums_file: Path | None = None) -> dict[str, str]:
    """The committed checksums: file name -> hex SHA-256."""
    sums_file = sums_file or paths.SUMS_FILE
    sums = {}
    for line in Path(sums_file).read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.lstrip("*")] = digest
    return sums


def mirror_dir() -> Path | None:
    """The folder to copy from, or None when there is none."""
    env = os.environ.get("CHARLM_DATA_MIRROR")
    if env:
        return Path(env)
    shared = paths.ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() else None


def verify(name: str, data_dir: Path | None = None) -> Path:
    """Return the path of corpus file ``name`` after checking its checksum.

    Raises :class:`DataError` naming the file, the expected and found checksum and how to
    supply the files.
    """
    data_dir = data_dir or paths.data_dir()
    want = expected_sums()[name]
    path = data_dir / name
    if not path.is_file():
        raise DataError(f"{path} is missing; run `make data` or {_HOWTO}")
    found = sha256(path)
    if found != want:
        raise DataError(
            f"{path} fails its checksum: expected sha256 {want}, found {found}; {_HOWTO}"
        )
    return path


def fetch(data_dir: Path | None = None, mirror: Path | None = None, quiet: bool = False) -> list[Path]:
    """Make sure every corpus file is in ``data_dir`` with the right checksum.

    Files already present and correct are left alone. Missing or bad ones are copied from the
    mirror, checked on a temporary copy, and only then renamed into place, so a bad mirror
    file never replaces anything. Returns the verified paths.
    """
    data_dir = Path(data_dir or paths.data_dir())
    data_dir.mkdir(parents=True, exist_ok=True)
    sums = expected_sums()
    out = []
    for name in CORPUS_FILES:
        target = data_dir / name
        if target.is_file() and sha256(target) == sums[name]:
            out.append(target)
            continue
        src_dir = mirror or mirror_dir()
        src = src_dir / name if src_dir else None
        if src is None or not src.is_file():
            where = f"in the mirror {src_dir}" if src_dir else "(no mirror folder found)"
            state = "fails its checksum" if target.is_file() else "is missing"
            raise DataError(f"{target} {state} and {name} is not available {where}; {_HOWTO}")
        found = sha256(src)
        if found != sums[name]:
            raise DataError(
                f"{src} fails its checksum: expected sha256 {sums[name]}, found {found}; {_HOWTO}"
            )
        with atomic_write(target) as fh, open(src, "rb") as fin:
            shutil.copyfileobj(fin, fh)
        out.append(target)
    if not quiet:
        total = sum(p.stat().st_size for p in out)
        print(f"data: {len(out)} files verified in {data_dir} ({total:,} bytes, sha256 ok)")
    return out


def corpus_path(name: str) -> Path:
    """Path of a verified corpus file, running the data step first if it is missing."""
    path = paths.data_dir() / name
    if not path.is_file() and mirror_dir() is not None:
        fetch(quiet=True)
    return verify(name)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m charlm.fetch``: copy and verify the corpus (it takes no options, and refuses
    any, abbreviated or not, rather than ignoring them)."""
    parser = argparse.ArgumentParser(
        prog="python -m charlm.fetch", allow_abbrev=False,
        description="Copy the Dickens corpus into data/ from CHARLM_DATA_MIRROR (or "
                    "../shared/data) and verify its SHA-256 sums.")
    parser.parse_args(argv)
    try:
        fetch()
    except CharlmError as exc:  # a missing or damaged corpus, CHARLM_DATA_DIR at a file
        print(f"charlm: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a data folder that cannot be written, in one line
        print(f"charlm: error: {os_error_message(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
