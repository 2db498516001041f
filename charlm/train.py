"""The one training loop, shared by the command line, the studies, the notebooks and the tests."""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .config import TrainConfig, check_resumable
from .data import random_chunks, sequential_chunks
from .errors import ConfigError
from .evaluate import bpc
from .model import CharRNN, Ensemble, build_member, build_model, finite_weights
from .progress import progress_enabled
from .sample import generate

EXPLODE_FACTOR = 3.0  # stop when the loss exceeds this many times ln(vocab size)


@dataclass
class TrainResult:
    """What a training run produced."""

    model: CharRNN | Ensemble
    config: TrainConfig
    history: list[float] = field(default_factory=list)  # mean loss of every plot_every iterations
    iterations: int = 0  # iterations completed (optimizer steps taken)
    diverged_at: int | None = None  # iteration whose loss was NaN/inf, if any
    interrupted: bool = False  # stopped by Ctrl-C before n_epochs
    wall_time: float = 0.0  # seconds spent in the loop
    log: list[str] = field(default_factory=list)  # the printed lines, kept for the report
    # (iteration, training seconds so far, validation BPC) every eval_every iterations and at
    # the end, when a validation text was given; evaluation time is not counted as training
    valid_curve: list[tuple[int, float, float]] = field(default_factory=list)
    # an ensemble's members: the iterations each trained (its valid_curve holds each member's
    # own points, counted from the start of the run, then the ensemble's at the end)
    member_iterations: list[int] = field(default_factory=list)
    # what an interrupted run needs to go on exactly (``train(..., resume=)``): tensors and
    # plain data, None when the run finished or was stopped in the middle of a step
    resume: dict | None = None

    @property
    def valid_bpc(self) -> float:
        """Validation BPC at the end of training (NaN without a validation text)."""
        return self.valid_curve[-1][2] if self.valid_curve else math.nan

    @property
    def status(self) -> str:
        """``ok``, ``diverged`` or ``interrupted``."""
        if self.diverged_at is not None:
            return "diverged"
        return "interrupted" if self.interrupted else "ok"

    @property
    def min_loss(self) -> float:
        return min(self.history) if self.history else math.nan

    @property
    def final_loss(self) -> float:
        return self.history[-1] if self.history else math.nan

    def meta(self) -> dict:
        """Run metadata for checkpoints and logs (plain types only)."""
        return {
            "status": self.status,
            "iterations": self.iterations,
            "diverged_at": self.diverged_at,
            "wall_time": round(self.wall_time, 3),
            "min_loss": self.min_loss,
            "final_loss": self.final_loss,
            "n_params": self.model.n_params(),
            "torch_version": str(torch.__version__),  # TorchVersion would not load with weights_only
            "threads": torch.get_num_threads(),
            "seed": self.config.seed,
            "log": "\n".join(self.log),
            # times are rounded once, here: rounding each member's points and then their sums
            # could put a later point before an earlier one
            "valid_curve": [[it, round(secs, 3), value] for it, secs, value in self.valid_curve],
            "valid_bpc": self.valid_bpc,
            "member_iterations": list(self.member_iterations),
        }


def time_since(start: float) -> str:
    """Elapsed time as the coursework prints it: ``'1m 23s'``."""
    s = int(time.time() - start)
    return f"{s // 60}m {s % 60}s"


def resolve_device(name: str) -> torch.device:
    """The torch device for ``name``: ``cpu``, or ``cuda``/``cuda:N``/``mps`` where this machine
    has it. Anything else (a name torch does not know, or one it knows but charlm does not
    train on, such as ``meta`` or ``xpu``) is a :class:`ConfigError`, before any work."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be a torch device name such as cpu or cuda, got {name!r}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ConfigError(f"device {name!r} was asked for but no CUDA device is available; use cpu")
        if device.index is not None and device.index >= count:
            raise ConfigError(f"device {name!r}: this machine has {count} CUDA device(s) "
                              f"(cuda:0 to cuda:{count - 1})")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError(f"device {name!r} was asked for but MPS is not available; use cpu")
    elif device.type != "cpu" or device.index not in (None, 0):
        raise ConfigError(f"device {name!r} is not supported: use cpu (or cuda, mps where present)")
    return device


def bf16_supported() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX), so that autocast to
    bfloat16 is faster rather than emulated."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_precision(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype ``cfg.precision`` asks for on ``device`` (None: plain fp32).

    ``auto`` means bfloat16 where the CPU has it natively, else fp32; ``bf16`` on a CPU
    without it is refused (it would run, emulated, slower than fp32).
    """
    if cfg.precision == "fp32" or device.type != "cpu":
        return None
    if bf16_supported():
        return torch.bfloat16
    if cfg.precision == "bf16":
        raise ConfigError("precision bf16 was asked for but this CPU has no native bfloat16 "
                          "(AVX512-BF16 or AMX); use fp32 or auto")
    return None


