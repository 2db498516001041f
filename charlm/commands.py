"""What each command-line mode does. :mod:`charlm.cli` parses; these functions run.

Each returns an exit status. They print the coursework's lines to stdout and raise
:class:`~charlm.errors.CharlmError` for user mistakes (``cli.main`` turns it into exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import paths
from .atomic import atomic_write_text
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import read_text
from .evaluate import bpc
from .corpora import TEST_FILE, TEST_LARGE_FILE, corpus, corpus_text
from .evaluate import bpc_interval
from .report.plots import plot_loss_curves
from .runs import cache_path, run_key, train_run
from .sample import check_predict_len, check_temperature, generate
from .studies.runner import describe_run, load_histories, run_study
from .studies.settings import DEFAULT_LRS, default_custom_grid, load_settings, one_at_a_time, parse_list
from .studies.summary import best_row, selection_metric
from .studies.temperature import COURSEWORK_TEMPS, pick_prime, samples_at


def default_checkpoint() -> Path:
    return paths.runs_dir() / "default.pt"


def train_and_save(cfg: TrainConfig, save: Path, progress: bool | None = None) -> Checkpoint:
    """Train with the coursework's printing, save to ``save`` (and to the run cache when the run
    finished), print BPC on the test files. Ctrl-C saves where it got to, then re-raises."""
    result, ckpt = train_run(cfg, verbose=True, progress=progress)
    save_checkpoint(save, ckpt)
    if result.interrupted:
        print(f"interrupted at iteration {result.iterations}/{cfg.n_epochs}; "
              f"checkpoint of that point saved to {save}")
        raise KeyboardInterrupt
    if result.status == "ok":
        save_checkpoint(cache_path(cfg), ckpt)
    print(f"saved {save} ({result.status}, {result.iterations} iterations, "
          f"{result.wall_time:.1f} s, final smoothed loss {result.final_loss:.4f})")
    return ckpt


def cmd_default_train(args: argparse.Namespace, cfg: TrainConfig) -> int:
    save = Path(args.save) if args.save else default_checkpoint()
    ckpt = train_and_save(cfg, save, progress=False if args.quiet else None)
    if ckpt.meta["status"] == "ok":
        for name in (TEST_FILE, TEST_LARGE_FILE):
            print(f"BPC on {name}: {bpc(ckpt.model, corpus(name)):.4f}")
    return 0


def cmd_best_train(args: argparse.Namespace, cfg: TrainConfig) -> int:
    save = Path(args.save) if args.save else paths.runs_dir() / "best.pt"
    ckpt = train_and_save(cfg, save, progress=False if args.quiet else None)
    if ckpt.meta["status"] == "ok":
        print(f"training time: {ckpt.meta['wall_time'] / 60:.1f} min; "
              f"validation BPC {ckpt.meta['valid_bpc']:.4f}")
        for name in (TEST_FILE, TEST_LARGE_FILE):
            value, lo, hi = bpc_interval(ckpt.model, corpus(name))
            print(f"BPC on {name}: {value:.4f} (95% bootstrap interval {lo:.4f}-{hi:.4f})")
    return 0


def _settings_or_default(args: argparse.Namespace, base: TrainConfig) -> list[TrainConfig]:
    if args.settings:
        return load_settings(args.settings, base)
    return one_at_a_time(base, default_custom_grid())


def cmd_custom_train(args: argparse.Namespace, base: TrainConfig) -> int:
    configs = _settings_or_default(args, base)
    df = run_study(configs, args.log, study="custom_train", workers=args.workers,
                   scheduler=args.scheduler, progress=False if args.quiet else None)
    metric = selection_metric(df)  # validation BPC when the runs held some out (--valid_frac)
    cols = ["cell", "hidden_size", "n_layers", "lr", "n_epochs", "status", "min_loss",
            "final_loss", *(["bpc_valid"] if metric == "bpc_valid" else []), "bpc_test",
            "wall_time_s"]
    print(df[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    best = best_row(df, metric)
    if best is not None:
        on = "validation" if metric == "bpc_valid" else "dickens_test.txt (the coursework's way; " \
             "--valid_frac 0.05 chooses on held-out training text instead)"
        print(f"best by {on}: {describe_run(best)} (BPC {best[metric]:.4f})")
    print(f"log: {args.log}")
    return 0


def cmd_plot_loss(args: argparse.Namespace, base: TrainConfig) -> int:
    lrs = parse_list(args.lrs, "lrs") if args.lrs is not None else list(DEFAULT_LRS)
    configs = [base.replace(lr=lr) for lr in lrs]
    df = run_study(configs, args.log, study="plot_loss", workers=args.workers,
                   scheduler=args.scheduler, progress=False if args.quiet else None)
    hists = load_histories(configs)
    runs = [{"label": f"lr={cfg.lr:g}", "history": hists.get(run_key(cfg), []),
             "plot_every": cfg.plot_every,
             "diverged_at": None if row.diverged_at != row.diverged_at else int(row.diverged_at)}
            for cfg, row in zip(configs, df.itertuples())]
    charts = plot_loss_curves(runs, paths.figures_dir() / "loss_by_lr.png",
                              title="Training loss by learning rate")
    for path, _ in charts:
        print(f"figure: {path}")
    return 0


def load_or_train_default(args: argparse.Namespace, cfg: TrainConfig) -> Checkpoint:
    path = Path(args.checkpoint) if args.checkpoint else default_checkpoint()
    if path.exists() or args.checkpoint:
        return load_checkpoint(path)
    if cache_path(cfg).is_file():  # e.g. trained by `make report`
        print(f"{path} not found: using the cached run {cache_path(cfg)}")
        return load_checkpoint(cache_path(cfg))
    print(f"{path} not found: training the default model first")
    return train_and_save(cfg, path, progress=False if args.quiet else None)


def cmd_diff_temp(args: argparse.Namespace, cfg: TrainConfig) -> int:
    temps = parse_list(args.temps, "temps") if args.temps is not None else list(COURSEWORK_TEMPS)
    for t in temps:
        check_temperature(t)
    ckpt = load_or_train_default(args, cfg)
    prime = pick_prime(corpus_text(TEST_FILE), seed=cfg.seed)
    samples = samples_at(ckpt.model, prime, temps, predict_len=200, seed=cfg.seed)
    print(f"priming string: {prime!r}")
    for t, text in samples.items():
        print(f"\n--- temperature {t:g} ---\n{prime}{text}")
    out = paths.runs_dir() / "diff_temp.json"
    atomic_write_text(out, json.dumps({"prime_str": prime, "seed": cfg.seed,
                                       "samples": {f"{t:g}": s for t, s in samples.items()}},
                                      indent=2))
    print(f"\nsaved {out}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    check_predict_len(args.predict_len)
    if not args.greedy:
        check_temperature(args.temperature)
    ckpt = load_checkpoint(args.checkpoint)
    temperature = 1.0 if args.greedy else float(args.temperature)
    sys.stdout.write(generate(ckpt.model, args.prime_str, args.predict_len, temperature,
                              seed=args.seed, greedy=args.greedy) + "\n")
    return 0


def cmd_bpc(args: argparse.Namespace) -> int:
    text = read_text(args.file)
    ckpt = load_checkpoint(args.checkpoint)
    print(f"{bpc(ckpt.model, text, slice_len=args.slice_len):.4f}")
    return 0
