"""Hyperparameters as one typed dataclass, each field declared once.

The field names are the command-line flags (``--hidden_size``), the papermill parameters of
the notebooks and the keys of the ``config`` stored in every checkpoint. Defaults are the
coursework's ``--default_train`` settings.

Each field is declared once, with :func:`setting`: its type and default (the dataclass's), its
help text, its check, and what the project does with it (part of a run's cache key, a column of
the study log, varied by the budget search). Everything that lists fields is derived from
these declarations: the command line's flags and help (:mod:`charlm.cli`), validation
(:func:`validate`), the cache key (:meth:`TrainConfig.training_settings`), the columns of the
study log (:func:`logged_fields`) and of the recorded search (:func:`searched_fields`), and the
report's table of the preset's changes (:func:`printing_fields` are left out of it). A new
setting is one :func:`setting` line here, the code that uses it, and a test.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from types import ModuleType
from typing import Any, Callable, Mapping

from .errors import ConfigError

CELLS = ("lstm", "gru", "rnn")
LR_SCHEDULES = ("constant", "cosine")
PRECISIONS = ("fp32", "bf16", "auto")
DROPOUT_MASKS = ("torch", "fast", "locked")
DECAY_PARAMS = ("all", "matrices")

Check = Callable[[str, Any], None]  # raises ConfigError naming the field, or returns


def setting(default: Any, help: str, check: Check | None = None, *, key: bool = True,
            logged: bool = False, searched: bool = False, shape: bool = False,
            needs: tuple[str, str] | None = None) -> Any:
    """A :class:`TrainConfig` field: its ``default``, ``help`` text (the CLI's and the
    notebooks'), ``check`` (one of the checks below, called with the field's name and value),
    and its roles: ``key``: part of the cache key (False: it changes printing or placement,
    not the weights, and may change when a run is resumed); ``logged``: a column of the study
    log; ``searched``: a column of the budget search; ``shape``: it fixes the model's parameter
    layout (a run started from a checkpoint's weights takes it from the checkpoint);
    ``needs``: ``(other field, message)``: the other field must be set (not zero or false)
    when this one is not at its default, else the message is the error."""
    return field(default=default, metadata={"help": help, "check": check, "key": key,
                                            "logged": logged, "searched": searched,
                                            "shape": shape, "needs": needs})


# ---------------------------------------------------------------- checks (one line of error each)


def positive_int(name: str, value: Any) -> None:
    if not _int(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def count(note: str) -> Check:
    """An integer >= 0; ``note`` says what 0 means."""
    def check(name: str, value: Any) -> None:
        if not _int(value) or value < 0:
            raise ConfigError(f"{name} must be an integer >= 0 ({note}), got {value!r}")
    return check


def number(low: float, high: float = math.inf, *, low_open: bool = False,
           high_open: bool = False, note: str = "") -> Check:
    """A finite number between ``low`` and ``high`` (open or closed ends); the message says
    ``> low`` or ``>= low`` without an upper end, else the interval."""
    if high == math.inf:
        what = f"a finite number {'>' if low_open else '>='} {low:g}"
    else:
        what = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    what += f" ({note})" if note else ""

    def check(name: str, value: Any) -> None:
        if not _finite(value) or value < low or (low_open and value == low) or value > high \
                or (high_open and value == high):
            raise ConfigError(f"{name} must be {what}, got {value!r}")
    return check


def one_of(choices: tuple[str, ...]) -> Check:
    def check(name: str, value: Any) -> None:
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return check


def boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")


def text(what: str) -> Check:
    """Non-empty text; ``what`` says what it names."""
    def check(name: str, value: Any) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be {what}, got {value!r}")
    return check


def seed_check(name: str, value: Any) -> None:
    check_seed(value, name)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and so its cache key)."""

    n_epochs: int = setting(3000, "iterations; each is ONE random chunk (the coursework's "
                            "\"epoch\")", positive_int, logged=True)
    hidden_size: int = setting(128, "width of the embedding and of every recurrent layer",
                               positive_int, logged=True, searched=True, shape=True)
    n_layers: int = setting(2, "stacked recurrent layers", positive_int, logged=True,
                            searched=True, shape=True)
    lr: float = setting(0.005, "Adam's step size", number(0, low_open=True), logged=True,
                        searched=True)
    print_every: int = setting(100, "print elapsed time, progress, average loss and a sample "
                               "every this many iterations", positive_int, key=False)
    plot_every: int = setting(10, "record the average loss of this many iterations in the "
                              "history", positive_int, logged=True)
    chunk_len: int = setting(200, "characters of input per chunk (the chunk itself has one "
                             "more)", positive_int, logged=True, searched=True)
    batch_size: int = setting(1, "chunks per iteration; 1 is the coursework", positive_int,
                              logged=True, searched=True)
    seed: int = setting(1234, "seeds weight init, chunk choice and printed samples",
                        seed_check, logged=True)
    cell: str = setting("lstm", "recurrent layer: lstm, gru or rnn", one_of(CELLS), logged=True,
                        shape=True)
    clip: float = setting(0.0, "max gradient norm; 0 = no clipping (the coursework)",
                          number(0, note="0 = off"), logged=True)
    dropout: float = setting(0.0, "dropout between stacked layers and before the decoder; "
                             "0 = none (the coursework)", number(0, 1, high_open=True),
                             logged=True, searched=True)
    device: str = setting("cpu", "torch device; \"cuda\" when asked for and present",
                          text("a torch device name such as cpu or cuda"), key=False)
    corpus: str = setting("dickens_train.txt", "training text: a file in data/ or the path of "
                          "any text file", text("a file name or path"), logged=True)
    # Beyond the coursework (all off by default, so the defaults ARE the coursework):
    valid_frac: float = setting(0.0, "share of the corpus held out for validation (blocks; "
                                "0 = none)", number(0, 0.5), logged=True)
    eval_every: int = setting(0, "validation BPC every this many iterations (0 = only at the "
                              "end)", count("0 = at the end only"),
                              needs=("valid_frac", "eval_every needs a validation split: set "
                                                   "valid_frac > 0"))
    carry_state: bool = setting(False, "consecutive chunks per batch row, state carried "
                                "(truncated BPTT)", boolean, logged=True)
    lr_schedule: str = setting("constant", "\"constant\" or \"cosine\" (decay to 5% of lr at "
                               "the end of training)", one_of(LR_SCHEDULES), logged=True)
    budget_minutes: float = setting(0.0, "train for this many minutes (validation not "
                                    "counted), not n_epochs; 0 = off",
                                    number(0, note="0 = train n_epochs iterations"))
    precision: str = setting("fp32", "\"fp32\", \"bf16\" (autocast) or \"auto\" (bf16 where "
                             "the CPU has it natively)", one_of(PRECISIONS), searched=True)
    ema: float = setting(0.0, "weights averaged with this decay per iteration (e.g. 0.999) "
                         "are kept; 0 = off", number(0, 1, high_open=True, note="0 = off"),
                         searched=True)
    shift_chunks: bool = setting(False, "with carry_state, each pass over the text starts at "
                                 "a new random offset", boolean, searched=True,
                                 needs=("carry_state", "shift_chunks shifts the carried-state "
                                                       "streams: set carry_state too"))
    weight_decay: float = setting(0.0, "decoupled weight decay (AdamW) per unit of lr; 0 = "
                                  "none", number(0, note="0 = off"), searched=True)
    ensemble: int = setting(1, "models trained one after another on shares of the budget, "
                            "probabilities averaged", positive_int, searched=True, shape=True)
    dropout_masks: str = setting("torch", "\"torch\", \"fast\" (the same, from fewer random "
                                 "draws) or \"locked\" (one per sequence)",
                                 one_of(DROPOUT_MASKS), searched=True,
                                 needs=("dropout", "dropout_masks {value!r} says how dropout's "
                                                   "masks are drawn: set dropout too"))
    weight_drop: float = setting(0.0, "DropConnect on the hidden-to-hidden weights (one mask "
                                 "per iteration); 0 = off",
                                 number(0, 1, high_open=True, note="0 = off"), searched=True)
    reset_prob: float = setting(0.0, "with carry_state, each stream starts a chunk from a zero "
                                "state with this probability", number(0, 1, note="0 = off"),
                                searched=True,
                                needs=("carry_state", "reset_prob resets carried state: set "
                                                      "carry_state too (without it every chunk "
                                                      "starts from a zero state)"))
    decay_params: str = setting("all", "what weight decay pulls on: \"all\" parameters, or "
                                "\"matrices\" (not biases, not the embedding)",
                                one_of(DECAY_PARAMS), searched=True)

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def training_settings(self) -> dict[str, Any]:
        """The fields that determine the trained weights (what a run's cache key is made of):
        every field declared ``key``, and not ``n_epochs`` when a time budget replaces it (so
        a budget run is never confused with an iteration run)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["key"]}
        if self.budget_minutes:
            del out["n_epochs"]
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], what: str = "settings") -> "TrainConfig":
        """Build a config from a mapping, naming any unknown key or wrongly typed value."""
        if not isinstance(values, Mapping):
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

    @classmethod
    def from_parameters(cls, namespace: Mapping[str, Any], **changes: Any) -> "TrainConfig":
        """The config a notebook's parameters describe: every name of ``namespace`` (a
        notebook's ``globals()``) that is a field, read as :meth:`from_dict` reads it, then
        ``changes``. Other names, and functions or modules, are ignored, so a notebook
        declares the training settings it lets papermill override and passes them on in one
        call."""
        names = {f.name for f in fields(cls)}
        # a function or module named like a field (``corpus``) is an import, not a parameter
        given = {k: v for k, v in namespace.items()
                 if k in names and not callable(v) and not isinstance(v, ModuleType)}
        return cls.from_dict(given | changes, what="parameters")


def field_help(name: str) -> str:
    """The help text a field declares."""
    return _field(name).metadata["help"]


def logged_fields(of_type: type | None = None) -> tuple[str, ...]:
    """The fields that are columns of the study log, in declaration order (those declared
    ``of_type`` only, when given)."""
    return tuple(f.name for f in fields(TrainConfig) if f.metadata["logged"]
                 and (of_type is None or f.type in (of_type, of_type.__name__)))


def searched_fields() -> tuple[str, ...]:
    """The fields that are columns of the recorded budget search, in declaration order."""
    return tuple(f.name for f in fields(TrainConfig) if f.metadata["searched"])


def printing_fields() -> tuple[str, ...]:
    """The fields that change printing or placement but not the trained weights (left out of
    the cache key and of the report's table of changes)."""
    return tuple(f.name for f in fields(TrainConfig) if not f.metadata["key"])


def shape_fields() -> tuple[str, ...]:
    """The fields that fix the model's parameter layout (a fine-tuned run takes them from the
    checkpoint it starts from)."""
    return tuple(f.name for f in fields(TrainConfig) if f.metadata["shape"])


def check_resumable(cfg: TrainConfig, run: TrainConfig, flag: str = "") -> None:
    """``cfg`` continues ``run``, an interrupted run: they differ only in
    :func:`printing_fields`, which change printing or placement but not the maths. Anything else
    is a :class:`ConfigError` naming the first field that differs (``flag``: a prefix such as
    ``--`` that makes it the command line's flag)."""
    for f in fields(TrainConfig):
        have, want = getattr(cfg, f.name), getattr(run, f.name)
        if f.metadata["key"] and have != want:
            other = ("; no run can change the model's shape" if f.metadata["shape"] else
                     "; --init_from starts a new run from its weights with other settings")
            raise ConfigError(f"{flag}{f.name} {have!r} differs from the run being resumed "
                              f"({f.name} {want!r}): a resumed run continues exactly, and only "
                              f"{', '.join(printing_fields())} may change{other}")


def check_shape(cfg: TrainConfig, source: TrainConfig, flag: str = "") -> None:
    """``cfg`` has the parameter layout of ``source``, the config of the model it starts from
    (:func:`shape_fields`); else a :class:`ConfigError` naming the first field that differs."""
    for name in shape_fields():
        have, want = getattr(cfg, name), getattr(source, name)
        if have != want:
            raise ConfigError(f"{flag}{name} {have!r} conflicts with the model to start from "
                              f"({name} {want!r}): a run started from a checkpoint's weights "
                              f"takes its shape ({', '.join(shape_fields())}) from the checkpoint")


def _field(name: str) -> dataclasses.Field:
    for f in fields(TrainConfig):
        if f.name == name:
            return f
    raise ConfigError(f"unknown setting {name!r}")


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
    """Raise :class:`ConfigError` with a one-line message for the first invalid field: each
    field's own check, then what it ``needs``, then the one rule that ties two fields by value."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if f.metadata["check"] is not None:
            f.metadata["check"](f.name, value)
    for f in fields(cfg):
        if f.metadata["needs"] is None or getattr(cfg, f.name) == f.default:
            continue
        needed, message = f.metadata["needs"]
        if not getattr(cfg, needed):
            raise ConfigError(message.format(value=getattr(cfg, f.name)))
    if not cfg.budget_minutes and cfg.n_epochs < cfg.ensemble:
        raise ConfigError(f"n_epochs ({cfg.n_epochs}) is shared by the {cfg.ensemble} models of "
                          f"the ensemble: give at least one iteration each")


SEED_LIMIT = 2**64  # torch.manual_seed takes a 64-bit seed; beyond it: "Overflow"


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` if it is an integer from 0 to 2**64 - 1 (what torch can be seeded with)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"{name} must be an integer from 0 to 2**64 - 1, got {seed!r}")
    return seed


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


DEFAULTS = TrainConfig()  # the coursework's settings; notebooks take their defaults from it
