"""The report's notebooks: committed clean, parameterised as papermill expects, and each one
runs top to bottom with tiny parameters (the QUICK build shared with test_report.py)."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import fields
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report_build import quick_build  # noqa: E402

from charlm.config import DEFAULTS, TrainConfig  # noqa: E402
from charlm.report.errors import find_errors  # noqa: E402
from charlm.report.params import declared_parameters, notebook_files  # noqa: E402

NOTEBOOKS = notebook_files()
PARAM_LINE = re.compile(r"^(\w+): (int|float|str|bool) = (.+?)  # \S.*$")
DEFAULTS_IMPORT = "from charlm.config import DEFAULTS"
FIELDS = {f.name for f in fields(TrainConfig)}


def read(path: Path):
    return nbformat.read(str(path), as_version=4)


def test_the_report_has_its_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert names[0].startswith("00_") and len(names) >= 5
    for part in ("default_training", "hyperparameters", "learning_rate", "temperature"):
        assert any(part in n for n in names), names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebook_is_committed_without_outputs(path):
    nb = read(path)
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs; clear them before committing"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
    assert "widgets" not in nb.metadata and "papermill" not in nb.metadata
    assert nb.metadata["kernelspec"]["name"] == "charlm"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_of_annotated_commented_scalars(path):
    nb = read(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
    lines = [ln for ln in tagged[0].source.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines or "has none" in tagged[0].source, f"{path.name}: an empty parameters cell says so"
    if lines and lines[0].startswith(DEFAULTS_IMPORT):  # first, so papermill reads every line
        lines = lines[1:]
    for line in lines:
        m = PARAM_LINE.match(line)
        assert m, f"{path.name}: parameter line {line!r} is not `name: type = value  # comment`"
        name, declared, text = m.groups()
        value = getattr(DEFAULTS, name) if text == f"DEFAULTS.{name}" else ast.literal_eval(text)
        assert type(value).__name__ == declared, line
    # papermill reads every one of them (a '=' in a comment would hide a parameter)
    assert len(declared_parameters(path)) == len(lines)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_training_parameters_at_the_coursework_defaults_take_them_from_the_config(path):
    """`n_epochs: int = DEFAULTS.n_epochs`, not a retyped 3000 that a new default would leave
    behind; values of the notebook's own (0 for "the preset's", a shorter run) stay literal."""
    source = next(c for c in read(path).cells if "parameters" in c.metadata.get("tags", [])).source
    retyped = []
    for line in source.splitlines():
        m = PARAM_LINE.match(line)
        if m and m.group(1) in FIELDS and not m.group(3).startswith("DEFAULTS."):
            value, default = ast.literal_eval(m.group(3)), getattr(DEFAULTS, m.group(1))
            if type(value) is type(default) and value == default:
                retyped.append(line)
    assert not retyped, f"{path.name}: write these as DEFAULTS.<name>: {retyped}"
    uses = "DEFAULTS." in source.replace(DEFAULTS_IMPORT, "")
    assert uses == (DEFAULTS_IMPORT in source), f"{path.name}: import DEFAULTS where it is used"


def _bound_names(tree: ast.Module) -> list[str]:
    """The module-level names a cell binds (imports, assignments, loop targets)."""
    names = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
        else:  # comprehension variables are bound too, but do not leak: harmless here
            names += [n.id for n in ast.walk(node)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
    return names


def _reads_globals(path) -> bool:
    return "from_parameters(globals()" in "".join(c.source for c in read(path).cells)


READING_GLOBALS = [p for p in NOTEBOOKS if _reads_globals(p)]


def test_most_notebooks_read_their_settings_from_their_parameters():
    assert len(READING_GLOBALS) >= 8, [p.name for p in READING_GLOBALS]


@pytest.mark.parametrize("path", READING_GLOBALS, ids=lambda p: p.stem)
def test_no_global_but_a_parameter_has_the_name_of_a_training_setting(path):
    """`TrainConfig.from_parameters(globals())` reads every global named like a field (but
    functions and modules), so a value bound beside the parameters under a setting's name
    would be taken for that setting: only the parameters cell may bind such names."""
    cells = [c for c in read(path).cells if c.cell_type == "code"
             and "parameters" not in c.metadata.get("tags", [])]
    clash = sorted({n for c in cells for n in _bound_names(ast.parse(c.source)) if n in FIELDS})
    assert not clash, f"{path.name} binds {clash}, names of TrainConfig fields; rename them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_call_charlm_and_define_no_model_training_or_sampling_code(path):
    code = "\n".join(c.source for c in read(path).cells if c.cell_type == "code")
    for pattern in (r"^\s*def ", r"^\s*class ", r"\.backward\(", r"optim\.", r"nn\.LSTM",
                    r"torch\.multinomial", r"softmax\(", r"for .* in range\(.*n_epochs"):
        assert not re.search(pattern, code, re.M), f"{path.name} has {pattern!r}: put it in charlm"
    assert "from charlm" in code


def test_live_slider_cell_is_tagged_so_the_report_drops_it():
    nb = read(next(p for p in NOTEBOOKS if "temperature" in p.name))
    live = [c for c in nb.cells if "live_slider(" in c.source and c.cell_type == "code"
            and not c.source.lstrip().startswith(("import", "from"))]
    assert live and all("live-only" in c.metadata.get("tags", []) for c in live)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_tiny_parameters(path):
    qb = quick_build()
    if qb.error is not None and qb.build is None:
        raise AssertionError(f"the QUICK build failed before running notebooks: {qb.error}")
    run = {r.source.name: r for r in qb.build.runs}.get(path.name)
    assert run is not None, f"{path.name} was not run"
    assert run.error is None, run.error  # names the notebook, the cell and its first line
    executed = read(run.executed)
    assert find_errors(executed) == []
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    declared = declared_parameters(path)
    if "n_epochs" in declared:
        assert injected and "n_epochs = 30" in injected[0].source  # the QUICK budget reached it
    for i, cell in enumerate(executed.cells, 1):
        shows = re.search(r"^\s*(md|table|pre|sample|checks_table|HTML|display)\(", cell.source, re.M)
        if cell.cell_type == "code" and shows and not cell.get("outputs"):
            raise AssertionError(f"{path.name} cell {i} displays nothing (a md()/table() call "
                                 f"inside a block is not shown; use display() or a last line)")
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            # no progress-bar spray in executed notebooks, no warnings
            assert not (out.get("name") == "stderr"), f"{path.name}: stderr output {text[:200]!r}"
            assert "\r" not in text and "it/s" not in text, f"{path.name}: progress output"
