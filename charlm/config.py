"""Hyperparameters as one typed dataclass.

The field names are the command-line flags (``--hidden_size``), the papermill parameters of
the notebooks and the keys of the ``config`` stored in every checkpoint. Defaults are the
coursework's ``--default_train`` settings.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError

CELLS = ("lstm", "gru", "rnn")
LR_SCHEDULES = ("constant", "cosine")
PRECISIONS = ("fp32", "bf16", "auto")
DROPOUT_MASKS = ("torch", "fast", "locked")
DECAY_PARAMS = ("all", "matrices")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and so its cache key)."""

    n_epochs: int = 3000  # iterations; each is ONE random chunk (the coursework's "epoch")
    hidden_size: int = 128  # width of the embedding and of every recurrent layer
    n_layers: int = 2  # stacked recurrent layers
    lr: float = 0.005  # Adam's step size
    print_every: int = 100  # print elapsed time, progress, average loss and a sample
    plot_every: int = 10  # record the average loss of this many iterations in the history
    chunk_len: int = 200  # characters of input per chunk (the chunk itself has one more)
    batch_size: int = 1  # chunks per iteration; 1 is the coursework
    seed: int = 1234  # seeds weight init, chunk choice and printed samples
    cell: str = "lstm"  # recurrent layer: lstm, gru or rnn
    clip: float = 0.0  # max gradient norm; 0 = no clipping (the coursework)
    dropout: float = 0.0  # dropout between stacked layers and before the decoder; 0 = none (the coursework)
    device: str = "cpu"  # torch device; "cuda" when asked for and present
    corpus: str = "dickens_train.txt"  # training text: a file in data/ or the path of any text file
    # Beyond the coursework (all off by default, so the defaults ARE the coursework):
    valid_frac: float = 0.0  # share of the corpus held out for validation (blocks; 0 = none)
    eval_every: int = 0  # validation BPC every this many iterations (0 = only at the end)
    carry_state: bool = False  # consecutive chunks per batch row, state carried (truncated BPTT)
    lr_schedule: str = "constant"  # "constant" or "cosine" (decay to 5% of lr at the end of training)
    budget_minutes: float = 0.0  # train for this many minutes (validation not counted), not n_epochs; 0 = off
    precision: str = "fp32"  # "fp32", "bf16" (autocast) or "auto" (bf16 where the CPU has it natively)
    ema: float = 0.0  # weights averaged with this decay per iteration (e.g. 0.999) are kept; 0 = off
    shift_chunks: bool = False  # with carry_state, each pass over the text starts at a new random offset
    weight_decay: float = 0.0  # decoupled weight decay (AdamW) per unit of lr; 0 = plain Adam
    ensemble: int = 1  # models trained one after another on shares of the budget, probabilities averaged
    dropout_masks: str = "torch"  # "torch", "fast" (the same, from fewer random draws) or "locked" (one per sequence)
    weight_drop: float = 0.0  # DropConnect on the hidden-to-hidden weights (one mask per iteration); 0 = off
    reset_prob: float = 0.0  # with carry_state, each stream starts a chunk from a zero state with this probability
    decay_params: str = "all"  # what weight decay pulls on: "all" parameters, or "matrices" (not biases, not the embedding)

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def training_settings(self) -> dict[str, Any]:
        """The fields that determine the trained weights (what a run's cache key is made of).

        Leaves out :data:`NON_TRAINING_FIELDS`, the :data:`LATER_FIELDS` at their "as before"
        value, and ``n_epochs`` when a time budget replaces it. A budget run is therefore never
        confused with an iteration run, and runs cached before a field existed keep their key.
        """
        out = {k: v for k, v in self.to_dict().items()
               if k not in NON_TRAINING_FIELDS and LATER_FIELDS.get(k, object()) != v}
        if self.budget_minutes:
            del out["n_epochs"]
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any], what: str = "settings") -> "TrainConfig":
        """Build a config from a mapping, naming any unknown key or wrongly typed value."""
        if not isinstance(values, dict):
            raise ConfigError(f"{what} must be a mapping of hyperparameter names to values")
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(
                    f"{what}: unknown key {key!r}; known keys: {', '.join(known)}"
                )
            kwargs[key] = coerce(key, value, known[key].type, what)
        return cls(**kwargs)


