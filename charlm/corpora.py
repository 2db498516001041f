"""Corpora: the Dickens files, any text file, and Python source from the standard library.

A corpus is named either by a Dickens file name (``dickens_train.txt``: taken from ``data/``
and verified against the committed checksum) or by the path of any UTF-8 text file (its
characters must be in the vocabulary after unidecode; see :mod:`charlm.data`).

Python source code: :func:`python_corpus` writes a training corpus of Python source taken from
the standard library of the running Python (present on every machine; no download) and a
held-out part made of *other* files, for BPC. Both are plain-text files under ``runs/corpora/``
whose paths work as ``TrainConfig(corpus=path)`` / ``--corpus PATH``.

Vocabulary handling of the source corpus (the same rules as every charlm corpus, see
:mod:`charlm.data`): files are read as UTF-8 (PEP 3120) with universal newlines (``\\r\\n`` ->
``\\n``); non-ASCII characters (authors' names, a few string literals) are transliterated with
``unidecode``; tab, newline, vertical tab and form feed are in ``string.printable`` and kept.
A file that still holds any character outside ``string.printable`` afterwards (a control
character such as ESC written literally), or that is not valid UTF-8, is **skipped whole** --
never edited line by line, so every file in the corpus is the real source -- and counted in
the manifest. The written files are therefore pure ASCII in the vocabulary, and
:func:`charlm.data.read_text` reads them unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from unidecode import unidecode

from . import paths
from .atomic import atomic_write_text
from .config import TrainConfig
from .data import VOCAB, encode, normalise, read_text
from .errors import CharlmError, DataError
from .fetch import CORPUS_FILES, corpus_path, expected_sums, sha256, verify

TRAIN_FILE = "dickens_train.txt"
TEST_FILE = "dickens_test.txt"
TEST_LARGE_FILE = "dickens_test_large.txt"

_encoded: dict[tuple[str, int, int], torch.Tensor] = {}


def corpus_file(name: str) -> Path:
    """The path of corpus ``name``: a verified Dickens file, or any existing text file."""
    if name in CORPUS_FILES:
        return corpus_path(name)
    path = Path(name)
    if not path.is_file():
        raise DataError(f"corpus file {name} does not exist (or is not a file); give a Dickens "
                        f"file name ({', '.join(CORPUS_FILES)}) or the path of a text file")
    return path


def corpus_sha(name: str) -> str:
    """SHA-256 of corpus ``name`` (the committed sum for the Dickens files)."""
    return expected_sums()[name] if name in CORPUS_FILES else sha256(corpus_file(name))


def corpus_text(name: str) -> str:
    """The normalised text of corpus ``name``."""
    return read_text(corpus_file(name))


def corpus(name: str = TRAIN_FILE) -> torch.Tensor:
    """The encoded corpus ``name``, shape ``(N,)``.

    The file is verified on every call (hashing 1 MB takes milliseconds); only the encoding is
    memoised, per path, size and modification time.
    """
    path = corpus_file(name)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _encoded:
        _encoded[key] = encode(read_text(path), what=name)
    return _encoded[key]


def data_files() -> list[dict[str, Any]]:
    """The Dickens files: size, characters after normalisation, verified SHA-256."""
    out = []
    for name in CORPUS_FILES:
        path = verify(name)  # raises DataError naming the file if its checksum fails
        out.append({"file": name, "bytes": path.stat().st_size,
                    "characters": len(corpus_text(name)), "sha256": sha256(path)})
    return out


# ---------------------------------------------------------------------------------------------
# Python source from the standard library

TRAIN_BYTES = 1_000_000  # stop adding training files once this many characters are in
HELDOUT_BYTES = 100_000  # then the held-out part, from the next files in the same order
MAX_FILE_BYTES = 100_000  # larger files (typing.py, the pydoc topics) would dominate; skipped
# Folders whose files are not representative hand-written library code, or are machine-specific.
EXCLUDED_DIRS = frozenset({
    "test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__",
    "pydoc_data",  # one large generated string table (the pydoc topics)
    "encodings",  # generated codec tables
})
EXCLUDED_PREFIXES = ("_sysconfigdata", "config-")  # build configuration of this installation
CORPUS_NAME = "python_stdlib"


@dataclass
class PythonCorpus:
    """What :func:`python_corpus` wrote: paths, the Python it came from, and sizes."""

    train_path: Path
    heldout_path: Path
    manifest_path: Path
    python_version: str  # e.g. "3.11.7"
    implementation: str  # e.g. "CPython"
    stdlib: str  # the folder the files were read from
    train_files: list[str] = field(default_factory=list)  # relative paths, in corpus order
    heldout_files: list[str] = field(default_factory=list)
    train_chars: int = 0  # characters (= bytes: the files are ASCII)
    heldout_chars: int = 0
    candidates: int = 0  # .py files eligible by folder, name and size
    skipped: dict[str, str] = field(default_factory=dict)  # relative path -> reason
    train_sha256: str = ""
    heldout_sha256: str = ""

    def summary(self) -> str:
        """One line for logs and the report."""
        return (f"Python {self.python_version} stdlib: {len(self.train_files)} files, "
                f"{self.train_chars:,} characters for training; {len(self.heldout_files)} other "
                f"files, {self.heldout_chars:,} characters held out; "
                f"{len(self.skipped)} files skipped")


def stdlib_dir() -> Path:
    """The standard library folder of the running Python (also when run from a venv)."""
    return Path(sysconfig.get_paths()["stdlib"])


def _order_key(rel: str) -> str:
    # Order by a hash of the relative path: a fixed shuffle, the same on every machine, that
    # mixes packages and modules (alphabetical order would start with asyncio and ctypes).
    return hashlib.sha256(rel.encode()).hexdigest()


def stdlib_files(root: str | Path | None = None, max_file_bytes: int = MAX_FILE_BYTES) -> list[str]:
    """Eligible ``.py`` files under ``root`` (default :func:`stdlib_dir`), in corpus order.

    Relative POSIX paths, ordered by the SHA-256 of the path (see ``_order_key``), leaving out
    the folders in :data:`EXCLUDED_DIRS`, build-configuration files and files larger than
    ``max_file_bytes``.
    """
    root = Path(root) if root is not None else stdlib_dir()
    out = []
    for folder, dirs, names in os.walk(root):
        # prune excluded folders without walking them (the test suite alone is large)
        dirs[:] = [d for d in dirs
                   if d not in EXCLUDED_DIRS and not d.startswith(EXCLUDED_PREFIXES)]
        for name in names:
            if not name.endswith(".py") or name.startswith(EXCLUDED_PREFIXES):
                continue
            path = Path(folder, name)
            if path.is_file() and path.stat().st_size <= max_file_bytes:
                out.append(path.relative_to(root).as_posix())
    return sorted(out, key=_order_key)


def source_text(path: Path) -> str:
    """A source file as corpus text: UTF-8, universal newlines, unidecode, in the vocabulary.

    Raises :class:`SkipFile` with the reason for a file that cannot be used whole.
    """
    try:
        with open(path, encoding="utf-8", newline=None) as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise SkipFile("not UTF-8") from None
    try:
        return normalise(text, what=str(path))
    except DataError:
        bad = next(ch for ch in unidecode(text) if ch not in VOCAB)
        raise SkipFile(f"character {bad!r} (code {ord(bad)}) is not in string.printable "
                       f"after unidecode") from None


class SkipFile(CharlmError):
    """A standard-library file that cannot go into the corpus whole."""


def build_python_corpus(root: str | Path | None = None, train_bytes: int = TRAIN_BYTES,
                        heldout_bytes: int = HELDOUT_BYTES,
                        max_file_bytes: int = MAX_FILE_BYTES) -> tuple[str, str, dict]:
    """The training text, the held-out text and a manifest, without writing anything.

    Files are taken in :func:`stdlib_files` order; each is preceded by a comment line
    ``# file: <relative path>`` and followed by a blank line. Files go to the training text
    until it holds at least ``train_bytes`` characters, then to the held-out text until it
    holds ``heldout_bytes``; so no file is in both.
    """
    root = Path(root) if root is not None else stdlib_dir()
    files = stdlib_files(root, max_file_bytes)
    parts: dict[str, list[str]] = {"train": [], "heldout": []}
    names: dict[str, list[str]] = {"train": [], "heldout": []}
    sizes = {"train": 0, "heldout": 0}
    skipped: dict[str, str] = {}
    for rel in files:
        which = "train" if sizes["train"] < train_bytes else "heldout"
        if which == "heldout" and sizes["heldout"] >= heldout_bytes:
            break
        try:
            text = source_text(root / rel)
        except SkipFile as exc:
            skipped[rel] = str(exc)
            continue
        block = f"# file: {rel}\n{text.rstrip()}\n\n"
        parts[which].append(block)
        names[which].append(rel)
        sizes[which] += len(block)
    if sizes["train"] < train_bytes or sizes["heldout"] < heldout_bytes:
        raise DataError(
            f"the standard library at {root} gives only {sizes['train']:,} + "
            f"{sizes['heldout']:,} characters; {train_bytes:,} + {heldout_bytes:,} were asked for")
    manifest = {
        "python_version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "stdlib": str(root),
        "candidates": len(files),
        "train_files": names["train"],
        "heldout_files": names["heldout"],
        "skipped": skipped,
    }
    return "".join(parts["train"]), "".join(parts["heldout"]), manifest


def python_corpus(out_dir: str | Path | None = None, root: str | Path | None = None,
                  train_bytes: int = TRAIN_BYTES, heldout_bytes: int = HELDOUT_BYTES,
                  max_file_bytes: int = MAX_FILE_BYTES) -> PythonCorpus:
    """Write the Python-source corpus (see :func:`build_python_corpus`) and return its record.

    Writes ``python_stdlib.txt`` (training), ``python_stdlib_heldout.txt`` and
    ``python_stdlib.json`` (the manifest: Python version, file lists, sizes, checksums) into
    ``out_dir`` (default ``runs/corpora``), each atomically and only when its content changed
    (so the files' modification times, and charlm's memo of the encoded corpus, stay put).
    The same Python version with the same standard-library files gives byte-identical files
    on every machine; the manifest says what went in.
    """
    out_dir = Path(out_dir) if out_dir is not None else paths.runs_dir() / "corpora"
    train_text, heldout_text, manifest = build_python_corpus(
        root, train_bytes, heldout_bytes, max_file_bytes)
    rec = PythonCorpus(
        train_path=out_dir / f"{CORPUS_NAME}.txt",
        heldout_path=out_dir / f"{CORPUS_NAME}_heldout.txt",
        manifest_path=out_dir / f"{CORPUS_NAME}.json",
        python_version=manifest["python_version"],
        implementation=manifest["implementation"],
        stdlib=manifest["stdlib"],
        train_files=manifest["train_files"],
        heldout_files=manifest["heldout_files"],
        train_chars=len(train_text),
        heldout_chars=len(heldout_text),
        candidates=manifest["candidates"],
        skipped=manifest["skipped"],
        train_sha256=hashlib.sha256(train_text.encode()).hexdigest(),
        heldout_sha256=hashlib.sha256(heldout_text.encode()).hexdigest(),
    )
    record = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(rec).items()}
    record["python"] = sys.version
    for path, text in ((rec.train_path, train_text), (rec.heldout_path, heldout_text),
                       (rec.manifest_path, json.dumps(record, indent=1) + "\n")):
        if not path.is_file() or path.read_text(encoding="utf-8", errors="replace") != text:
            atomic_write_text(path, text)
    return rec


def python_corpus_config(base: TrainConfig | None = None, **corpus_kwargs) -> TrainConfig:
    """``base`` (default: the coursework defaults) trained on the Python corpus.

    Writes the corpus if needed (keyword arguments go to :func:`python_corpus`).
    """
    base = base or TrainConfig()
    return base.replace(corpus=str(python_corpus(**corpus_kwargs).train_path))

