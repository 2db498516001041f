"""The one training loop, shared by the command line, the studies, the notebooks and the tests."""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .config import TrainConfig
from .data import random_chunks, sequential_chunks
from .errors import ConfigError
from .evaluate import bpc
from .model import CharRNN, Ensemble, build_model, finite_weights
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
) -> TrainResult:
    """Train a fresh model on ``data`` (encoded corpus, shape ``(N,)``) as ``cfg`` says.

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

    A NaN or infinite loss, or one above 3 ln(100) (far worse than a uniform guess), stops
    the run: it is marked diverged at that iteration and keeps its history so far; so do
    weights that became non-finite (checked before the model is sampled or evaluated, and
    after the last step). Ctrl-C stops it too and marks it interrupted; the caller decides
    whether to save it.
    """
    lines = _Lines(verbose, log)
    if cfg.ensemble > 1:
        return _ensemble(cfg, data, valid, lines, progress)
    return _train_one(cfg, data, valid, lines, progress)


def _train_one(cfg: TrainConfig, data: torch.Tensor, valid: torch.Tensor | None,
               lines: "_Lines", progress: bool | None) -> TrainResult:
    """One model: set up, then step, record and report until the clock says done."""
    device = resolve_device(cfg.device)
    if len(data) < cfg.chunk_len + 1:
        raise ConfigError(f"chunk_len {cfg.chunk_len} is larger than the corpus allows "
                          f"({len(data)} characters; at most {len(data) - 1})")
    torch.manual_seed(cfg.seed)  # weight init and dropout
    gen = torch.Generator().manual_seed(cfg.seed)  # chunk choice, independent of the model
    model = build_model(cfg).to(device)
    optimizer = torch.optim.AdamW(decay_groups(model, cfg), lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    averaged = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
                if cfg.ema else None)
    batches = _Batches(cfg, data, gen, device)
    step = _Step(cfg, model, optimizer, averaged, device)
    clock = Clock(cfg)
    result = TrainResult(model, cfg)
    report = _Report(cfg, result, clock, step.scored, valid, lines, progress)
    model.train()
    try:
        while not clock.done():
            step.set_lr(learning_rate(cfg, clock))
            value = step(batches)  # one optimiser step on the next batch
            clock.tick()
            report(value)
    except Diverged as stop:
        result.diverged_at = clock.steps + 1 if stop.in_step else clock.steps
        report.write(stop.message.format(it=result.diverged_at))
    except KeyboardInterrupt:
        result.interrupted = True
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
              progress: bool | None) -> TrainResult:
    """``cfg.ensemble`` models trained one after another by the one-model loop, each on its
    share of the budget (:func:`member_config`), returned as one
    :class:`~charlm.model.Ensemble`.

    Independent models make different errors, so the average of their probabilities never
    scores worse than the members' mean BPC (Jensen's inequality) and usually better than each;
    with a fixed budget that pays only when a model alone gains little from more time, since
    every member gets a share of it. The history, the iterations and the training time add up
    over the members; the validation curve holds each member's points counted from the start of
    the run, then the ensemble's BPC at the end. A member that diverges or is interrupted ends
    the run there, with that status.
    """
    parts: list[TrainResult] = []
    curve: list[tuple[int, float, float]] = []
    iterations, seconds = 0, 0.0
    headers = []
    for index in range(cfg.ensemble):
        member_cfg = member_config(cfg, index)
        headers.append(f"ensemble member {index + 1} of {cfg.ensemble} (seed {member_cfg.seed}, "
                       + (f"{member_cfg.budget_minutes:g} minutes)" if cfg.budget_minutes
                          else f"{member_cfg.n_epochs} iterations)"))
        lines(headers[-1])
        part = _train_one(member_cfg, data, valid, lines, progress)
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
    result.model.eval()
    if valid is not None and result.status == "ok":
        result.valid_curve.append((iterations, seconds, bpc(result.model, valid)))
    return result


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
