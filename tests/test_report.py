"""The assembled report: one self-contained HTML file with every section, figure, table and
sample, nothing fetched from outside it, a working static slider in a real browser, escaped
generated text, a lock against concurrent builds, and failures that name the cell."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report_build import quick_build, tiny_notebooks  # noqa: E402

from charlm.report import build as report  # noqa: E402
from charlm.report.assemble import assemble, external_refs  # noqa: E402
from charlm.report.errors import NotebookFailed, ReportError, find_errors  # noqa: E402
from charlm.report.schedule import critical_paths, makespan  # noqa: E402
from charlm.codegraph import code_digest, graph  # noqa: E402
from charlm.report.execute import execution_key, notebook_code, report_lock, select_notebooks  # noqa: E402
from charlm.report.params import QUICK_PARAMS, notebook_files, read_params_file  # noqa: E402
from charlm.report.furniture import MAIN_WORDS, NO_ALT, QUICK_MARGIN, word_count  # noqa: E402
from charlm.report.display import pre, sample, table_html  # noqa: E402
from charlm.report.slider import static_slider  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
EVIL = 'Dickens & Co. <script>window.__pwned = 1; alert(1)</script> <img src=x onerror="alert(2)">'


class _Refs(HTMLParser):
    """Every src/href attribute of a page (an independent check of charlm.report's own)."""

    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.scripts_with_src = 0

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href"):
                self.refs.append(value or "")
        if tag == "script" and any(n == "src" for n, _ in attrs):
            self.scripts_with_src += 1


def built():
    qb = quick_build()
    if qb.error is not None:
        raise AssertionError(f"the QUICK report build failed: {qb.error}")
    assert not qb.build.errors, qb.build.errors
    assert qb.build.html == qb.html_path and qb.html_path.is_file()
    return qb


@pytest.fixture(scope="module")
def page() -> str:
    return built().html_path.read_text()


# ---------------------------------------------------------------- the QUICK report


@pytest.mark.slow
def test_report_has_every_section(page):
    for heading in ("The data and the model", "4.1 Training with the defaults", "4.2 Tuning hyperparameters",
                    "4.3 The learning rate", "4.4 Temperature"):
        assert re.search(r"<h2[^>]*>\s*" + re.escape(heading), page), heading
    assert "Risks of automatic text generation" in page and "Who is responsible" in page
    assert "QUICK build" in page  # a smoke build says so at the top


@pytest.mark.slow
def test_report_is_a_document_numbered_captioned_contents_and_short(page):
    assert NO_ALT not in page and "{#fig-" not in page and "{#tab-" not in page
    figures = re.findall(r"<strong>Figure (\d+)\.</strong>", page)
    assert figures and figures == [str(i) for i in range(1, len(figures) + 1)]
    ids = re.findall(r'<h[1-4] id="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # every anchor unique
    nav = page[page.index('<nav class="charlm-toc">'):page.index("</nav>")]
    assert "Risks of automatic text generation" in nav and "Appendix A" in nav
    assert nav.count("<ol>") > 3  # the contents list has a second level
    words = word_count(page)
    assert words.main <= MAIN_WORDS + QUICK_MARGIN and words.appendix > 0


@pytest.mark.slow
def test_report_embeds_its_figures_and_writes_them(page):
    images = re.findall(r'<img[^>]+src="data:image/png;base64,', page)
    assert len(images) >= 3
    figures = {p.name for p in (built().folder / "figures").glob("*.png")}
    assert {"default_loss.png", "bpc_by_param.png", "loss_by_lr.png",
            "temperature_distribution.png"} <= figures


@pytest.mark.slow
def test_report_has_the_experiment_table_and_log(page):
    qb = built()
    log = (qb.folder / "experiment_logs.csv").read_text().splitlines()
    assert log[0].startswith("key,") and len(log) >= 1 + 6  # 4.2's six QUICK runs at least
    tables = re.findall(r'<table class="charlm-table".*?</table>', page, re.S)
    study = [t for t in tables if "BPC (test)" in t and "varied" in t]
    assert study, "the 4.2 table is missing"
    assert study[0].count("<tr>") - 1 == 6  # header + one row per run of the QUICK grid


@pytest.mark.slow
def test_report_has_the_four_temperature_samples(page):
    for t in ("0.1", "0.5", "1", "2"):
        assert f"<strong>T = {t}</strong>" in page, t
    assert len(re.findall(r'<pre class="charlm-text"', page)) >= 4
    assert re.search(r'<div class="charlm-slider" id="charlm-slider-[0-9a-f]+">', page)
    assert page.count('data-symbol="T"') == 20  # 0.1 to 2.0 in steps of 0.1
    assert page.count('data-symbol="k"') >= 3 and page.count('data-symbol="p"') >= 3


@pytest.mark.slow
def test_report_has_no_errors_no_inputs_no_parameters_no_live_cells(page):
    assert "Traceback" not in page
    mimes = set(re.findall(r'data-mime-type="([^"]+)"', page))  # of rendered outputs (not CSS)
    assert mimes <= {"text/html", "text/markdown", "image/png", "text/plain"}, mimes
    assert "hl-ipython3" not in page and "In&nbsp;[" not in page  # code input and prompts hidden
    assert "injected-parameters" not in page and "Parameters: papermill" not in page
    assert "live slider" not in page and "widget-view+json" not in page


@pytest.mark.slow
def test_report_points_nowhere_outside_itself(page):
    refs = _Refs()
    refs.feed(page)
    outside = [r for r in refs.refs if not (r.startswith("data:") or r.startswith("#"))]
    assert outside == []
    assert refs.scripts_with_src == 0
    assert "<link" not in page and "@import" not in page
    assert not re.search(r"(require\.js|requirejs|mathjax|unpkg\.com|cdnjs|jsdelivr)", page, re.I)


# ---------------------------------------------------------------- in a real browser


def _browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing in CI; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); CI must have it")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


@pytest.mark.slow
def test_browser_loads_every_image_and_the_static_slider_works():
    html_path = built().html_path
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            requests, errors = [], []
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html_path.as_uri())
            page.wait_for_load_state("load")
            widths = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
            assert len(widths) >= 3 and all(w > 0 for w in widths), widths
            sliders = page.locator(".charlm-slider")
            assert sliders.count() == 3  # temperature, top-k, top-p
            root = page.locator(".charlm-slider:has(pre[data-symbol='T'])")
            slider = root.locator("input[type=range]")
            shown = root.locator("pre:not([hidden])")
            first, first_t = shown.inner_text(), root.locator("output").inner_text()
            slider.fill("0")
            low, low_t = shown.inner_text(), root.locator("output").inner_text()
            slider.fill(slider.get_attribute("max"))
            high, high_t = shown.inner_text(), root.locator("output").inner_text()
            assert (first_t, low_t, high_t) == ("1", "0.1", "2")
            assert low != high and first != high
            assert page.locator(".charlm-slider pre:not([hidden])").count() == 3
            assert errors == []
            assert all(u.startswith(("file:", "data:")) for u in requests), requests
        finally:
            browser.close()