class Clock:
    """How far along a run is, in the unit its length is given in: iterations (``n_epochs``) or
    seconds of training time (``budget_minutes``), evaluation time not counted.

    The loop asks it whether the run is :meth:`done`; the learning-rate schedule, the progress
    bar and the printed percentage read :meth:`elapsed` against :attr:`total`, so a budget run
    and an iteration run go through the same code.
    """

    def __init__(self, cfg: TrainConfig) -> None:
        self.budget = cfg.budget_minutes * 60.0  # seconds; 0: the run is n_epochs iterations
        self.total = self.budget or cfg.n_epochs
        self.unit = "s" if self.budget else "it"
        self.steps = 0  # iterations completed
        self.start = time.time()
        self._paused = 0.0

    def seconds(self) -> float:
        """Training seconds so far (the time inside :meth:`paused` left out)."""
        return time.time() - self.start - self._paused

    def elapsed(self) -> float:
        """How far along, in the clock's unit: seconds with a budget, else iterations."""
        return self.seconds() if self.budget else self.steps

    def fraction(self) -> float:
        """The share of the run behind, from 0 to 1."""
        return min(1.0, self.elapsed() / self.total)

    def done(self) -> bool:
        return self.elapsed() >= self.total

    def tick(self) -> None:
        self.steps += 1

    def resume(self, steps: int, seconds: float) -> None:
        """Go on from ``steps`` iterations and ``seconds`` of training time (an interrupted
        run's): a budget run then has what is left of its budget."""
        self.steps = steps
        self.start, self._paused = time.time() - seconds, 0.0

    @contextmanager
    def paused(self) -> Iterator[None]:
        """A block whose time is not training time (validation)."""
        t0 = time.time()
        try:
            yield
        finally:
            self._paused += time.time() - t0


COSINE_FLOOR = 0.05  # the cosine schedule ends at this share of lr


def cosine_factor(done: float, total: float = 1.0) -> float:
    """Multiplier of ``lr`` when ``done`` of ``total`` (iterations or seconds) is behind: from 1
    down to :data:`COSINE_FLOOR` along half a cosine."""
    return COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * done / total))


def learning_rate(cfg: TrainConfig, clock: Clock) -> float:
    """The step size of the next step: ``cfg.lr``, or with ``cfg.lr_schedule == "cosine"`` that
    times :func:`cosine_factor` of how far along ``clock`` is."""
    if cfg.lr_schedule == "cosine":
        return cfg.lr * cosine_factor(min(clock.elapsed(), clock.total), clock.total)
    return cfg.lr


class Diverged(Exception):
    """A run's loss (``in_step``: of the step being taken) or weights (after the last step)
    stopped being usable; ``message`` says how, with ``{it}`` for the iteration."""

    def __init__(self, message: str, in_step: bool) -> None:
        super().__init__(message)
        self.message, self.in_step = message, in_step