# Fields that change printing or placement but not the trained weights: left out of cache keys.
NON_TRAINING_FIELDS = ("print_every", "device")
# Fields added after the first cache keys were made, with the value that means "as before":
# left out of a key at that value, so the runs cached before them keep their keys.
LATER_FIELDS = {"budget_minutes": 0.0, "precision": "fp32", "ema": 0.0, "shift_chunks": False,
                "weight_decay": 0.0, "ensemble": 1, "dropout_masks": "torch",
                "weight_drop": 0.0, "reset_prob": 0.0, "decay_params": "all"}

_POSITIVE_INTS = ("n_epochs", "hidden_size", "n_layers", "print_every", "plot_every",
                  "chunk_len", "batch_size", "ensemble")


TYPE_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "text"}

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_as(type_name: Any, value: Any) -> Any:
    """``value`` as the declared type ``int``, ``float``, ``bool`` or ``str`` (any other
    declaration: unchanged), or ``ValueError``.

    The one numeric parser of charlm, used by the command line (every value is text), the
    settings files (YAML) and the report's papermill parameters (``-p lr 1e-3``). Text is read
    as what it says: YAML 1.1 reads ``1e-3`` as a string (it wants ``1.0e-3``), and every
    user writes learning rates that way. An ``int`` accepts text that writes a whole number
    (``"3000"``, ``"1e3"``); a ``float`` accepts an int too. Booleans are never numbers.
    """
    type_name = getattr(type_name, "__name__", type_name)
    if type_name == "str":
        if isinstance(value, str):
            return value
    elif type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
    elif type_name in ("int", "float"):
        if isinstance(value, str):
            value = _number_text(value, type_name)
        if type_name == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if type_name == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    else:
        return value
    raise ValueError(f"must be {TYPE_WORDS[type_name]}, got {value!r}")


def _number_text(text: str, type_name: str) -> Any:
    """The number ``text`` writes, or ``text`` itself when it writes none."""
    try:
        return int(text.strip()) if type_name == "int" else float(text.strip())
    except ValueError:
        pass
    try:
        value = float(text.strip())
    except ValueError:
        return text
    return int(value) if math.isfinite(value) and value.is_integer() else text


def coerce(key: str, value: Any, type_name: Any, what: str = "settings") -> Any:
    """Check one value against the field's declared type (see :func:`parse_as`)."""
    type_name = getattr(type_name, "__name__", type_name)
    try:
        return parse_as(type_name, value)
    except ValueError:
        raise ConfigError(f"{what}: key {key!r} must be {type_name}, got {value!r}") from None