def _executed_notebook(path: Path, html_outputs: list[str]) -> Path:
    """A small 'executed' notebook whose outputs are the given HTML snippets."""
    nb = new_notebook(cells=[new_markdown_cell("# Escaping\n\n## A section")])
    for snippet in html_outputs:
        cell = new_code_cell("x")
        cell.outputs = [new_output("display_data", data={"text/html": snippet, "text/plain": "x"})]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "charlm", "display_name": "Python (charlm)", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_generated_text_is_escaped_in_the_html(tmp_path):
    snippets = [pre(EVIL).data, sample("A prime ", EVIL).data,
                static_slider({0.5: EVIL, 1.0: "safe & sound"}, prime="<b>")]
    out = assemble([_executed_notebook(tmp_path / "x.ipynb", snippets)], tmp_path / "r.html")
    page = out.read_text()
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__pwned = 1; alert(1)&lt;/script&gt;" in page
    assert "Dickens &amp; Co." in page and "safe &amp; sound" in page and "&lt;b&gt;" in page
    assert external_refs(page) == []  # escaped text is not markup: `src=x` does not count


@pytest.mark.slow
def test_generated_text_shows_as_text_and_runs_nothing_in_the_browser(tmp_path):
    snippets = [pre(EVIL).data, static_slider({0.5: EVIL, 1.0: "safe & sound"}, prime="A", initial=1.0)]
    out = assemble([_executed_notebook(tmp_path / "x.ipynb", snippets)], tmp_path / "r.html")
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(out.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("pre.charlm-text").first.text_content() == EVIL
            slider = page.locator(".charlm-slider input[type=range]")
            assert page.locator(".charlm-slider pre:not([hidden])").text_content() == "Asafe & sound"
            slider.fill("0")
            assert page.locator(".charlm-slider pre:not([hidden])").text_content() == "A" + EVIL
            assert dialogs == [] and page.evaluate("window.__pwned") is None
        finally:
            browser.close()


# ---------------------------------------------------------------- assembly and failures


def test_table_html_escapes_and_aligns():
    import pandas as pd

    html = table_html(pd.DataFrame({"name": ["<i>x</i>"], "bpc": [2.5]}), formats={"bpc": "{:.2f}"})
    assert "&lt;i&gt;x&lt;/i&gt;" in html and ">2.50<" in html
    assert 'text-align:left">&lt;i' in html and 'text-align:right">2.50' in html


def test_assembly_drops_tagged_cells_and_refuses_error_outputs(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# T\n\n## S")])
    for tag, text in (("parameters", "PARAMS-CELL"), ("injected-parameters", "INJECTED-CELL"),
                      ("live-only", "LIVE-CELL"), (None, "KEPT-CELL")):
        cell = new_code_cell(f"print('{text}')")
        cell.outputs = [new_output("stream", name="stdout", text=text)]
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    nbformat.write(nb, str(tmp_path / "ok.ipynb"))
    page = assemble([tmp_path / "ok.ipynb"], tmp_path / "r.html").read_text()
    assert "KEPT-CELL" in page and "print(" not in page
    assert not any(t in page for t in ("PARAMS-CELL", "INJECTED-CELL", "LIVE-CELL"))

    bad = new_code_cell("1/0")
    bad.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                              traceback=["..."])]
    nb.cells.append(bad)
    nbformat.write(nb, str(tmp_path / "bad.ipynb"))
    with pytest.raises(NotebookFailed, match=r"bad\.ipynb: cell 6 has an error output \(ZeroDivisionError"):
        assemble([tmp_path / "bad.ipynb"], tmp_path / "r2.html")
    assert (tmp_path / "r.html").read_text() == page and not (tmp_path / "r2.html").exists()