def train(
    cfg: TrainConfig,
    data: torch.Tensor,
    valid: torch.Tensor | None = None,
    verbose: bool = True,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    *,
    init_from: dict[str, torch.Tensor] | None = None,
    resume: dict | None = None,
) -> TrainResult:
    """Train a model on ``data`` (encoded corpus, shape ``(N,)``) as ``cfg`` says.

    Each iteration draws ``batch_size`` random chunks of ``chunk_len + 1`` characters, runs
    the model from a zero state over the inputs, takes the cross-entropy averaged over every
    predicted character, and takes one AdamW step (with ``cfg.weight_decay`` 0, the default,
    that is Adam). Every ``plot_every`` iterations the mean loss is appended to the history;
    every ``print_every`` (when ``verbose``) a line ``<elapsed> (<iteration> <percent>%) <mean
    loss since last print>`` and a 100-character sample primed with "A" at temperature 0.8 are
    printed.

    With ``cfg.carry_state`` the batch rows instead read consecutive chunks of parallel streams
    and the state is carried (detached) from one iteration to the next; with ``cfg.shift_chunks``
    each pass over the streams starts at a new random offset; with ``cfg.reset_prob`` each
    stream's state is zeroed before a chunk with that probability (:func:`reset_streams`).
    Weight decay pulls on the parameters ``cfg.decay_params`` names (:func:`decay_groups`). With
    ``cfg.lr_schedule == "cosine"`` the learning rate decays from ``lr`` to 5% of it
    (:func:`learning_rate`). When a ``valid`` text is given, its BPC is measured every
    ``cfg.eval_every`` iterations and at the end (``result.valid_curve``).

    With ``cfg.budget_minutes`` the run trains until that many minutes of training time have
    passed (validation passes are not counted) instead of for ``n_epochs`` iterations, and the
    cosine schedule follows the elapsed share of the budget (:class:`Clock`), so it ends when the
    budget does on any machine; the iterations reached are in ``result.iterations``. With
    ``cfg.precision`` ``bf16`` (or ``auto`` on a CPU that has it) the forward pass and the loss
    run under bfloat16 autocast; the weights, the optimiser and every evaluation stay fp32.
    With ``cfg.ema`` an exponential moving average of the weights is kept (updated after every
    step) and is what is evaluated and returned. With ``cfg.ensemble`` above 1, ``cfg.ensemble``
    models are trained one after another this way, each on its share (:func:`member_config`),
    and returned as one :class:`~charlm.model.Ensemble` (:func:`_ensemble`).

    ``init_from``: the weights to start from (the state dict of a model of ``cfg``'s shape)
    instead of a random initialisation: fine-tuning; the optimiser and the schedule start
    fresh. ``resume``: the :attr:`TrainResult.resume` of an interrupted run of ``cfg`` (only
    :func:`~charlm.config.printing_fields` may differ): the run goes on where it stopped and
    ends with the weights, history and log it would have had uninterrupted, bit for bit on the
    same machine and thread count (a budget run gets what is left of its budget).

    A NaN or infinite loss, or one above 3 ln(100) (far worse than a uniform guess), stops
    the run: it is marked diverged at that iteration and keeps its history so far; so do
    weights that became non-finite (checked before the model is sampled or evaluated, and
    after the last step). Ctrl-C (or SIGTERM, where a handler for it is installed) stops it
    too, at the end of the iteration under way (a second one stops it at once): it is marked
    interrupted, ``result.resume`` holds what it needs to go on, and the caller decides
    whether to save it.
    """
    lines = _Lines(verbose, log)
    if resume is not None:
        check_resumable(cfg, TrainConfig.from_dict(resume["config"], "the run to resume"))
    if cfg.ensemble > 1:
        return _ensemble(cfg, data, valid, lines, progress, init_from, resume)
    return _train_one(cfg, data, valid, lines, progress, init_from,
                      resume["loop"] if resume is not None else None)


def _train_one(cfg: TrainConfig, data: torch.Tensor, valid: torch.Tensor | None,
               lines: "_Lines", progress: bool | None, init: dict | None = None,
               loop: dict | None = None) -> TrainResult:
    """One model: set up (or restore an interrupted run's ``loop`` state), then step, record
    and report until the clock says done."""
    device = resolve_device(cfg.device)
    if len(data) < cfg.chunk_len + 1:
        raise ConfigError(f"chunk_len {cfg.chunk_len} is larger than the corpus allows "
                          f"({len(data)} characters; at most {len(data) - 1})")
    torch.manual_seed(cfg.seed)  # weight init and dropout
    gen = torch.Generator().manual_seed(cfg.seed)  # chunk choice, independent of the model
    model = build_model(cfg).to(device)
    if init is not None:
        model.load_state_dict(init)
    optimizer = torch.optim.AdamW(decay_groups(model, cfg), lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    averaged = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
                if cfg.ema else None)
    batches = _Batches(cfg, data, gen, device)
    step = _Step(cfg, model, optimizer, averaged, device)
    clock = Clock(cfg)
    result = TrainResult(model, cfg)
    report = _Report(cfg, result, clock, step.scored, valid, lines, progress)
    run = _Run(model, optimizer, averaged, gen, batches, clock, report, result)
    if loop is not None:
        run.restore(loop, device)
    model.train()
    signals = _HeldSignals()
    try:
        with signals:
            while not clock.done():
                step.set_lr(learning_rate(cfg, clock))
                value = step(batches)  # one optimiser step on the next batch
                clock.tick()
                report(value)
                if signals.held:
                    signals.deliver()  # Ctrl-C: here, between iterations
    except Diverged as stop:
        result.diverged_at = clock.steps + 1 if stop.in_step else clock.steps
        report.write(stop.message.format(it=result.diverged_at))
    except KeyboardInterrupt:
        result.interrupted = True
        if signals.between_iterations:  # else a step was cut short: nothing to go on from
            result.resume = {"config": cfg.to_dict(), "members": [], "loop": run.snapshot()}
        report.write(f"interrupted at iteration {clock.steps}"
                     + (f" after {clock.seconds() / 60:.1f} of {cfg.budget_minutes:g} minutes"
                        if clock.budget else f" of {cfg.n_epochs}"))
    finally:
        report.close()
    if valid is not None and result.status == "ok" and (
            not result.valid_curve or result.valid_curve[-1][0] != result.iterations):
        report.validate()
    result.wall_time = clock.seconds()
    result.model = step.scored  # the averaged weights, with ema, are the model from here on
    result.model.eval()
    return result