def validate(cfg: TrainConfig) -> None:
    """Raise :class:`ConfigError` with a one-line message for any invalid field."""
    for name in _POSITIVE_INTS:
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    check_seed(cfg.seed)
    if not _finite(cfg.lr) or cfg.lr <= 0:
        raise ConfigError(f"lr must be a finite number > 0, got {cfg.lr!r}")
    if not _finite(cfg.clip) or cfg.clip < 0:
        raise ConfigError(f"clip must be a finite number >= 0 (0 = off), got {cfg.clip!r}")
    if not _finite(cfg.dropout) or not 0 <= cfg.dropout < 1:
        raise ConfigError(f"dropout must be in [0, 1), got {cfg.dropout!r}")
    if cfg.cell not in CELLS:
        raise ConfigError(f"cell must be one of {', '.join(CELLS)}, got {cfg.cell!r}")
    if not _finite(cfg.valid_frac) or not 0 <= cfg.valid_frac <= 0.5:
        raise ConfigError(f"valid_frac must be in [0, 0.5], got {cfg.valid_frac!r}")
    if not isinstance(cfg.eval_every, int) or isinstance(cfg.eval_every, bool) or cfg.eval_every < 0:
        raise ConfigError(f"eval_every must be an integer >= 0 (0 = at the end only), got {cfg.eval_every!r}")
    if cfg.eval_every and not cfg.valid_frac:
        raise ConfigError("eval_every needs a validation split: set valid_frac > 0")
    if not isinstance(cfg.carry_state, bool):
        raise ConfigError(f"carry_state must be true or false, got {cfg.carry_state!r}")
    if cfg.lr_schedule not in LR_SCHEDULES:
        raise ConfigError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {cfg.lr_schedule!r}")
    if not _finite(cfg.budget_minutes) or cfg.budget_minutes < 0:
        raise ConfigError(f"budget_minutes must be a finite number >= 0 (0 = train n_epochs "
                          f"iterations), got {cfg.budget_minutes!r}")
    if cfg.precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {cfg.precision!r}")
    if not _finite(cfg.ema) or not 0 <= cfg.ema < 1:
        raise ConfigError(f"ema must be in [0, 1) (0 = off), got {cfg.ema!r}")
    if not isinstance(cfg.shift_chunks, bool):
        raise ConfigError(f"shift_chunks must be true or false, got {cfg.shift_chunks!r}")
    if cfg.shift_chunks and not cfg.carry_state:
        raise ConfigError("shift_chunks shifts the carried-state streams: set carry_state too")
    if cfg.dropout_masks not in DROPOUT_MASKS:
        raise ConfigError(f"dropout_masks must be one of {', '.join(DROPOUT_MASKS)}, "
                          f"got {cfg.dropout_masks!r}")
    if cfg.dropout_masks != "torch" and not cfg.dropout:
        raise ConfigError(f"dropout_masks {cfg.dropout_masks!r} says how dropout's masks are "
                          f"drawn: set dropout too")
    if not _finite(cfg.weight_drop) or not 0 <= cfg.weight_drop < 1:
        raise ConfigError(f"weight_drop must be in [0, 1) (0 = off), got {cfg.weight_drop!r}")
    if not _finite(cfg.reset_prob) or not 0 <= cfg.reset_prob <= 1:
        raise ConfigError(f"reset_prob must be in [0, 1] (0 = off), got {cfg.reset_prob!r}")
    if cfg.reset_prob and not cfg.carry_state:
        raise ConfigError("reset_prob resets carried state: set carry_state too (without it every "
                          "chunk starts from a zero state)")
    if cfg.decay_params not in DECAY_PARAMS:
        raise ConfigError(f"decay_params must be one of {', '.join(DECAY_PARAMS)}, "
                          f"got {cfg.decay_params!r}")
    if not _finite(cfg.weight_decay) or cfg.weight_decay < 0:
        raise ConfigError(f"weight_decay must be a finite number >= 0 (0 = off), got {cfg.weight_decay!r}")
    if not cfg.budget_minutes and cfg.n_epochs < cfg.ensemble:
        raise ConfigError(f"n_epochs ({cfg.n_epochs}) is shared by the {cfg.ensemble} models of "
                          f"the ensemble: give at least one iteration each")
    if not isinstance(cfg.corpus, str) or not cfg.corpus:
        raise ConfigError(f"corpus must be a file name or path, got {cfg.corpus!r}")
    if not isinstance(cfg.device, str) or not cfg.device:
        raise ConfigError(f"device must be a torch device name such as cpu or cuda, got {cfg.device!r}")


SEED_LIMIT = 2**64  # torch.manual_seed takes a 64-bit seed; beyond it: "Overflow"


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` if it is an integer from 0 to 2**64 - 1 (what torch can be seeded with)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"{name} must be an integer from 0 to 2**64 - 1, got {seed!r}")
    return seed


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
