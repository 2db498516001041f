"""Where things live. Every default path in charlm is derived from here.

The repository root is the folder above this package (charlm is installed in editable
mode). ``CHARLM_DATA_DIR`` moves the corpus, ``CHARLM_RUNS_DIR`` the checkpoints and the
run cache; both default to folders inside the repository so that the CLI, the notebooks
and the tests agree whatever their working directory is.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Folder holding the corpus files and their committed ``SHA256SUMS``."""
    return _folder("CHARLM_DATA_DIR", ROOT / "data")


def runs_dir() -> Path:
    """Folder for checkpoints (``default.pt``) and the cache of trained runs."""
    return _folder("CHARLM_RUNS_DIR", ROOT / "runs")


def figures_dir() -> Path:
    """Folder for PNG figures."""
    return _folder("CHARLM_FIGURES_DIR", ROOT / "figures")


def _folder(variable: str, default: Path) -> Path:
    """The folder ``variable`` names (else ``default``), which may not exist yet; a path that is
    a file, or lies under one, is a :class:`~charlm.errors.ConfigError` naming the variable."""
    folder = Path(os.environ.get(variable) or default)
    here = folder
    while not here.exists() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        how = f"{variable}={folder}" if os.environ.get(variable) else str(folder)
        at = "is a file" if here == folder else f"lies under {here}, which is a file"
        raise ConfigError(f"{how} {at}, not a folder; point it at a folder")
    return folder


@contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration, then restore them.

    Child processes started meanwhile (notebook kernels, pool and Dask workers) inherit them,
    which is how the report and the backend comparison point them at other folders.
    """
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


SUMS_FILE = ROOT / "data" / "SHA256SUMS"