class _HeldSignals:
    """Ctrl-C (SIGINT) and SIGTERM held until the end of the iteration under way.

    Inside the block, a signal whose handler is a Python function (Ctrl-C's KeyboardInterrupt,
    the command line's SIGTERM) is only noted; :meth:`deliver`, called between iterations, then
    runs that handler, so that a run stops with its weights, optimiser, random states and
    history all at the same iteration, from which it can go on exactly. A second signal before
    then runs the handler at once (a user who insists is not kept waiting). Outside the main
    thread, where Python delivers no signals, nothing changes.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.held: list[int] = []
        self.handlers: dict[int, Callable] = {}
        self.between_iterations = False  # True while held signals are being delivered

    def __enter__(self) -> "_HeldSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                handler = signal.getsignal(sig)
                if callable(handler):
                    self.handlers[sig] = handler
                    signal.signal(sig, self._hold)
        return self

    def _hold(self, sig: int, frame) -> None:
        if self.held:
            self.handlers[sig](sig, frame)
        self.held.append(sig)

    def deliver(self) -> None:
        """Run the handlers of the signals held so far (a KeyboardInterrupt goes up from here)."""
        self.between_iterations = True
        while self.held:
            sig = self.held.pop(0)
            self.handlers[sig](sig, None)
        self.between_iterations = False

    def __exit__(self, *exc) -> None:
        for sig, handler in self.handlers.items():
            signal.signal(sig, handler)
        if exc[0] is None:
            self.deliver()  # one that came after the last iteration's check


class _Run:
    """The parts of a run whose state an interruption keeps: :meth:`snapshot` takes it between
    iterations (tensors and plain data, for a checkpoint) and :meth:`restore` puts it back into
    a freshly built run of the same config."""

    def __init__(self, model: CharRNN, optimizer: torch.optim.Optimizer,
                 averaged: AveragedModel | None, gen: torch.Generator, batches: "_Batches",
                 clock: Clock, report: "_Report", result: TrainResult) -> None:
        self.model, self.optimizer, self.averaged, self.gen = model, optimizer, averaged, gen
        self.batches, self.clock, self.report, self.result = batches, clock, report, result

    def snapshot(self) -> dict:
        device = next(self.model.parameters()).device
        return {
            "model": self.model.state_dict(),  # the trained weights (not the average, with ema)
            "averaged": self.averaged.state_dict() if self.averaged is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "steps": self.clock.steps,
            "seconds": self.clock.seconds(),
            "data_rng": self.gen.get_state(),  # chunks and stream resets
            "torch_rng": torch.get_rng_state(),  # dropout's masks
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "drawn": self.batches.drawn,
            "carried": detach(self.batches.state),
            "plot_sum": self.report.plot_sum,
            "print_sum": self.report.print_sum,
            "history": list(self.result.history),
            "log": list(self.result.log),
            "valid_curve": [list(point) for point in self.result.valid_curve],
        }

    def restore(self, loop: dict, device: torch.device) -> None:
        self.model.load_state_dict(loop["model"])
        self.optimizer.load_state_dict(loop["optimizer"])
        if self.averaged is not None:
            self.averaged.load_state_dict(loop["averaged"])
        self.gen.set_state(loop["data_rng"].cpu())
        torch.set_rng_state(loop["torch_rng"].cpu())
        if device.type == "cuda" and loop["cuda_rng"] is not None:
            torch.cuda.set_rng_state(loop["cuda_rng"].cpu(), device)
        self.batches.drawn = loop["drawn"]
        self.batches.state = to_device(loop["carried"], device)
        self.clock.resume(loop["steps"], loop["seconds"])
        self.report.plot_sum, self.report.print_sum = loop["plot_sum"], loop["print_sum"]
        self.result.iterations = loop["steps"]
        self.result.history = list(loop["history"])
        self.result.log = list(loop["log"])
        self.result.valid_curve = [tuple(point) for point in loop["valid_curve"]]


class _Batches:
    """The training chunks of each iteration, and the state the model starts them from."""

    def __init__(self, cfg: TrainConfig, data: torch.Tensor, gen: torch.Generator,
                 device: torch.device) -> None:
        self.cfg, self.data, self.gen, self.device = cfg, data, gen, device
        self.state = None
        self.drawn = 0  # batches drawn so far

    def next(self):
        """Inputs, targets and initial state of the next iteration."""
        cfg = self.cfg
        self.drawn += 1
        if cfg.carry_state:
            inputs, targets, restart = sequential_chunks(
                self.data, cfg.chunk_len, cfg.batch_size, self.drawn - 1,
                shift_seed=cfg.seed if cfg.shift_chunks else None)
            self.state = None if restart else detach(self.state)  # truncated BPTT
            if cfg.reset_prob and self.state is not None:
                self.state = reset_streams(self.state, cfg.reset_prob, self.gen)
        else:
            inputs, targets = random_chunks(self.data, cfg.chunk_len, cfg.batch_size, self.gen)
            self.state = None  # zero initial state for every chunk (the coursework)
        return inputs.to(self.device), targets.to(self.device), self.state

    def carry(self, state) -> None:
        """The state the model ended the batch in (the next batch starts from it)."""
        self.state = state


class _Step:
    """One optimiser step: forward under the run's precision, the loss, a check that it is
    usable, backward, clipping, the step, and the weight average."""

    def __init__(self, cfg: TrainConfig, model: CharRNN, optimizer: torch.optim.Optimizer,
                 averaged: AveragedModel | None, device: torch.device) -> None:
        self.cfg, self.model, self.optimizer, self.averaged = cfg, model, optimizer, averaged
        dtype = resolve_precision(cfg, device)
        # the context of the forward pass: bfloat16 autocast, or nothing at all in fp32
        self.precision = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else nullcontext
        self.lr: float | None = None  # the step size last set
        self.scored = averaged.module if averaged is not None else model  # evaluated and kept
        # As char-rnn does: a loss 3x that of guessing uniformly (3 ln 100 = 13.8 nats) is
        # exploding.
        self.explode_at = EXPLODE_FACTOR * math.log(model.vocab_size)

    def set_lr(self, lr: float) -> None:
        if lr != self.lr:  # a constant rate is set once
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.lr = lr

    def __call__(self, batches: _Batches) -> float:
        """Train on ``batches``' next batch; returns its loss (raises :class:`Diverged`)."""
        inputs, targets, state = batches.next()
        with self.precision():
            logits, state = self.model(inputs, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(),
                                   targets.reshape(-1))
        batches.carry(state)
        value = loss.item()
        if not math.isfinite(value) or value > self.explode_at:
            raise Diverged(f"diverged: loss {value:.4g} at iteration {{it}} (limit "
                           f"{self.explode_at:.2f}: 3x the loss of a uniform guess); stopping "
                           f"this run", in_step=True)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip)
        self.optimizer.step()
        if self.averaged is not None:
            self.averaged.update_parameters(self.model)
        return value


