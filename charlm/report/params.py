"""The report's notebooks and their parameters: what each ``parameters`` cell declares, the
YAML parameters files and ``-p`` values, and the share of them each notebook gets, typed.

Each notebook gets only the parameters its ``parameters`` cell declares, with the declared type
checked first (read by :func:`charlm.config.parse_as`, the parser of the command line and the
settings files), and a name no notebook declares is an error: a typo would otherwise be
silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import nbformat
import papermill
import yaml

from .. import paths
from ..config import parse_as
from .errors import ReportError

NOTEBOOKS_DIR = paths.ROOT / "notebooks"
QUICK_PARAMS = NOTEBOOKS_DIR / "params" / "quick.yaml"
_ASSIGNMENT = re.compile(r"^(\w+)\s*(?::[^=]*)?=")


def notebook_files(folder: str | Path = NOTEBOOKS_DIR) -> list[Path]:
    """The report's notebooks, in order: ``NN_name.ipynb`` files of ``folder``."""
    files = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not files:
        raise ReportError(f"no notebooks (NN_name.ipynb) in {folder}")
    return files


def declared_parameters(path: str | Path) -> dict[str, str]:
    """Name -> declared type (``int``, ``float``, ``str``, ``bool``...) of a notebook's
    ``parameters`` cell; exactly one such cell is required."""
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ReportError(f"{Path(path).name} must have exactly one cell tagged 'parameters', "
                          f"found {len(tagged)}")
    try:
        inspected = papermill.inspect_notebook(str(path))
    except ValueError as exc:  # e.g. no kernelspec in the notebook's metadata
        raise ReportError(f"{Path(path).name}: papermill cannot read its parameters ({exc})") from None
    found = {name: info["inferred_type_name"] for name, info in inspected.items()}
    assigned = [ln for ln in tagged[0].source.splitlines() if _ASSIGNMENT.match(ln)]
    if len(assigned) != len(found):
        missed = [ln for ln in assigned if _ASSIGNMENT.match(ln).group(1) not in found]
        raise ReportError(f"{Path(path).name}: papermill cannot read the parameter line(s) "
                          f"{missed} (one `name: type = value  # comment` per line, no '=' in "
                          f"the comment)")
    return found


def read_params_file(path: str | Path) -> dict[str, Any]:
    """A YAML mapping of parameter name -> value."""
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"parameters file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ReportError(f"parameters file {path} is not valid YAML"
                          + (f" (line {mark.line + 1})" if mark else "")) from None
    if not isinstance(values, dict):
        raise ReportError(f"parameters file {path} must be a mapping of name: value")
    return values


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill reads it: YAML scalar (``500`` int, ``0.01`` float, else str)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, str, bool)) or value is None else text


def _coerce(name: str, value: Any, declared: str, where: str) -> Any:
    """``value`` as the type the notebook declares, read by the parser the command line and the
    settings files use (:func:`charlm.config.parse_as`: ``-p lr 1e-3`` is a float)."""
    try:
        return parse_as(declared, value)
    except ValueError:
        raise ReportError(f"parameter {name} must be {declared} (as declared in {where}), "
                          f"got {value!r}") from None


def split_params(params: dict[str, Any], notebooks: Sequence[Path]) -> dict[Path, dict[str, Any]]:
    """The parameters each notebook declares, type-checked; unknown names are an error."""
    per_nb: dict[Path, dict[str, Any]] = {}
    for nb in notebooks:
        declared = declared_parameters(nb)
        per_nb[nb] = {name: _coerce(name, value, declared[name], nb.name)
                      for name, value in params.items() if name in declared}
    unknown = sorted(set(params) - {name for mine in per_nb.values() for name in mine})
    if unknown:
        known = sorted({n for nb in notebooks for n in declared_parameters(nb)})
        raise ReportError(f"unknown parameter(s) {', '.join(unknown)}; the notebooks take: "
                          f"{', '.join(known)}")
    return per_nb


__all__ = ["NOTEBOOKS_DIR", "QUICK_PARAMS", "declared_parameters", "notebook_files", "parse_value",
           "read_params_file", "split_params"]
