"""The command line: the coursework's four flags plus ``generate`` and ``bpc``.

    python -m charlm --default_train [--n_epochs N --hidden_size H ...] [--save PATH] [--threads N]
    python -m charlm --default_train --resume CHECKPOINT       # go on with an interrupted run
    python -m charlm --default_train --init_from CHECKPOINT [--corpus PATH ...]   # fine-tune
    python -m charlm --custom_train [--settings FILE] [--log experiment_logs.csv]
    python -m charlm --plot_loss [--lrs 0.0001,0.001,0.005,0.01,0.1]
    python -m charlm --diff_temp [--temps 0.1,0.5,1.0,2.0] [--checkpoint runs/default.pt]
    python -m charlm --best_train [--save runs/best.pt]
    python -m charlm generate --checkpoint PATH --prime_str S --predict_len N --temperature T
                              [--top_k K] [--top_p P]
    python -m charlm bpc --checkpoint PATH FILE [--dynamic [--step S --decay D --segment N]] [--mix]
    python -m charlm compress --checkpoint PATH FILE [-o OUT] [--dynamic] [--mix] [--force]
    python -m charlm decompress --checkpoint PATH FILE.clm [-o OUT] [--force]
    python -m charlm baselines [FILE ...] [--intervals]

Only this module reads ``sys.argv``. Any user mistake ends in one line on stderr,
``charlm: error: ...``, and exit status 2; Ctrl-C (or SIGTERM) ends with status 130 after
saving what can be saved.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from dataclasses import fields
from typing import Sequence

from . import commands, paths
from .checkpoint import Checkpoint, load_checkpoint
from .coding import CODER_DYNAMIC
from .config import (TrainConfig, check_resumable, check_shape, parse_as, printing_fields,
                     shape_fields)
from .dynamic import DynamicSettings
from .errors import CharlmError, ConfigError, os_error_message
from .machine import check_trainable, choose_threads
from .presets import preset
from .runs import check_resumable_checkpoint, torch_threads
from .train import resolve_device

MODES = ("default_train", "custom_train", "plot_loss", "diff_temp", "best_train")
STARTING = ("default_train", "best_train")  # the modes that --resume and --init_from go with
THREADED = ("default_train", "best_train", "diff_temp")  # one model in this process


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are ONE line on stderr with exit status 2, and no abbreviations:
    ``--hidden 5`` is an error, not a silent ``--hidden_size 5`` (a typo such as ``--lr_sched``
    would otherwise set whichever option it happens to prefix)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"charlm: error: {message} (see --help)\n")


def _typed(kind: str):
    """An argparse ``type`` for a value declared ``kind`` (int, float, bool or str), read by
    the parser the settings files and the report use too (:func:`charlm.config.parse_as`)."""
    def parse(text: str):
        try:
            return parse_as(kind, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def _train_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="charlm", description="Character-level LSTM language model on Dickens.",
                epilog="Subcommands: `charlm generate --help`, `charlm bpc --help`, "
                       "`charlm compress --help`, `charlm decompress --help`, "
                       "`charlm baselines --help`.")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--default_train", action="store_true", help="train with the defaults (part 4.1)")
    mode.add_argument("--custom_train", action="store_true",
                      help="hyperparameter study with BPC on dickens_test.txt (part 4.2)")
    mode.add_argument("--plot_loss", action="store_true",
                      help="one run per learning rate, loss curves on one chart (part 4.3)")
    mode.add_argument("--diff_temp", action="store_true",
                      help="samples from the default model at several temperatures (part 4.4)")
    mode.add_argument("--best_train", action="store_true",
                      help="the best model in a 10-minute CPU budget (preset 'best'; flags override)")
    hp = p.add_argument_group("hyperparameters (defaults = the coursework)")
    for f in fields(TrainConfig):
        hp.add_argument(f"--{f.name}", type=_typed(getattr(f.type, "__name__", f.type)),
                        default=None,  # argparse reads % in a help text as a format
                        help=f"{f.metadata['help']} (default {f.default!r})".replace("%", "%%"))
    io = p.add_argument_group("files, runs and studies")
    io.add_argument("--save", default=None, help="checkpoint to write (default runs/default.pt; "
                                                 "with --resume, the checkpoint resumed)")
    start = io.add_mutually_exclusive_group()
    start.add_argument("--resume", default=None, metavar="CHECKPOINT",
                       help="go on with the interrupted run saved in CHECKPOINT (Ctrl-C saves one), "
                            "exactly where it stopped; only " + ", ".join(
                                f"--{n}" for n in printing_fields()) + " may change")
    start.add_argument("--init_from", default=None, metavar="CHECKPOINT",
                       help="a new run from the weights of CHECKPOINT (fine-tuning, on any "
                            "--corpus): the model's shape (" + ", ".join(shape_fields())
                            + ") comes from it, the optimiser and schedule start fresh")
    io.add_argument("--threads", type=_typed("int"), default=None,
                    help="torch threads for training (default: one unless the model's steps are "
                         "large enough to gain from more; the choice is printed)")
    io.add_argument("--checkpoint", default=None,
                    help="model for --diff_temp (default runs/default.pt; trained if missing)")
    io.add_argument("--settings", default=None,
                    help="YAML/JSON file of runs for --custom_train (a list of settings, or "
                         "{base: {...}, vary: {name: [values]}})")
    io.add_argument("--log", default="experiment_logs.csv", help="CSV log of the studies")
    io.add_argument("--lrs", default=None, help="learning rates for --plot_loss, e.g. 0.001,0.01")
    io.add_argument("--temps", default=None, help="temperatures for --diff_temp, e.g. 0.1,0.5,1,2")
    _truncation_args(io, " (--diff_temp)")
    io.add_argument("--workers", type=_typed("int"), default=None,
                    help="parallel training processes for studies (default: one per core)")
    io.add_argument("--scheduler", default=None,
                    help="Dask scheduler address for studies, e.g. tcp://host:8786 (env CHARLM_SCHEDULER)")
    io.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _truncation_args(p, where: str = "") -> None:
    """``--top_k`` and ``--top_p``: cut the tail of the sampling distribution (checked by
    :func:`charlm.sample.check_top_k` and :func:`~charlm.sample.check_top_p`)."""
    p.add_argument("--top_k", default="0",
                   help=f"sample among the k most likely characters only; 0 = off{where}")
    p.add_argument("--top_p", default="1.0",
                   help=f"sample from the smallest set of likeliest characters holding this "
                        f"much probability (nucleus); 1 = off{where}")


def _sub_parser(name: str) -> argparse.ArgumentParser:
    p = _Parser(prog=f"charlm {name}")
    p.add_argument("--checkpoint", default=str(paths.runs_dir() / "default.pt"),
                   help="checkpoint to use (default runs/default.pt)")
    if name == "generate":
        p.add_argument("--prime_str", default="A")
        p.add_argument("--predict_len", type=_typed("int"), default=100)
        p.add_argument("--temperature", default="0.8", help="finite number > 0")
        p.add_argument("--seed", type=_typed("int"), default=None)
        p.add_argument("--greedy", action="store_true", help="always take the most likely character")
        _truncation_args(p)
    elif name == "bpc":
        p.add_argument("file", help="text file to score")
        p.add_argument("--slice_len", type=_typed("int"), default=2048)
        p.add_argument("--dynamic", action="store_true",
                       help="dynamic evaluation: the model takes a small gradient step after "
                            "scoring each segment (the checkpoint is not changed)")
        _dynamic_args(p)
        _mix_arg(p)
    elif name == "compress":
        p.description = ("Compress a text file with the model (range coding of its predictions). "
                         "Decoding needs the same checkpoint, machine and versions.")
        p.add_argument("file", help="text file to compress (characters of string.printable only)")
        p.add_argument("-o", "--output", default=None, help="compressed file (default FILE.clm)")
        p.add_argument("--dynamic", action="store_true",
                       help="dynamic evaluation (settings chosen on the validation split; the "
                            "file records any changed below)")
        _dynamic_args(p, coder=True)
        _mix_arg(p)
        p.add_argument("--force", action="store_true", help="replace an existing output file")
    elif name == "decompress":
        p.description = "Give back the text a `charlm compress` file holds, byte for byte."
        p.add_argument("file", help="compressed file (.clm)")
        p.add_argument("-o", "--output", default=None,
                       help="text file to write (default FILE without .clm, or FILE.out)")
        p.add_argument("--force", action="store_true", help="replace an existing output file")
    return p


def _dynamic_args(p, coder: bool = False) -> None:
    """``--step``, ``--decay``, ``--segment``: dynamic evaluation's settings (the coder's
    defaults, :data:`charlm.coding.CODER_DYNAMIC`, differ in the segment)."""
    defaults = CODER_DYNAMIC if coder else DynamicSettings()
    for field_name in ("step", "decay", "segment"):
        kind = "int" if field_name == "segment" else "float"
        also = (f"; with --mix {getattr(CODER_DYNAMIC, field_name):g}, the coder's" if not coder
                and getattr(CODER_DYNAMIC, field_name) != getattr(defaults, field_name) else "")
        p.add_argument(f"--{field_name}", type=_typed(kind), default=None,
                       help=f"with --dynamic (default {getattr(defaults, field_name):g}{also}; "
                            "chosen on the validation split)")


def _mix_arg(p) -> None:
    p.add_argument("--mix", action="store_true",
                   help="mix the network online with a PPM model and a match model of the "
                        "training text and the text so far (settings chosen on the validation "
                        "split)")


def _baselines_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="charlm baselines",
                description="Yardsticks on the test files, each knowing the training text: "
                            "uniform, unigram, Kneser-Ney n-grams, compressors.")
    p.add_argument("files", nargs="*", default=None,
                   help="test files (default dickens_test.txt dickens_test_large.txt)")
    p.add_argument("--max_order", type=_typed("int"), default=8,
                   help="highest n-gram order tried (the order is chosen on the validation split)")
    p.add_argument("--intervals", action="store_true", help="95%% block-bootstrap intervals")
    return p


def config_from_args(args: argparse.Namespace, start: Checkpoint | None = None) -> TrainConfig:
    """The TrainConfig the flags describe: the defaults (or, for ``--best_train``, the preset
    ``best``) with every flag given applied on top. The preset trains for a time budget;
    ``--best_train --n_epochs N`` trains N iterations instead (unless ``--budget_minutes`` is
    given too), since a budget would silently ignore ``--n_epochs``.

    With ``--resume``, ``start`` is the interrupted run's checkpoint and the config is that
    run's: a flag may only repeat its value or change a printing field
    (:func:`~charlm.config.check_resumable`). With ``--init_from``, ``start`` is the checkpoint
    to start from: the model's shape comes from it, and a flag that asks for another is an
    error (:func:`~charlm.config.check_shape`)."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
             if getattr(args, f.name) is not None}
    if getattr(args, "resume", None):
        run = TrainConfig.from_dict(start.resume["config"], what=f"{args.resume} config")
        wanted = run.replace(**given)
        check_resumable(wanted, run, flag="--")
        return wanted
    if getattr(args, "init_from", None):
        shape = {name: getattr(start.config, name) for name in shape_fields()}
        given = shape | given
    if not getattr(args, "best_train", False):
        cfg = TrainConfig(**given)
    else:
        if "n_epochs" in given and "budget_minutes" not in given:
            given["budget_minutes"] = 0.0  # --n_epochs asks for iterations instead of the preset's budget
        cfg = preset("best", **given)
    if getattr(args, "init_from", None):
        check_shape(cfg, start.config, flag="--")
    return cfg


