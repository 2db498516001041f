"""The recorded build times: rendered into the README from one file, recorded by the builds,
never drifting from the committed README, and never breaking a build they cannot be written in."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report_build import tiny_notebooks  # noqa: E402

from charlm.paths import environ  # noqa: E402
from charlm.report import build as report  # noqa: E402
from charlm import timings  # noqa: E402
from charlm.report.execute import NotebookRun  # noqa: E402

GIVEN = {
    "report": {"cached": {"minutes": 9.1, "date": "2026-12-01", "cores": 2, "commit": None},
               "trained": {"minutes": 31.46, "date": "2026-12-02", "cores": 2, "commit": "abc"}},
    "test": {"minutes": 7.2, "date": "2026-12-01", "cores": 2, "tests": 776, "fresh_clone": True,
             "commit": None},
}
JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0"
failures="0" skipped="3" tests="12" time="4.2"/></testsuites>"""


def _readme(folder: Path, block: str = f"{timings.BEGIN}\nold\n{timings.END}") -> Path:
    path = folder / "README.md"
    path.write_text(f"# project\n\n{block}\n\nthe rest\n")
    return path


def test_render_says_each_time_with_its_cores_and_date():
    text = timings.render(GIVEN)
    assert text.startswith(timings.BEGIN) and text.endswith(timings.END)
    flat = " ".join(text.split())
    assert "`make report`: **9.1 min** with every model already in the run cache (2 cores, " \
           "1 Dec 2026)" in flat
    assert "from an empty cache, training every model: 31.5 min (2 cores, 2 Dec 2026)." in flat
    assert "`make test`: **776 tests in 7.2 min** on a fresh clone (2 cores, 1 Dec 2026)." in flat
    assert all(len(line) <= timings.WIDTH for line in text.splitlines()[1:-1])


def test_render_says_what_is_not_measured_yet():
    flat = " ".join(timings.render({"report": {"trained": None}}).split())
    assert "with every model cached: not yet measured" in flat
    assert "training every model: not yet measured on this version." in flat
    assert "`make test`: not yet measured." in flat


def test_record_round_trip_refreshes_the_readme_and_keeps_the_rest(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    to = timings.TimingsFile(tmp_path / "timings.json", _readme(tmp_path))
    (tmp_path / "junit.xml").write_text(JUNIT)
    where, entry = timings.test_entry(125, tmp_path / "junit.xml")
    assert where == ["test"] and entry["tests"] == 12 and entry["skipped"] == 3
    assert entry["minutes"] == 2.1 and not entry["fresh_clone"]
    message = timings.record(where, entry, to)
    assert "2.1 min recorded in timings.json and README.md" in message
    message = timings.record(*timings.report_entry(600, "cached"), to=to)
    saved = timings.load(to.path)
    assert saved == {"test": entry, "report": {"cached": saved["report"]["cached"]}}
    assert saved["report"]["cached"]["minutes"] == 10.0
    text = to.readme.read_text()
    assert text.startswith("# project\n\n") and text.endswith("\n\nthe rest\n")
    assert timings.readme_block(to.readme) == timings.render(saved)
    assert "**12 tests in 2.1 min**, 3 skipped (" in text and "fresh clone" not in text


def test_the_committed_readme_shows_what_the_committed_timings_render():
    block = timings.readme_block(timings.README)
    assert block is not None, "README.md has no timings block"
    assert block == timings.render(timings.load(timings.TIMINGS_FILE)), \
        "README's timing lines differ from results/timings.json: run " \
        "`python -m charlm.timings render` and paste its output"
    assert timings.main(["check"]) == 0


def test_the_committed_timings_hold_the_measured_times():
    saved = json.loads(timings.TIMINGS_FILE.read_text())
    assert saved["test"]["tests"] > 0 and saved["test"]["minutes"] > 0
    assert saved["report"]["cached"]["minutes"] > 0 and "trained" in saved["report"]


@pytest.mark.parametrize("damage", ["folder", "not json", "not an object"])
def test_a_time_that_cannot_be_written_is_a_warning_not_an_error(tmp_path, damage):
    path = tmp_path / "timings.json"
    if damage == "folder":
        path = tmp_path / "a_file" / "timings.json"
        (tmp_path / "a_file").write_text("")
    else:
        path.write_text("{" if damage == "not json" else "[1, 2]")
    to = timings.TimingsFile(path, None)
    message = timings.record(*timings.report_entry(60, "cached"), to=to)
    assert message.startswith("timings: warning: not recorded (")


def test_a_readme_without_its_block_is_left_alone(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no block\n")
    to = timings.TimingsFile(tmp_path / "timings.json", readme)
    assert timings.record(*timings.report_entry(60, "cached"), to=to).endswith("timings.json")
    assert readme.read_text() == "no block\n"


def test_the_command_line_never_fails_make_test(tmp_path, capsys):
    assert timings.main(["record", "test", "--seconds", "60", "--junit",
                         str(tmp_path / "missing.xml")]) == 0
    assert "not recorded" in capsys.readouterr().err


def test_cached_or_trained_from_the_run_cache():
    assert timings.models_kind(0, 12) == "trained"
    assert timings.models_kind(12, 12) == "cached"
    assert timings.models_kind(3, 12) is None and timings.models_kind(None, 3) is None


def _runs(reused: bool = False) -> list[NotebookRun]:
    return [NotebookRun(Path("00_a.ipynb"), Path("x"), 1.0, None, reused)]


def test_only_a_full_build_with_its_own_parameters_is_recorded(tmp_path):
    to = timings.TimingsFile(tmp_path / "timings.json", None)
    result = report.Build(runs=_runs(), seconds=90)
    with environ({"CHARLM_RUNS_DIR": str(tmp_path / "runs")}):
        assert "not every notebook" in report.record_time(result, to, True, 0)
        assert "not every notebook" in report.record_time(report.Build(runs=_runs(True)), to,
                                                          False, 0)
        (tmp_path / "runs" / "cache").mkdir(parents=True)
        (tmp_path / "runs" / "cache" / "k.pt").write_text("")
        assert "some models" in report.record_time(result, to, False, 5)
        assert "recorded" in report.record_time(result, to, False, 0)
    assert timings.load(to.path)["report"]["trained"]["minutes"] == 1.5


@pytest.mark.slow
def test_a_build_records_its_time_and_an_unwritable_file_never_breaks_it(tmp_path):
    notebooks = tiny_notebooks(tmp_path / "nb")[0].parent
    good = timings.TimingsFile(tmp_path / "timings.json", _readme(tmp_path))
    said = []
    with environ({"CHARLM_RUNS_DIR": str(tmp_path / "runs")}):
        result = report.build(notebooks_dir=notebooks, output=tmp_path / "out" / "report.html",
                              say=said.append, timings=good)
        assert result.html.is_file()
        assert timings.load(good.path)["report"]["cached"]["minutes"] >= 0
        assert timings.readme_block(good.readme) == timings.render(timings.load(good.path))
        (tmp_path / "a_file").write_text("")
        bad = timings.TimingsFile(tmp_path / "a_file" / "timings.json", None)
        result = report.build(notebooks_dir=notebooks, output=tmp_path / "out" / "report.html",
                              say=said.append, force=True, timings=bad)
    assert result.html.is_file() and not result.errors
    assert said[-1].startswith("report: timings: warning: not recorded")
