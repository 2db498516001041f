"""What each command-line mode does. :mod:`charlm.cli` parses; these functions run.

Each returns an exit status. They print the coursework's lines to stdout and raise
:class:`~charlm.errors.CharlmError` for user mistakes (``cli.main`` turns it into exit 2).
Every output destination is checked before any work starts (:func:`check_outputs`), a file
the project did not write is never replaced, and a write that fails after a long run saves
the result under ``runs/`` instead and says where.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from . import paths
from .atomic import atomic_write, atomic_write_text, check_destination
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint_or_fallback
from .config import TrainConfig, check_seed
from .baselines import format_table, yardsticks
from .codec import CodecError, check_model, compress, decompress, read_header
from .coding import CODER_DYNAMIC, CodingSettings, code_lengths, training_text
from .corpora import TEST_FILE, TEST_LARGE_FILE, TRAIN_FILE, corpus, corpus_text
from .data import read_text
from .dynamic import DynamicSettings, dynamic_char_bits
from .errors import CheckpointError, ConfigError, ModelError
from .evaluate import bpc, bpc_interval
from .mix import MixSettings
from .model import check_finite
from .studies.runner import read_log
from .report.plots import plot_loss_curves
from .runs import cache_path, load_cached, run_key, save_cached, train_run
from .sample import check_predict_len, check_temperature, check_top_k, check_top_p, generate
from .studies.runner import describe_run, load_histories, run_study
from .studies.settings import DEFAULT_LRS, default_custom_grid, load_settings, one_at_a_time, parse_list
from .studies.summary import best_row, selection_metric
from .studies.temperature import COURSEWORK_TEMPS, pick_prime, samples_at


EXIT_DIVERGED = 1  # the run finished its work but diverged: kept, and reported as a failure


def default_checkpoint() -> Path:
    return paths.runs_dir() / "default.pt"


def check_checkpoint_destination(path: Path, what: str = "--save") -> Path:
    """``path`` can be written (see :func:`~charlm.atomic.check_destination`) and, if it exists,
    is a charlm checkpoint: a file the project did not write is never replaced."""
    check_destination(path, what)
    if path.exists():
        try:
            load_checkpoint(path)
        except CheckpointError:
            raise ConfigError(f"{what} {path} exists and is not a charlm checkpoint; it will not "
                              f"be overwritten (remove it or choose another path)") from None
    return path


def check_log_destination(path: str | Path, what: str = "--log") -> Path:
    """``path`` can be written and, if it exists, is a study log (its rows are kept)."""
    check_destination(path, what)
    read_log(path)  # raises ConfigError for a file that is not an experiment log
    return Path(path)


def train_and_save(cfg: TrainConfig, save: Path, progress: bool | None = None,
                   init_from: Checkpoint | None = None, resume: Checkpoint | None = None,
                   mode: str = "default_train") -> Checkpoint:
    """Train with the coursework's printing, save to ``save`` (and to the run cache when the run
    finished). ``init_from`` and ``resume``: see :func:`~charlm.runs.train_run`. Ctrl-C saves
    where it got to, says in one line the command (of ``mode``) that resumes it, then
    re-raises. If ``save`` cannot be written after all (a disk filled up meanwhile), the
    checkpoint goes to ``runs/`` and a line says so."""
    result, ckpt = train_run(cfg, verbose=True, progress=progress, init_from=init_from,
                             resume=resume)
    save = save_checkpoint_or_fallback(save, ckpt, paths.runs_dir())
    if result.interrupted:
        planned = (f" after {result.wall_time / 60:.1f} of {cfg.budget_minutes:g} minutes"
                   if cfg.budget_minutes else f"/{cfg.n_epochs}")
        then = (f"; resume it with: python -m charlm --{mode} --resume {shlex.quote(str(save))}"
                if ckpt.resume is not None else " (stopped in the middle of a step: it cannot "
                                                "be resumed)")
        print(f"interrupted at iteration {result.iterations}{planned}; "
              f"checkpoint of that point saved to {save}{then}")
        raise KeyboardInterrupt
    if result.status == "ok":
        save_cached(ckpt)
    print(f"saved {save} ({result.status}, {result.iterations} iterations, "
          f"{result.wall_time:.1f} s, mean loss of the last {cfg.plot_every} iterations "
          f"{result.final_loss:.4f})")
    return ckpt


def _diverged(ckpt: Checkpoint, save: Path) -> int:
    print(f"charlm: error: training diverged at iteration {ckpt.meta['diverged_at']}; the "
          f"checkpoint and its loss history are kept in {save}, but its weights are not usable",
          file=sys.stderr)
    return EXIT_DIVERGED


def _train_command(args: argparse.Namespace, cfg: TrainConfig, default: Path, mode: str,
                   start: Checkpoint | None) -> tuple[Checkpoint, Path]:
    """Train ``cfg`` (from ``start``: the checkpoint of ``--resume`` or ``--init_from``) and
    save it to ``--save``, else to the resumed checkpoint, else to ``default``."""
    save = check_checkpoint_destination(Path(args.save or args.resume or default))
    print_threads(args)
    resume = start if args.resume else None
    init_from = start if args.init_from else None
    if resume is not None:
        done = (f"{resume.meta.get('wall_time', 0) / 60:.1f} of {cfg.budget_minutes:g} minutes"
                if cfg.budget_minutes else f"iteration {resume.meta.get('iterations')} of "
                                           f"{cfg.n_epochs}")
        print(f"resuming {args.resume} at {done}")
    elif init_from is not None:
        print(f"starting from the weights of {args.init_from} ({init_from.config.cell}, "
              f"hidden_size {init_from.config.hidden_size} x n_layers "
              f"{init_from.config.n_layers}, trained on {init_from.config.corpus}); "
              f"training on {cfg.corpus}")
    ckpt = train_and_save(cfg, save, progress=False if args.quiet else None,
                          init_from=init_from, resume=resume, mode=mode)
    return ckpt, save


def print_threads(args: argparse.Namespace) -> None:
    """The one line that says how many torch threads train, and why (chosen by the command
    line: :func:`~charlm.machine.choose_threads`)."""
    if getattr(args, "threads_reason", None):
        print(f"threads: {args.threads} ({args.threads_reason})")


def cmd_default_train(args: argparse.Namespace, cfg: TrainConfig,
                      start: Checkpoint | None = None) -> int:
    ckpt, save = _train_command(args, cfg, default_checkpoint(), "default_train", start)
    if ckpt.meta["status"] != "ok":
        return _diverged(ckpt, save)
    for name in (TEST_FILE, TEST_LARGE_FILE):
        print(f"BPC on {name}: {bpc(ckpt.model, corpus(name)):.4f}")
    return 0


def cmd_best_train(args: argparse.Namespace, cfg: TrainConfig,
                   start: Checkpoint | None = None) -> int:
    ckpt, save = _train_command(args, cfg, paths.runs_dir() / "best.pt", "best_train", start)
    if ckpt.meta["status"] != "ok":
        return _diverged(ckpt, save)
    budget = f" (budget {cfg.budget_minutes:g} min)" if cfg.budget_minutes else ""
    members = ckpt.meta.get("member_iterations") or []
    shares = (f" ({len(members)} models: {' + '.join(f'{n:,}' for n in members)})"
              if len(members) > 1 else "")
    print(f"training time: {ckpt.meta['wall_time'] / 60:.1f} min{budget}, "
          f"{ckpt.meta['iterations']:,} iterations{shares}; "
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
    check_log_destination(args.log)
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
    check_log_destination(args.log)
    figure = check_destination(paths.figures_dir() / "loss_by_lr.png", "the figure")
    configs = [base.replace(lr=lr) for lr in lrs]
    df = run_study(configs, args.log, study="plot_loss", workers=args.workers,
                   scheduler=args.scheduler, progress=False if args.quiet else None)
    hists = load_histories(configs)
    runs = [{"label": f"lr={cfg.lr:g}", "history": hists.get(run_key(cfg), []),
             "plot_every": cfg.plot_every,
             "diverged_at": None if row.diverged_at != row.diverged_at else int(row.diverged_at)}
            for cfg, row in zip(configs, df.itertuples())]
    charts = plot_loss_curves(runs, figure,
                              title="Training loss by learning rate")
    for path, _ in charts:
        print(f"figure: {path}")
    return 0


def load_or_train_default(args: argparse.Namespace, cfg: TrainConfig) -> Checkpoint:
    path = Path(args.checkpoint) if args.checkpoint else default_checkpoint()
    if path.exists() or args.checkpoint:
        return load_checkpoint(path)
    cached = load_cached(cfg)  # e.g. trained by `make report`; a damaged entry is set aside
    if cached is not None:
        print(f"{path} not found: using the cached run {cache_path(cfg)}")
        return cached
    print(f"{path} not found: training the default model first")
    save = check_checkpoint_destination(path, "the default checkpoint")
    print_threads(args)
    ckpt = train_and_save(cfg, save, progress=False if args.quiet else None)
    if ckpt.meta["status"] != "ok":
        raise ModelError(f"the default model diverged at iteration {ckpt.meta['diverged_at']}; "
                         f"there is nothing to sample from")
    return ckpt


def cmd_diff_temp(args: argparse.Namespace, cfg: TrainConfig) -> int:
    temps = parse_list(args.temps, "temps") if args.temps is not None else list(COURSEWORK_TEMPS)
    for t in temps:
        check_temperature(t)
    top_k, top_p = check_top_k(args.top_k), check_top_p(args.top_p)
    out = check_destination(paths.runs_dir() / "diff_temp.json", "the samples file")
    ckpt = load_or_train_default(args, cfg)
    check_finite(ckpt.model, "the model to sample from")
    prime = pick_prime(corpus_text(TEST_FILE), seed=cfg.seed)
    samples = samples_at(ckpt.model, prime, temps, predict_len=200, seed=cfg.seed,
                         top_k=top_k, top_p=top_p)
    print(f"priming string: {prime!r}")
    for t, text in samples.items():
        print(f"\n--- temperature {t:g} ---\n{prime}{text}")
    atomic_write_text(out, json.dumps({"prime_str": prime, "seed": cfg.seed, "top_k": top_k,
                                       "top_p": top_p,
                                       "samples": {f"{t:g}": s for t, s in samples.items()}},
                                      indent=2))
    print(f"\nsaved {out}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    check_predict_len(args.predict_len)
    top_k, top_p = check_top_k(args.top_k), check_top_p(args.top_p)
    if not args.greedy:
        check_temperature(args.temperature)
    if args.seed is not None:
        check_seed(args.seed)
    ckpt = load_checkpoint(args.checkpoint)
    check_finite(ckpt.model, f"the model in {args.checkpoint}")
    temperature = 1.0 if args.greedy else float(args.temperature)
    sys.stdout.write(generate(ckpt.model, args.prime_str, args.predict_len, temperature,
                              seed=args.seed, greedy=args.greedy, top_k=top_k, top_p=top_p)
                     + "\n")
    return 0


def dynamic_settings(args: argparse.Namespace,
                     base: DynamicSettings | None = None) -> DynamicSettings | None:
    """The dynamic-evaluation settings that ``--dynamic`` and ``--step/--decay/--segment`` ask
    for, on top of ``base`` (default :class:`DynamicSettings`' defaults); None without
    ``--dynamic``. Checked before any work."""
    overrides = {k: getattr(args, k) for k in ("step", "decay", "segment")
                 if getattr(args, k) is not None}
    if overrides and not args.dynamic:
        raise ConfigError(f"--{next(iter(overrides))} sets dynamic evaluation: add --dynamic")
    return (base or DynamicSettings()).replace(**overrides) if args.dynamic else None


def cmd_bpc(args: argparse.Namespace) -> int:
    # with --mix: the coder's settings (coding.CODER_DYNAMIC), since it prints the code length
    settings = dynamic_settings(args, CODER_DYNAMIC if args.mix else None)  # before loading
    text = read_text(args.file)
    ckpt = load_checkpoint(args.checkpoint)
    check_finite(ckpt.model, f"the model in {args.checkpoint}")
    if args.mix:  # the code length the compressor codes (one character at a time)
        coding = CodingSettings(settings, MixSettings())
        bits = code_lengths(ckpt.model, text, training_text(ckpt.config), coding)
        print(f"{bits.mean():.4f}")
        return 0
    if settings is None:
        print(f"{bpc(ckpt.model, text, slice_len=args.slice_len):.4f}")
        return 0
    print(f"{dynamic_char_bits(ckpt.model, text, training_text(ckpt.config), settings).mean():.4f}")
    return 0


def check_output(path: Path, force: bool, source: Path) -> Path:
    """``path`` can be written, is not ``source``, and exists only if ``force`` says replace it."""
    check_destination(path, "-o")
    if path.exists() and path.resolve() == source.resolve():
        raise ConfigError(f"-o {path} is the input file itself; give another output")
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; add --force to replace it, or give -o another path")
    return path


def cmd_compress(args: argparse.Namespace) -> int:
    settings = CodingSettings(dynamic_settings(args, CODER_DYNAMIC),
                              MixSettings() if args.mix else None)
    source = Path(args.file)
    text = read_text(source, min_len=0, transliterate=False)
    out = check_output(Path(args.output or f"{args.file}.clm"), args.force, source)
    ckpt = load_checkpoint(args.checkpoint)
    check_finite(ckpt.model, f"the model in {args.checkpoint}")
    train = training_text(ckpt.config) if settings.needs_train else None
    start = time.perf_counter()
    result = compress(ckpt.model, text, train, settings)
    seconds = time.perf_counter() - start
    with atomic_write(out) as fh:
        fh.write(result.data)
    n, size = len(text), len(result.data)
    rate = f"{8 * size / n:.4f} bits per character; " if n else ""
    print(f"{source} -> {out}: {n:,} characters in {size:,} bytes ({rate}code length "
          f"{result.predicted_bytes:,.0f} bytes + {size - result.predicted_bytes:.0f}), "
          f"{settings.name}, {seconds:.1f} s")
    return 0


def cmd_decompress(args: argparse.Namespace) -> int:
    source = Path(args.file)
    blob = read_compressed(source)
    head = read_header(blob, str(source))
    default = source.with_suffix("") if source.suffix == ".clm" else Path(f"{source}.out")
    out = check_output(Path(args.output) if args.output else default, args.force, source)
    ckpt = load_checkpoint(args.checkpoint)
    check_model(head, ckpt.model, str(source))  # before any long work
    train = training_text(ckpt.config) if head.settings.needs_train else None
    start = time.perf_counter()
    text = decompress(ckpt.model, blob, train, str(source))
    seconds = time.perf_counter() - start
    with atomic_write(out) as fh:
        fh.write(text.encode("ascii"))
    print(f"{source} -> {out}: {len(text):,} characters, {head.settings.name}, {seconds:.1f} s")
    return 0


def read_compressed(path: Path) -> bytes:
    """The bytes of a compressed file, or :class:`~charlm.codec.CodecError` in one line."""
    if not path.exists():
        raise CodecError(f"{path} does not exist")
    if not path.is_file():
        raise CodecError(f"{path} is not a regular file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CodecError(f"{path} cannot be read ({exc.strerror or exc})") from None


def cmd_baselines(args: argparse.Namespace) -> int:
    names = args.files or [TEST_FILE, TEST_LARGE_FILE]
    tests = {Path(n).name: corpus_text(n) for n in names}
    rows, choice = yardsticks(corpus_text(TRAIN_FILE), tests, max_order=args.max_order)
    print(format_table(rows, intervals=args.intervals))
    print(f"\nn-gram order chosen on the validation split ({choice.valid_chars:,} characters): "
          f"{choice.order}")
    return 0
