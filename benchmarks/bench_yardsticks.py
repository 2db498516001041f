"""Time the yardsticks and dynamic evaluation (a benchmark, not a timed test).

    python benchmarks/bench_yardsticks.py                         # all baselines, both test files
    python benchmarks/bench_yardsticks.py --checkpoint runs/cache/KEY.pt   # + static and dynamic BPC
    python benchmarks/bench_yardsticks.py --checkpoint best       # the best preset's cached run
    python benchmarks/bench_yardsticks.py --checkpoint best --tune  # + the validation grid

Prints the yardstick table (with 95% block-bootstrap intervals where per-character bits exist)
and its total wall time; with a checkpoint, its static and dynamic BPC on both test files with
intervals, the paired difference, and the seconds each took. The gradient statistics come from
the text the model was trained on (the training part of its validation split, when it had
one); the dynamic-evaluation settings are :class:`charlm.dynamic.DynamicSettings`' defaults
unless ``--tune`` chooses them on the validation split first (never on a test file).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from charlm import paths
from charlm.baselines import VALID_FRAC, format_table, yardsticks
from charlm.checkpoint import load_checkpoint
from charlm.data import encode, read_text, split_corpus
from charlm.dynamic import DynamicSettings, dynamic_char_bits, grad_rms, tune_dynamic
from charlm.evaluate import bits_interval, char_bits, paired_difference_interval
from charlm.presets import preset
from charlm.runs import cache_path

TESTS = ("dickens_test.txt", "dickens_test_large.txt")


def best_checkpoint() -> Path:
    """The cached checkpoint of the ``best`` preset (trained by ``make report`` or the search)."""
    path = cache_path(preset("best"))
    if not path.exists():
        raise SystemExit(f"the best preset's checkpoint {path} is not there; train it first")
    return path


def fmt(ci: tuple[float, float, float]) -> str:
    return f"{ci[0]:.4f} [{ci[1]:.4f}, {ci[2]:.4f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="a checkpoint path, or 'best' (the best preset's cached run)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--tune", action="store_true", help="choose the dynamic settings on validation")
    ap.add_argument("--no-baselines", action="store_true", help="skip the yardstick table")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = paths.data_dir()
    train_text = read_text(data / "dickens_train.txt")
    tests = {name: read_text(data / name) for name in TESTS}

    if not args.no_baselines:
        start = time.perf_counter()
        rows, choice = yardsticks(train_text, tests)
        total = time.perf_counter() - start
        print(format_table(rows, intervals=True))
        print(f"n-gram order chosen on validation ({choice.valid_chars} characters): "
              f"{choice.order}; valid BPC by order: "
              + ", ".join(f"{k}: {b:.4f}" for k, b in choice.valid_bpc.items()))
        print(f"all baselines, both test files: {total:.1f} s")

    if not args.checkpoint:
        return
    path = best_checkpoint() if args.checkpoint == "best" else Path(args.checkpoint)
    ckpt = load_checkpoint(path)
    model = ckpt.model
    print(f"\ncheckpoint {path} (hidden {ckpt.config.hidden_size}, {ckpt.config.n_layers} layers, "
          f"valid_frac {ckpt.config.valid_frac}, torch threads {torch.get_num_threads()})")
    ids = encode(train_text, "training text")
    # the gradient statistics come from the text the model learnt from
    known = split_corpus(ids, ckpt.config.valid_frac)[0] if ckpt.config.valid_frac else ids
    settings = DynamicSettings()
    if args.tune:
        fit_part, valid = split_corpus(ids, VALID_FRAC)
        tuning = tune_dynamic(model, valid, fit_part)
        print(f"validation grid ({len(valid)} characters, {tuning.seconds:.0f} s):")
        print(tuning.table())
        settings = tuning.best
    print(f"dynamic settings: {settings.to_dict()}")
    start = time.perf_counter()
    rms = grad_rms(model, known, settings.segment, settings.stat_streams, settings.stat_chars)
    print(f"gradient statistics: {time.perf_counter() - start:.1f} s")
    for name, text in tests.items():
        start = time.perf_counter()
        static = char_bits(model, text)
        t_static = time.perf_counter() - start
        start = time.perf_counter()
        dynamic = dynamic_char_bits(model, text, known, settings, rms=rms)
        t_dynamic = time.perf_counter() - start
        print(f"{name}: static {fmt(bits_interval(static))} ({t_static:.1f} s), "
              f"dynamic {fmt(bits_interval(dynamic))} ({t_dynamic:.1f} s), "
              f"dynamic - static {fmt(paired_difference_interval(dynamic, static))}")


if __name__ == "__main__":
    main()
