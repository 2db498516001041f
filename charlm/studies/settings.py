"""Which configs a study runs: one parameter at a time around a base, from a settings file, or
the coursework's grids; and the comma-separated lists the command line and notebooks take."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..config import TrainConfig
from ..errors import ConfigError
from ..runs import run_key


def one_at_a_time(base: TrainConfig, grid: dict[str, Iterable[Any]]) -> list[TrainConfig]:
    """Vary one parameter at a time around ``base``; duplicates (the base itself) appear once."""
    out: list[TrainConfig] = []
    for name, values in grid.items():
        for value in values:
            cfg = base.replace(**{name: value})
            if cfg not in out:
                out.append(cfg)
    return out


def default_custom_grid() -> dict[str, list[Any]]:
    """The coursework's part 4.2 study: hidden size, layers and learning rate around the defaults."""
    return {"hidden_size": [64, 128, 256], "n_layers": [1, 2, 3], "lr": [0.001, 0.005, 0.01]}


DEFAULT_LRS = (0.0001, 0.001, 0.005, 0.01, 0.1)  # part 4.3, as in the reference write-up


def parse_list(text: str, name: str, positive: bool = True, limit: int | None = None) -> list[float]:
    """Parse a comma-separated list of finite positive numbers (``--lrs``, ``--temps``)."""
    items = [t.strip() for t in str(text).split(",")]
    if not text or not any(items):
        raise ConfigError(f"--{name} must be a comma-separated list of numbers, got an empty list")
    out = []
    for item in items:
        try:
            value = float(item)
        except ValueError:
            raise ConfigError(
                f"--{name} must be a comma-separated list of numbers, got {item!r} in {text!r}"
            ) from None
        if not math.isfinite(value) or (positive and value <= 0):
            raise ConfigError(f"--{name} values must be finite numbers > 0, got {item!r}")
        out.append(value)
    if len(set(out)) != len(out):
        raise ConfigError(f"--{name} lists a value twice: {text!r}")
    if limit and len(out) > limit:
        raise ConfigError(f"--{name} takes at most {limit} values, got {len(out)}")
    return out


def load_settings(path: str, base: TrainConfig) -> list[TrainConfig]:
    """Read a ``--settings`` file: a list of partial settings, or ``{base: {...}, vary: {...}}``.

    Two entries that make the same run (the same settings, or settings that differ only in a
    field that does not change the trained weights, such as ``print_every``) are an error
    naming both: a study trains and logs each run once.
    """
    return distinct_runs(_read_settings(path, base), f"settings file {path}")


def distinct_runs(configs: list[TrainConfig], what: str) -> list[TrainConfig]:
    """``configs`` if no two of them make the same run (:func:`~charlm.runs.run_key`), else a
    :class:`ConfigError` naming the first two that do (1-based) and how they differ."""
    seen: dict[str, int] = {}
    for i, cfg in enumerate(configs):
        first = seen.setdefault(run_key(cfg), i)
        if first != i:
            other = configs[first]
            differ = [k for k, v in cfg.to_dict().items() if getattr(other, k) != v]
            how = (f"they differ only in {', '.join(differ)}, which does not change the run"
                   if differ else "they are identical")
            raise ConfigError(f"{what}: runs {first + 1} and {i + 1} are the same run ({how}); "
                              f"list each run once")
    return configs


def _read_settings(path: str, base: TrainConfig) -> list[TrainConfig]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"settings file {path} does not exist")
    try:
        spec = yaml.safe_load(p.read_text())  # YAML is a superset of JSON
    except OSError as exc:
        raise ConfigError(f"settings file {path} cannot be read ({exc.strerror or exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"settings file {path} is not valid YAML/JSON{at}") from None
    if isinstance(spec, list) and spec:
        return [TrainConfig.from_dict(base.to_dict() | _check_map(s, path), what=f"settings file {path}")
                for s in spec]
    if isinstance(spec, dict) and set(spec) <= {"base", "vary"} and "vary" in spec:
        base = TrainConfig.from_dict(base.to_dict() | _check_map(spec.get("base", {}), path),
                                     what=f"settings file {path}")
        vary = _check_map(spec["vary"], path)
        for key, values in vary.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"settings file {path}: vary.{key} must be a non-empty list")
            # each value as its field's type (``lr: 1e-3`` is text to YAML 1.1), and valid
            vary[key] = [getattr(TrainConfig.from_dict({key: v}, what=f"settings file {path}"), key)
                         for v in values]
        return one_at_a_time(base, vary)
    raise ConfigError(f"settings file {path} must hold a non-empty list of settings or "
                      f"a mapping with 'vary' (and optionally 'base')")


def _check_map(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"settings file {path}: each entry must be a mapping, got {value!r}")
    return value


__all__ = ["DEFAULT_LRS", "default_custom_grid", "distinct_runs", "load_settings", "one_at_a_time", "parse_list"]
