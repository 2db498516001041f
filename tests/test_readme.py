"""The README agrees with what it describes: the Makefile's targets (`make help`), the
notebooks, and the files it names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from charlm.report.params import notebook_files

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DURATION = re.compile(r"\b(about|under) [\w.]+ (s|min|minutes?|seconds?)\b|\bunder a minute\b")


def _help() -> dict[str, str]:
    """Target -> description, as `make help` prints them."""
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return dict(re.match(r"\s*make (\S+)\s+(.*)", ln).groups() for ln in out.splitlines())


def test_the_readme_and_make_help_list_the_same_targets():
    targets = set(_help()) - {"help"}
    mentioned = set(re.findall(r"`make ([a-z_-]+)", README))
    assert targets - mentioned == set(), "make help lists targets the README does not mention"
    assert mentioned - targets - {"help"} == set(), "the README mentions targets make lacks"


def test_durations_in_make_help_are_the_readme_s():
    """A duration `make help` gives is one the README gives too; measured times live only in
    the README's timings block (results/timings.json), not in the help text."""
    for target, text in _help().items():
        for m in DURATION.finditer(text):
            assert m.group(0) in README, f"make {target}: {m.group(0)!r} is not in the README"
        assert not re.search(r"\d+(\.\d+)? ?min(utes)?\b", text), f"make {target}: a measured time"


def test_the_readme_names_every_notebook_and_only_existing_ones():
    names = {p.stem for p in notebook_files()}
    named = set(re.findall(r"`(\d\d_[a-z_]+)`", README))
    assert named <= names, f"the README names notebooks that do not exist: {named - names}"
    main_text = {n for n in names if n < "10"}
    assert main_text <= named, f"the README's notebook table lacks {main_text - named}"


def test_files_the_readme_points_to_exist():
    for path in ("docs/report_41.png", "results/timings.json", "results/README.md",
                 "environment.yml", "data/SHA256SUMS", ".ci/run"):
        assert path in README and (ROOT / path).exists(), path