class _Lines:
    """Where a run's lines go: kept always (for the report), printed when ``verbose`` to
    ``log`` if given, else to stdout through tqdm (which keeps a progress bar intact)."""

    def __init__(self, verbose: bool, log: Callable[[str], None] | None) -> None:
        self.verbose = verbose
        self.sink = log or (lambda line: tqdm.write(line, file=sys.stdout))

    def __call__(self, line: str, kept: list[str] | None = None) -> None:
        if kept is not None:
            kept.append(line)
        if self.verbose:
            self.sink(line)


class _Report:
    """What a run records and shows after each step: the loss history, the progress bar, the
    printed line and sample, the validation curve, and the check that the weights are finite
    before any of them is used."""

    def __init__(self, cfg: TrainConfig, result: TrainResult, clock: Clock, scored: torch.nn.Module,
                 valid: torch.Tensor | None, lines: _Lines, progress: bool | None) -> None:
        self.cfg, self.result, self.clock, self.scored, self.valid = cfg, result, clock, scored, valid
        self.lines = lines
        self.plot_sum = self.print_sum = 0.0
        self.bar = tqdm(total=round(clock.total), disable=not progress_enabled(progress),
                        unit=clock.unit, dynamic_ncols=True, mininterval=1.0, leave=False)

    def write(self, line: str) -> None:
        self.lines(line, self.result.log)

    def close(self) -> None:
        self.bar.close()

    def validate(self) -> None:
        """Validation BPC now, in the curve with the training seconds so far (not counted)."""
        seconds = self.clock.seconds()
        with self.clock.paused():
            value = bpc(self.scored, self.valid)
        self.result.valid_curve.append((self.clock.steps, seconds, value))
        self.result.model.train()

    def __call__(self, value: float) -> None:
        cfg, it = self.cfg, self.clock.steps
        self.result.iterations = it
        self.plot_sum += value
        self.print_sum += value
        if not self.bar.disable:
            self.bar.update(min(round(self.clock.total), int(self.clock.elapsed())) - self.bar.n)
        if it % cfg.plot_every == 0:
            self.result.history.append(self.plot_sum / cfg.plot_every)
            self.plot_sum = 0.0
        sampling = it % cfg.print_every == 0
        validating = self.valid is not None and cfg.eval_every and it % cfg.eval_every == 0
        # A finite loss can still be followed by a step to NaN weights (a huge lr): check
        # before the model is used, and at the end, so a broken model is never "ok".
        if (sampling or validating or self.clock.done()) and not finite_weights(self.scored):
            raise Diverged("diverged: the weights are not finite after iteration {it}; "
                           "stopping this run", in_step=False)
        if sampling:
            pct = int(self.clock.fraction() * 100)
            self.write(f"{time_since(self.clock.start)} ({it} {pct}%) "
                       f"{self.print_sum / cfg.print_every:.4f}")
            self.write(generate(self.scored, "A", 100, 0.8, seed=cfg.seed + it) + "\n")
            self.print_sum = 0.0
        if validating:
            self.validate()


