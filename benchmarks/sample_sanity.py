"""How often a saved model's samples derail (issue 16): the sanity table of the report for any
checkpoints, with a few derailed samples shown.

    python benchmarks/sample_sanity.py runs/cache/KEY.pt [more.pt ...] [--seeds 60]
"""

from __future__ import annotations

import argparse

from charlm.checkpoint import load_checkpoint
from charlm.corpora import TEST_FILE, corpus_text
from charlm.studies.sanity import capital_run_rate, sanity_summary, sanity_table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--seeds", type=int, default=60)
    args = p.parse_args()
    models = {path: load_checkpoint(path).model for path in args.checkpoints}
    train_text = corpus_text("dickens_train.txt")
    table = sanity_table(models, train_text, corpus_text(TEST_FILE), seeds=args.seeds)
    print(sanity_summary(table).to_string(index=False))
    print(f"training text: {capital_run_rate(train_text):.2%} of 60-character windows hold a capital run")
    for row in table[table.derailed | table.capital_run].head(6).itertuples():
        print(f"--- {row.model} T={row.temperature:g} seed {row.seed}: {(row.prime + row.sample)[:120]!r}")


if __name__ == "__main__":
    main()
