"""The one training loop, shared by the command line, the studies, the notebooks and the tests."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

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
    predicted character, and takes one Adam step. Every ``plot_every`` iterations the mean loss
    is appended to the history; every ``print_every`` (when ``verbose``) a line
    ``<elapsed> (<iteration> <percent>%) <mean loss since last print>`` and a 100-character
    sample primed with "A" at temperature 0.8 are printed.

    With ``cfg.carry_state`` the batch rows instead read consecutive chunks of parallel streams
    and the state is carried (detached) from one iteration to the next; with ``cfg.shift_chunks``
    each pass over the streams starts at a new random offset; with ``cfg.reset_prob`` each
    stream's state is zeroed before a chunk with that probability (:func:`reset_streams`).
    ``cfg.weight_decay`` makes the optimiser AdamW with that decoupled decay (0: Adam), on the
    parameters ``cfg.decay_params`` names (:func:`decay_groups`). With
    ``cfg.lr_schedule == "cosine"`` the learning rate decays from ``lr`` to 5% of it. When a
    ``valid`` text is given, its BPC is measured every ``cfg.eval_every`` iterations and at the
    end (``result.valid_curve``).

    With ``cfg.budget_minutes`` the run trains until that many minutes of training time have
    passed (validation passes are not counted) instead of for ``n_epochs`` iterations, and the
    cosine schedule follows the elapsed fraction of the budget, so it ends when the budget
    does on any machine; the iterations reached are in ``result.iterations``. With
    ``cfg.precision`` ``bf16`` (or ``auto`` on a CPU that has it) the forward pass and the loss
    run under bfloat16 autocast; the weights, the optimiser and every evaluation stay fp32.
    With ``cfg.ema`` an exponential moving average of the weights is kept (updated after every
    step) and is what is evaluated and returned. With ``cfg.ensemble`` above 1 the run is
    :func:`train_ensemble`.

    A NaN or infinite loss, or one above 3 ln(100) (far worse than a uniform guess), stops
    the run: it is marked diverged at that iteration and keeps its history so far; so do
    weights that became non-finite (checked before the model is sampled or evaluated, and
    after the last step). Ctrl-C stops it too and marks it interrupted; the caller decides
    whether to save it.
    """
    if cfg.ensemble > 1:
        return train_ensemble(cfg, data, valid, verbose, progress, log)
    device = resolve_device(cfg.device)
    if len(data) < cfg.chunk_len + 1:
        raise ConfigError(
            f"chunk_len {cfg.chunk_len} is larger than the corpus allows "
            f"({len(data)} characters; at most {len(data) - 1})"
        )
    torch.manual_seed(cfg.seed)  # weight init and dropout
    gen = torch.Generator().manual_seed(cfg.seed)  # chunk choice, independent of the model
    model = build_model(cfg).to(device)
    autocast_dtype = resolve_precision(cfg, device)
    # AdamW only with decay: with none it is Adam, and iteration runs keep their exact histories
    optimizer = (torch.optim.AdamW(decay_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay)
                 if cfg.weight_decay else torch.optim.Adam(model.parameters(), lr=cfg.lr))
    budget = cfg.budget_minutes * 60.0  # seconds of training; 0: n_epochs iterations
    # with a budget the schedule follows elapsed time (set by hand below), not the step count
    scheduler = None if budget else torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg))
    averaged = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
                if cfg.ema else None)
    scored = averaged.module if averaged is not None else model  # what is evaluated and kept
    result = TrainResult(model, cfg)
    eval_seconds = 0.0

    def trained_seconds() -> float:
        return time.time() - start - eval_seconds

    def evaluate(it: int) -> None:
        nonlocal eval_seconds
        t0 = time.time()
        train_seconds = t0 - start - eval_seconds
        value = bpc(scored, valid)
        eval_seconds += time.time() - t0
        result.valid_curve.append((it, train_seconds, value))
        model.train()

    sink = _printer(log)

    def write(line: str) -> None:
        result.log.append(line)
        if verbose:
            sink(line)

    # As char-rnn does: a loss 3x that of guessing uniformly (3 ln 100 = 13.8 nats) is exploding.
    explode_at = EXPLODE_FACTOR * math.log(model.vocab_size)
    start = time.time()
    plot_sum = print_sum = 0.0
    state = None
    model.train()
    bar = tqdm(total=round(budget) if budget else cfg.n_epochs, disable=not progress_enabled(progress),
               unit="s" if budget else "it", dynamic_ncols=True, mininterval=1.0, leave=False)
    shown = 0  # seconds already shown on a budget's bar
    it = 0
    try:
        while (trained_seconds() < budget) if budget else (it < cfg.n_epochs):
            it += 1
            done = trained_seconds() / budget if budget else it / cfg.n_epochs
            if budget and cfg.lr_schedule == "cosine":
                for group in optimizer.param_groups:
                    group["lr"] = cfg.lr * cosine_factor(min(1.0, done))
            if cfg.carry_state:
                inputs, targets, restart = sequential_chunks(
                    data, cfg.chunk_len, cfg.batch_size, it - 1,
                    shift_seed=cfg.seed if cfg.shift_chunks else None)
                state = None if restart else detach(state)  # truncated BPTT
                if cfg.reset_prob and state is not None:
                    state = reset_streams(state, cfg.reset_prob, gen)
            else:
                inputs, targets = random_chunks(data, cfg.chunk_len, cfg.batch_size, gen)
                state = None  # zero initial state for every chunk (the coursework)
            inputs, targets = inputs.to(device), targets.to(device)
            with torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16,
                                enabled=autocast_dtype is not None):
                logits, state = model(inputs, state)
                loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(),
                                       targets.reshape(-1))
            value = loss.item()
            if not math.isfinite(value) or value > explode_at:
                result.diverged_at = it
                write(f"diverged: loss {value:.4g} at iteration {it} (limit {explode_at:.2f}: "
                      f"3x the loss of a uniform guess); stopping this run")
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if averaged is not None:
                averaged.update_parameters(model)
            result.iterations = it
            plot_sum += value
            print_sum += value
            if budget:
                now = min(round(budget), int(trained_seconds()))
                bar.update(now - shown)
                shown = now
            else:
                bar.update(1)
            if it % cfg.plot_every == 0:
                result.history.append(plot_sum / cfg.plot_every)
                plot_sum = 0.0
            sampling = it % cfg.print_every == 0
            validating = valid is not None and cfg.eval_every and it % cfg.eval_every == 0
            # A finite loss can still be followed by a step to NaN weights (a huge lr): check
            # before the model is used, and at the end, so a broken model is never "ok".
            last = trained_seconds() >= budget if budget else it == cfg.n_epochs
            if (sampling or validating or last) and not finite_weights(scored):
                result.diverged_at = it
                write(f"diverged: the weights are not finite after iteration {it}; "
                      f"stopping this run")
                break
            if sampling:  # kept in result.log always, printed when verbose
                pct = int(min(1.0, trained_seconds() / budget if budget else done) * 100)
                write(f"{time_since(start)} ({it} {pct}%) {print_sum / cfg.print_every:.4f}")
                write(generate(scored, "A", 100, 0.8, seed=cfg.seed + it) + "\n")
                print_sum = 0.0
            if validating:
                evaluate(it)
    except KeyboardInterrupt:
        result.interrupted = True
        write(f"interrupted at iteration {result.iterations}"
              + (f" after {trained_seconds() / 60:.1f} of {cfg.budget_minutes:g} minutes" if budget
                 else f" of {cfg.n_epochs}"))
    finally:
        bar.close()
    if valid is not None and result.status == "ok" and (
            not result.valid_curve or result.valid_curve[-1][0] != result.iterations):
        evaluate(result.iterations)
    result.wall_time = time.time() - start - eval_seconds
    if averaged is not None:  # the averaged weights are the model from here on
        result.model = averaged.module
    result.model.eval()
    return result


