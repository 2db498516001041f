"""Search settings for the best model in a time budget, judged on validation BPC only.

Each setting (the preset ``best`` with some fields changed) trains for ``--budget_minutes`` of
training time, one run at a time with every core (as ``--best_train`` trains), and one row is
appended to the results file: the changed fields, the budget, the training minutes, the
iterations reached, the validation BPC, and how many of the model's samples derail in the
sample-sanity measure (:mod:`charlm.studies.sanity`; its priming strings come from
``dickens_test.txt``, but no test file is scored). The choice therefore cannot lean on a test
score. Runs already in the file (same run key) are skipped, so an interrupted
search resumes. The trained models stay in the run cache (``runs/cache/``).

    python benchmarks/budget_search.py settings.yaml            # a YAML list of {field: value}
    python benchmarks/budget_search.py settings.yaml --budget_minutes 10 --out results/budget_search.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import yaml

from charlm.config import TrainConfig
from charlm.corpora import TEST_FILE, corpus_text
from charlm.machine import cpu_model
from charlm.presets import SEARCHED_FIELDS, preset
from charlm.runs import cached_run, run_key, torch_threads
from charlm.studies.sanity import sanity_table

COLUMNS = ("key", *SEARCHED_FIELDS, "budget_minutes", "train_minutes", "iterations", "valid_bpc",
           "status", "derailed", "threads", "cpu", "date")


def describe(cfg: TrainConfig, base: TrainConfig) -> str:
    """The fields of ``cfg`` that differ from ``base``, as ``name=value`` pairs."""
    a, b = cfg.to_dict(), base.to_dict()
    return " ".join(f"{k}={a[k]}" for k in a if a[k] != b[k]) or "preset"


def derailed_samples(model) -> int:
    """How many of the sample-sanity measure's samples of ``model`` derail."""
    table = sanity_table({"model": model}, corpus_text("dickens_train.txt"), corpus_text(TEST_FILE))
    return int(table.derailed.sum())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("settings", help="YAML list of settings (fields of TrainConfig) to try")
    p.add_argument("--budget_minutes", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: one per core)")
    p.add_argument("--out", default="results/budget_search.csv")
    args = p.parse_args()
    base = preset("best", budget_minutes=args.budget_minutes)
    settings = yaml.safe_load(Path(args.settings).read_text())
    configs = [TrainConfig.from_dict(base.to_dict() | s, what=args.settings) for s in settings]
    out = Path(args.out)
    done = set()
    if out.is_file():
        with open(out, newline="") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != COLUMNS:  # checked before any run, not after one
                raise SystemExit(f"{out} has the columns {reader.fieldnames}, not {list(COLUMNS)}: "
                                 f"give another --out, or add the new columns to it first")
            done = {row["key"] for row in reader}
    out.parent.mkdir(parents=True, exist_ok=True)
    for cfg in configs:
        if run_key(cfg) in done:
            print(f"skip (already in {out}): {describe(cfg, base)}")
            continue
        with torch_threads(args.threads) as threads:
            ckpt = cached_run(cfg, progress=False)
        m = ckpt.meta
        row = {"key": run_key(cfg), **{f: getattr(cfg, f) for f in SEARCHED_FIELDS},
               "budget_minutes": cfg.budget_minutes, "train_minutes": round(m["wall_time"] / 60, 2),
               "iterations": m["iterations"], "valid_bpc": round(m["valid_bpc"], 4),
               "status": m["status"], "derailed": derailed_samples(ckpt.model),
               "threads": m["threads"], "cpu": cpu_model(),
               "date": time.strftime("%Y-%m-%d")}
        new = not out.is_file()
        with open(out, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(f"{describe(cfg, base)}: {row['iterations']:,} iterations in {row['train_minutes']} min "
              f"({threads} threads), validation BPC {row['valid_bpc']}, {row['derailed']} samples "
              f"derail", flush=True)


if __name__ == "__main__":
    main()