def member_config(cfg: TrainConfig, index: int) -> TrainConfig:
    """Member ``index`` (from 0) of ``cfg``'s ensemble: seed ``cfg.seed + index`` and an equal
    share of the budget (or of ``n_epochs``, the first members taking the remainder)."""
    n = cfg.ensemble
    share = dict(budget_minutes=cfg.budget_minutes / n) if cfg.budget_minutes else \
        dict(n_epochs=cfg.n_epochs // n + (index < cfg.n_epochs % n))
    return cfg.replace(ensemble=1, seed=cfg.seed + index, **share)


def _ensemble(cfg: TrainConfig, data: torch.Tensor, valid: torch.Tensor | None, lines: _Lines,
              progress: bool | None, init: dict | None = None,
              resume: dict | None = None) -> TrainResult:
    """``cfg.ensemble`` models trained one after another by the one-model loop, each on its
    share of the budget (:func:`member_config`), returned as one
    :class:`~charlm.model.Ensemble`.

    Independent models make different errors, so the average of their probabilities never
    scores worse than the members' mean BPC (Jensen's inequality) and usually better than each;
    with a fixed budget that pays only when a model alone gains little from more time, since
    every member gets a share of it. The history, the iterations and the training time add up
    over the members; the validation curve holds each member's points counted from the start of
    the run, then the ensemble's BPC at the end. A member that diverges or is interrupted ends
    the run there, with that status. Member i starts from the weights of member i of ``init``
    (an ensemble's state dict) when given; an interrupted run's ``resume`` state holds the
    members it finished and the loop of the one it was training.
    """
    finished = resume["members"] if resume is not None else []
    parts: list[TrainResult] = []
    curve: list[tuple[int, float, float]] = []
    iterations, seconds = 0, 0.0
    headers = []
    for index in range(cfg.ensemble):
        member_cfg = member_config(cfg, index)
        headers.append(f"ensemble member {index + 1} of {cfg.ensemble} (seed {member_cfg.seed}, "
                       + (f"{member_cfg.budget_minutes:g} minutes)" if cfg.budget_minutes
                          else f"{member_cfg.n_epochs} iterations)"))
        if index < len(finished):
            part = _finished_member(member_cfg, finished[index])
        else:
            lines(headers[-1])
            prefix = f"members.{index}."
            part = _train_one(member_cfg, data, valid, lines, progress,
                              init and {k[len(prefix):]: v for k, v in init.items()
                                        if k.startswith(prefix)},
                              resume["loop"] if resume is not None and index == len(finished)
                              else None)
        curve += [(iterations + it, seconds + secs, value)
                  for it, secs, value in part.valid_curve]
        iterations += part.iterations
        seconds += part.wall_time
        parts.append(part)
        if part.status != "ok":
            break
    # a run stopped early keeps the members it has (so its checkpoint loads as what it is)
    members = [p.model for p in parts]
    kept = cfg if len(members) == cfg.ensemble else cfg.replace(ensemble=len(members))
    result = TrainResult(Ensemble(members) if len(members) > 1 else members[0], kept,
                         history=[v for p in parts for v in p.history], iterations=iterations,
                         interrupted=parts[-1].interrupted, wall_time=seconds,
                         log=[line for h, p in zip(headers, parts) for line in (h, *p.log)],
                         valid_curve=curve, member_iterations=[p.iterations for p in parts])
    if parts[-1].diverged_at is not None:
        result.diverged_at = iterations - parts[-1].iterations + parts[-1].diverged_at
    if parts[-1].resume is not None:
        result.resume = {"config": cfg.to_dict(), "members": [_member_state(p) for p in parts[:-1]],
                         "loop": parts[-1].resume["loop"]}
    result.model.eval()
    if valid is not None and result.status == "ok":
        result.valid_curve.append((iterations, seconds, bpc(result.model, valid)))
    return result


def _member_state(part: TrainResult) -> dict:
    """What a resumed ensemble needs of a member it had finished."""
    return {"weights": part.model.state_dict(), "history": list(part.history),
            "iterations": part.iterations, "wall_time": part.wall_time, "log": list(part.log),
            "valid_curve": [list(point) for point in part.valid_curve]}


def _finished_member(cfg: TrainConfig, state: dict) -> TrainResult:
    """A member that an interrupted ensemble had finished, as :func:`_member_state` kept it."""
    model = build_member(cfg).to(resolve_device(cfg.device))
    model.load_state_dict(state["weights"])
    model.eval()
    return TrainResult(model, cfg, history=list(state["history"]),
                       iterations=state["iterations"], wall_time=state["wall_time"],
                       log=list(state["log"]),
                       valid_curve=[tuple(point) for point in state["valid_curve"]])


def decay_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """AdamW's parameter groups for ``cfg.decay_params``: ``all`` decays every parameter;
    ``matrices`` decays only the weight matrices of the recurrent layers and the decoder, and
    leaves the biases and the embedding alone. Decay pulls a parameter towards zero whatever its
    gradient; for an embedding row or a decoder bias of a character that the text never (or
    rarely) shows, it is almost the only force, and zero is not a harmless value there: it makes
    the unseen characters likelier than the data says."""
    if cfg.decay_params == "all":
        return [{"params": list(model.parameters())}]
    embedded = {id(p) for m in model.modules() if isinstance(m, torch.nn.Embedding)
                for p in m.parameters()}
    decayed, kept = [], []
    for p in model.parameters():
        (decayed if p.ndim >= 2 and id(p) not in embedded else kept).append(p)
    return [{"params": decayed}, {"params": kept, "weight_decay": 0.0}]


def reset_streams(state, prob: float, gen: torch.Generator):
    """Zero the carried state of each batch row (stream) with probability ``prob``.

    Carried state means a model almost never reads from a zero state in training, yet sampling
    and evaluation start from one; resetting a few streams at random keeps that state familiar.
    The draws come from ``gen`` (the run's data generator), so a run is reproducible.
    """
    first = state[0] if isinstance(state, tuple) else state  # (n_layers, batch, hidden)
    keep = (torch.rand(first.size(1), generator=gen) >= prob).to(first.dtype)[None, :, None]
    keep = keep.to(first.device)
    if isinstance(state, tuple):
        return tuple(s * keep for s in state)
    return state * keep


def detach(state):
    """Cut the graph behind a carried state (an LSTM's ``(h, c)`` or a GRU/RNN's ``h``)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def to_device(state, device: torch.device):
    """A carried state (``(h, c)``, ``h`` or None) on ``device``."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return tuple(s.to(device) for s in state)
    return state.to(device)