def _printer(log: Callable[[str], None] | None) -> Callable[[str], None]:
    """Where a run's lines go: ``log`` if given, else stdout through tqdm (keeps a bar intact)."""
    return log or (lambda line: tqdm.write(line, file=sys.stdout))


def member_config(cfg: TrainConfig, index: int) -> TrainConfig:
    """Member ``index`` (from 0) of ``cfg``'s ensemble: seed ``cfg.seed + index`` and an equal
    share of the budget (or of ``n_epochs``, the first members taking the remainder)."""
    n = cfg.ensemble
    share = dict(budget_minutes=cfg.budget_minutes / n) if cfg.budget_minutes else \
        dict(n_epochs=cfg.n_epochs // n + (index < cfg.n_epochs % n))
    return cfg.replace(ensemble=1, seed=cfg.seed + index, **share)


def train_ensemble(
    cfg: TrainConfig,
    data: torch.Tensor,
    valid: torch.Tensor | None = None,
    verbose: bool = True,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``cfg.ensemble`` models one after another with :func:`train`, each on its share of
    the budget (:func:`member_config`), and return them as one :class:`~charlm.model.Ensemble`.

    Independent models make different errors, so the average of their probabilities never
    scores worse than the members' mean BPC (Jensen's inequality) and usually better than each;
    with a fixed budget that pays only when a model alone gains little from more time, since
    every member gets a share of it. The history, the
    iterations and the training time add up over the members; the validation curve holds each
    member's points counted from the start of the run, then the ensemble's BPC at the end. A
    member that diverges or is interrupted ends the run there, with that status.
    """
    parts: list[TrainResult] = []
    curve: list[tuple[int, float, float]] = []
    iterations, seconds = 0, 0.0
    sink = _printer(log)
    headers = []
    for index in range(cfg.ensemble):
        member_cfg = member_config(cfg, index)
        headers.append(f"ensemble member {index + 1} of {cfg.ensemble} (seed {member_cfg.seed}, "
                       + (f"{member_cfg.budget_minutes:g} minutes)" if cfg.budget_minutes
                          else f"{member_cfg.n_epochs} iterations)"))
        if verbose:
            sink(headers[-1])
        part = train(member_cfg, data, valid, verbose, progress, log)
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


COSINE_FLOOR = 0.05  # the cosine schedule ends at this share of lr


def cosine_factor(done: float) -> float:
    """Multiplier of ``lr`` when the share ``done`` (0 to 1) of training is behind: from 1 down
    to :data:`COSINE_FLOOR` along half a cosine."""
    return COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * done))


def lr_factor(cfg: TrainConfig) -> Callable[[int], float]:
    """Multiplier of ``cfg.lr`` after a given number of steps (for ``LambdaLR``)."""
    if cfg.lr_schedule == "cosine":
        n = cfg.n_epochs
        # written out rather than cosine_factor(step / n): pi * step / n rounds differently,
        # and the runs cached before the budget existed must train exactly as they did
        return lambda step: (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5
                             * (1 + math.cos(math.pi * min(step, n) / n)))
    return lambda step: 1.0


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
