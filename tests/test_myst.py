"""Computed values in the prose: {eval} roles evaluated by the build, stored as JupyterLab's
jupyterlab-myst stores them, and rendered into the HTML; MyST caption targets."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from charlm.report.assemble import assemble, myst_captions
from charlm.facts import bits, count, share
from charlm.report.myst import expressions, render_expressions, shown

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def ok(text: str, mime: str = "text/plain") -> dict:
    return {"status": "ok", "data": {mime: text}, "metadata": {}}


def test_roles_are_found_once_each_and_not_in_code():
    src = ("A **{eval}`a.bpc`** and {eval}`a.bpc` again, {eval}``x[`k`]``; `{eval}` as code.\n\n"
           "```\n{eval}`not_this`\n```\n")
    assert expressions(src) == ["a.bpc", "x[`k`]"]


def test_stored_values_replace_their_roles_as_jupyterlab_shows_them():
    stored = [{"expression": "a.bpc", "result": ok("2.478")},
              {"expression": "name", "result": ok("'PPMd order_6 *x*'")},
              {"expression": "md", "result": ok("**bold**", "text/markdown")}]
    out = render_expressions("BPC {eval}`a.bpc`, {eval}`name`, {eval}`md`.", stored, "nb cell 1")
    assert out == r"BPC 2.478, PPMd order\_6 \*x\*, **bold**."  # quotes off, markdown escaped
    with pytest.raises(ValueError, match=r"nb cell 2: \{eval\}`b` has no stored value"):
        render_expressions("{eval}`b`", stored, "nb cell 2")
    assert shown(ok('"it\'s"')) == "it's"


def test_facts_show_themselves_formatted_and_compute_as_numbers():
    b, n, s = bits(2.47812), count(6634), share(0.2712)
    assert (repr(b), repr(n), repr(s)) == ("2.478", "6,634", "27%")
    assert b + 1 == pytest.approx(3.47812) and n * 2 == 13268 and f"{b:.1f}" == "2.5"


def test_myst_targets_become_numbered_captions():
    src = "(fig-a)=\nThe loss.\n\n(tab-b)=\n\nOne row per run."
    assert myst_captions(src) == "Figure {#fig-a}: The loss.\n\nTable {#tab-b}: One row per run."


def _notebook(path, cells):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "charlm", "display_name": "Python (charlm)", "language": "python"}
    nbformat.write(nb, str(path))


def _start(tmp_path):
    """A notebooks folder and a parameters cell declaring ``n``."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    params = new_code_cell("n: int = 1  # a parameter")
    params.metadata["tags"] = ["parameters"]
    return nbs, params


@pytest.mark.slow
def test_the_build_evaluates_roles_where_they_stand_and_the_page_shows_them(tmp_path):
    nbs, params = _start(tmp_path)
    _notebook(nbs / "00_a.ipynb", [
        new_markdown_cell("# T"), params,
        new_code_cell("from charlm.facts import bits\nx = bits(n / 3)"),
        new_markdown_cell("Now **{eval}`x`** and {eval}`n * 2`."),
        new_code_cell("x = 99"),
    ])
    out = tmp_path / "out" / "report.html"
    proc = subprocess.run([sys.executable, "-m", "charlm.report", "--notebooks", str(nbs), "-p", "n", "2",
                           "--output", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    nb = nbformat.read(str(tmp_path / "out" / "executed" / "00_a.ipynb"), as_version=4)
    stored = nb.cells[4].metadata["user_expressions"]  # after the injected parameters cell
    assert [s["expression"] for s in stored] == ["x", "n * 2"]
    assert stored[0]["result"]["data"]["text/plain"] == "0.667"  # the value there, not 99
    assert "Now <strong>0.667</strong> and 4." in out.read_text()


@pytest.mark.slow
def test_a_failing_role_stops_the_build_naming_the_expression(tmp_path):
    nbs, params = _start(tmp_path)
    _notebook(nbs / "00_a.ipynb", [new_markdown_cell("# T"), params,
                                   new_markdown_cell("Bad: {eval}`missing + n`.")])
    proc = subprocess.run([sys.executable, "-m", "charlm.report", "--notebooks", str(nbs),
                           "--output", str(tmp_path / "out" / "report.html")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 1
    assert "{eval}`missing + n` raised NameError: name 'missing' is not defined" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_assembly_refuses_a_role_that_was_never_evaluated(tmp_path):
    _notebook(tmp_path / "m.ipynb", [new_markdown_cell("# M\n\nValue {eval}`v`.")])
    with pytest.raises(Exception, match=r"m.ipynb cell 1: \{eval\}`v` has no stored value"):
        assemble([tmp_path / "m.ipynb"], tmp_path / "r.html")