def starting_checkpoint(args: argparse.Namespace, mode: str) -> Checkpoint | None:
    """The checkpoint of ``--resume`` (checked to hold a state to go on from) or of
    ``--init_from``, or None."""
    path = getattr(args, "resume", None) or getattr(args, "init_from", None)
    if path is None:
        return None
    if mode not in STARTING:
        flag = "--resume" if args.resume else "--init_from"
        raise ConfigError(f"{flag} goes with {' or '.join(f'--{m}' for m in STARTING)}, "
                          f"not --{mode}")
    ckpt = load_checkpoint(path)
    if args.resume:
        check_resumable_checkpoint(ckpt, path)
    return ckpt


class PipeSafeOutput:
    """``sys.stdout``, but a reader that goes away (``charlm ... | head``) ends the output, not
    the work: the first ``BrokenPipeError`` points the stream at ``/dev/null``, what is printed
    after it is dropped, the run goes on (its checkpoint is saved) and the exit is quiet, as
    for a well-behaved Unix tool (``yes | head``)."""

    def __init__(self, stream) -> None:
        self._stream, self.pipe_closed = stream, False

    def write(self, text: str) -> int:
        if not self.pipe_closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._closed()
        return len(text)

    def flush(self) -> None:
        if not self.pipe_closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed()

    def _closed(self) -> None:
        self.pipe_closed = True
        # what is still buffered, and Python's own flush at exit, then go nowhere, silently
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m charlm`` and the ``charlm`` script. Returns the exit status."""
    stdout = sys.stdout
    sys.stdout = PipeSafeOutput(stdout)
    try:
        return _main(argv)
    finally:
        sys.stdout = stdout


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # SIGTERM behaves like Ctrl-C: finished work is kept, the current run is saved or dropped.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if argv and argv[0] in ("generate", "bpc", "compress", "decompress"):
            args = _sub_parser(argv[0]).parse_args(argv[1:])
            return getattr(commands, f"cmd_{argv[0]}")(args)
        if argv and argv[0] == "baselines":
            return commands.cmd_baselines(_baselines_parser().parse_args(argv[1:]))
        args = _train_parser().parse_args(argv)
        mode = next(m for m in MODES if getattr(args, m))
        start = starting_checkpoint(args, mode)
        cfg = config_from_args(args, start)
        resolve_device(cfg.device)  # what the machine can serve, before any work
        check_trainable(cfg)
        if mode not in THREADED:  # the studies train with one thread per worker
            if args.threads is not None:
                raise ConfigError(f"--threads sets the threads of one run; --{mode} trains each "
                                  f"of its runs with one")
            return getattr(commands, f"cmd_{mode}")(args, cfg)
        # the count, and why, printed by the command when it trains (after its checks)
        args.threads, args.threads_reason = choose_threads(
            cfg, args.threads, start.meta.get("threads") if args.resume else None)
        with torch_threads(args.threads):
            if mode in STARTING:
                return getattr(commands, f"cmd_{mode}")(args, cfg, start)
            return getattr(commands, f"cmd_{mode}")(args, cfg)
    except CharlmError as exc:
        print(f"charlm: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the last net: a file that cannot be read or written, in one line
        print(f"charlm: error: {os_error_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("charlm: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else 2