def test_assembly_refuses_a_page_that_points_outside(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# T\n\nsee [the course](https://example.org/x)")])
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    with pytest.raises(ReportError, match="https://example.org/x"):
        assemble([tmp_path / "a.ipynb"], tmp_path / "r.html")


def test_unknown_or_mistyped_parameters_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ReportError, match="unknown parameter.*n_epoch\\b"):
        report.build(overrides={"n_epoch": 5}, output=tmp_path / "r.html", say=None)
    with pytest.raises(ReportError, match="n_epochs must be int"):
        report.build(overrides={"n_epochs": 1.5}, output=tmp_path / "r.html", say=None)
    assert not (tmp_path / "executed").exists()


@pytest.mark.slow
def test_a_second_concurrent_build_stops_with_a_clear_message(tmp_path):
    with report_lock(tmp_path / ".lock"):
        proc = subprocess.run(
            [sys.executable, "-m", "charlm.report", "--output", str(tmp_path / "report.html")],
            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "another report build is running" in proc.stderr and str(os.getpid()) in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "executed").exists()
    with report_lock(tmp_path / ".lock"):  # released: free again
        pass


@pytest.mark.slow
def test_a_failing_cell_stops_the_build_naming_notebook_and_cell(tmp_path):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    params = new_code_cell("n: int = 1  # a parameter")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[new_markdown_cell("# T"), params, new_code_cell("x = n + 1"),
                             new_code_cell("raise ValueError(f'bad value {x}')")])
    nb.metadata["kernelspec"] = {"name": "charlm", "display_name": "Python (charlm)", "language": "python"}
    nbformat.write(nb, str(nbs / "00_broken.ipynb"))
    proc = subprocess.run(
        [sys.executable, "-m", "charlm.report", "--notebooks", str(nbs), "-p", "n", "41",
         "--output", str(tmp_path / "out" / "report.html")],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "00_broken.ipynb: cell 4 (`raise ValueError(f'bad value {x}')`) raised ValueError: bad value 42" in proc.stderr
    assert "Traceback" not in proc.stderr
    executed = nbformat.read(str(tmp_path / "out" / "executed" / "00_broken.ipynb"), as_version=4)
    assert find_errors(executed)  # the executed copy keeps the traceback for the reader
    assert not (tmp_path / "out" / "report.html").exists()


def test_make_report_passes_its_options_to_the_build():
    proc = subprocess.run(["make", "-n", "report", "QUICK=1", "ONLY=04 05", "FORCE=1",
                           "ARGS=-p n_epochs 7"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    line = next(ln for ln in proc.stdout.splitlines() if "charlm.report" in ln)
    assert "CHARLM_PROGRESS=0" in line and "--quick" in line and "-p n_epochs 7" in line
    assert "--only 04 --only 05" in line and "--force" in line
    assert json.loads(json.dumps(read_params_file(QUICK_PARAMS)))["n_epochs"] <= 50


# ---------------------------------------------------------------- incremental builds


def test_the_execution_key_follows_cells_parameters_and_package_not_outputs(tmp_path):
    a, _ = tiny_notebooks(tmp_path)
    key = execution_key(a, {"n": 1}, code="p1")
    assert execution_key(a, {"n": 1}, code="p1") == key
    assert execution_key(a, {"n": 2}, code="p1") != key
    assert execution_key(a, {"n": 1}, code="p2") != key
    nb = nbformat.read(str(a), as_version=4)
    nb.cells[2].outputs = [new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nbformat.write(nb, str(a))
    assert execution_key(a, {"n": 1}, code="p1") == key  # outputs do not count
    nb.cells[0].source += " (edited)"
    nbformat.write(nb, str(a))
    assert execution_key(a, {"n": 1}, code="p1") != key  # prose does


def test_only_names_notebooks_by_number_or_name(tmp_path):
    nbs = tiny_notebooks(tmp_path)
    assert select_notebooks(nbs, ["01"]) == {nbs[1]}
    assert select_notebooks(nbs, ["00_a", "01_b.ipynb"]) == set(nbs)
    with pytest.raises(ReportError, match="--only 07: no such notebook"):
        select_notebooks(nbs, ["07"])


def _executed(lines: list[str]) -> list[str]:
    """The notebooks a build's lines say it started."""
    return sorted(m.group(1) for ln in lines if (m := re.match(r"\[ *\d+:\d\d\] (\w+) \.\.\.( \(about|$)", ln)))


@pytest.mark.slow
def test_a_rebuild_executes_only_what_changed(tmp_path):
    nbs = tiny_notebooks(tmp_path / "notebooks")
    out = tmp_path / "out" / "report.html"

    def build(**kw):
        lines = []
        report.build(notebooks_dir=nbs[0].parent, output=out, say=lines.append, **kw)
        return _executed(lines), [ln for ln in lines if ln.endswith(("up to date", "kept as it is"))]

    assert build() == (["00_a", "01_b"], [])
    assert build() == ([], ["[1/2] 00_a.ipynb: up to date", "[2/2] 01_b.ipynb: up to date"])
    nb = nbformat.read(str(nbs[1]), as_version=4)
    nb.cells[0].source = "# second, edited"
    nbformat.write(nb, str(nbs[1]))
    assert build() == (["01_b"], ["[1/2] 00_a.ipynb: up to date"])
    assert "second, edited" in out.read_text()
    assert build(only=["00"]) == (["00_a"], ["[2/2] 01_b.ipynb: kept as it is"])
    assert build(force=True) == (["00_a", "01_b"], [])


@pytest.mark.slow
def test_a_build_runs_notebooks_side_by_side_showing_progress_and_keeps_it_out_of_them(tmp_path, capsys):
    nbs = tiny_notebooks(tmp_path / "notebooks")
    for nb_path in nbs:  # each waits 3 s: side by side the two take about 3 s, not 6
        nb = nbformat.read(str(nb_path), as_version=4)
        nb.cells.append(new_code_cell("import os, time\ntime.sleep(3)\nprint(os.getcwd())"))
        nbformat.write(nb, str(nb_path))
    out = tmp_path / "out" / "report.html"
    here = os.getcwd()
    result = report.build(notebooks_dir=nbs[0].parent, output=out, say=print, overrides={"n": 2})
    assert os.getcwd() == here  # side by side, no notebook moved this process elsewhere
    lines = capsys.readouterr().out.splitlines()
    starts = [i for i, ln in enumerate(lines) if re.search(r"\] \w+ \.\.\.( \(about|$)", ln)]
    dones = [i for i, ln in enumerate(lines) if re.search(r"\] \w+ done in \d+ s; \d/2 done; ", ln)]
    assert len(starts) == 2 and len(dones) == 2 and max(starts) < min(dones), lines  # both ran at once
    cells = [ln for ln in lines if re.search(r"\]     0[01] cell \d/4 ", ln)]
    assert len(cells) == 2 * 4, lines  # per notebook: parameters, injected parameters, `n + 1`, sleep
    assert all(r.seconds >= 3 for r in result.runs)
    for nb_path in nbs:  # each kernel ran in the notebooks' folder
        done = nbformat.read(str(out.parent / "executed" / nb_path.name), as_version=4)
        assert done.cells[-1].outputs[0]["text"].strip() == str(nb_path.parent)
    executed = (tmp_path / "out" / "executed" / "00_a.ipynb").read_text()
    assert "cell 3/4" not in executed and "\r" not in executed
    meta = nbformat.read(str(tmp_path / "out" / "executed" / "00_a.ipynb"), as_version=4).metadata
    assert meta["charlm"]["seconds"] >= 3  # the estimate of the next build


def test_the_schedule_starts_the_longest_chain_first_and_estimates_the_time_left():
    a, b, c, d = (Path(f"{i:02d}_x") for i in range(4))
    needs = {a: set(), b: set(), c: {a}, d: set()}
    expect = {a: 600.0, b: 100.0, c: 50.0, d: 300.0}
    chains = critical_paths([a, b, c, d], needs, expect)
    assert chains == {a: 650.0, b: 100.0, c: 50.0, d: 300.0}
    assert makespan([], [600, 100, 50, 300], 2) == 600
    assert makespan([500], [100, 50], 2) == 500 and makespan([10], [100, 50], 2) == 100
    assert makespan([], [60, 60, 60], 1) == 180


def test_formulas_become_mathml_in_the_page_and_dollars_in_code_stay(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell(
        "# Maths\n\nInline $m_t = \\beta_1 m_{t-1}$ and a display\n\n$$\\Delta w = -\\frac{a}{b}$$\n\n"
        "Code keeps `$x$`, and prices stay text: $5 and $6.")])
    nb.metadata["kernelspec"] = {"name": "charlm", "display_name": "Python (charlm)", "language": "python"}
    nbformat.write(nb, str(tmp_path / "m.ipynb"))
    page = assemble([tmp_path / "m.ipynb"], tmp_path / "r.html").read_text()
    assert "<msub><mi>m</mi><mi>t</mi></msub>" in page  # elements nested, not taken apart
    assert 'display="block"' in page and "<mfrac>" in page
    assert "<code>$x$</code>" in page and "$5 and $6." in page
    assert "charlmmath" not in page and "$m_t" not in page


def test_the_answers_at_a_glance_open_the_report_and_link_to_their_parts(tmp_path):
    paths = []
    for i, (title, line) in enumerate([("# The report", None), ("## 4.1 Training with the defaults", "BPC **2.478**."),
                                       ("## Beyond the coursework: the best model", "BPC 1.875.")]):
        cells = [new_markdown_cell(title + "\n\nIts text.")]
        if line:
            glance = new_markdown_cell(line)
            glance.metadata["tags"] = ["at-a-glance"]
            cells.append(glance)
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "charlm", "display_name": "Python (charlm)", "language": "python"}
        nbformat.write(nb, str(tmp_path / f"0{i}.ipynb"))
        paths.append(tmp_path / f"0{i}.ipynb")
    page = assemble(paths, tmp_path / "r.html").read_text()
    order = [page.find(s) for s in ('id="The-report"', 'id="The-answers-at-a-glance"',
                                     'href="#4.1-Training-with-the-defaults">4.1 Training with the defaults</a>: BPC <strong>2.478</strong>.',
                                     '<nav class="charlm-toc"><details>', 'id="4.1-Training-with-the-defaults"')]
    assert -1 not in order and order == sorted(order), order
    assert page.count("BPC 1.875.") == 1  # moved to the top, not repeated in its part


def test_an_edit_of_a_module_re_executes_only_the_notebooks_that_use_it(tmp_path):
    shutil.copytree(ROOT / "charlm", tmp_path / "charlm")
    codes = {nb.stem[:2]: notebook_code(nbformat.read(str(nb), as_version=4)) for nb in notebook_files()}

    def keys():
        graph.cache_clear()
        return {n: code_digest(code, root=tmp_path) for n, code in codes.items()}

    try:
        before = keys()
        with open(tmp_path / "charlm" / "report" / "sections" / "inside.py", "a") as fh:
            fh.write("\n# an edit\n")
        after = keys()
        assert {n for n in codes if before[n] != after[n]} == {"07", "16"}
        with open(tmp_path / "charlm" / "train.py", "a") as fh:  # the training loop: every notebook
            fh.write("\n# an edit\n")
        assert all(a != b for a, b in zip(after.values(), keys().values()))
    finally:
        graph.cache_clear()


@pytest.mark.slow
def test_a_failure_stops_the_notebooks_still_running(tmp_path):
    nbs = tiny_notebooks(tmp_path / "notebooks")
    for path, code in zip(nbs, ["import time\ntime.sleep(600)", "import time\ntime.sleep(3)\nraise ValueError('boom')"]):
        nb = nbformat.read(str(path), as_version=4)
        nb.cells.append(new_code_cell(code))
        nbformat.write(nb, str(path))
    proc = subprocess.run([sys.executable, "-m", "charlm.report", "--notebooks", str(nbs[0].parent),
                           "--output", str(tmp_path / "out" / "report.html")],
                          capture_output=True, text=True, cwd=ROOT, timeout=180)  # not the 600 s
    assert proc.returncode == 1 and "raised ValueError: boom" in proc.stderr
    assert not list((tmp_path / "out" / "executed").glob(".*.ipynb"))  # no temporary left
