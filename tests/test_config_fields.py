"""Each TrainConfig field is declared once: what is derived from the declarations."""

from __future__ import annotations

from dataclasses import fields

import pytest

from charlm.cli import _train_parser
from charlm.config import (DEFAULTS, TrainConfig, field_help, logged_fields, printing_fields,
                           searched_fields)
from charlm.errors import ConfigError
from charlm.presets import SEARCH_COLUMNS, SEARCHED_FIELDS
from charlm.studies.runner import COLUMNS, FLOAT_COLUMNS, INT_COLUMNS

FIELDS = [f.name for f in fields(TrainConfig)]


def test_every_field_declares_its_help_and_its_check():
    for f in fields(TrainConfig):
        assert len(f.metadata["help"]) > 10 and callable(f.metadata["check"]), f.name


@pytest.mark.parametrize("name", FIELDS)
def test_a_value_of_the_wrong_kind_is_refused_by_the_fields_own_check(name):
    with pytest.raises(ConfigError, match=f"^{name} must be"):
        TrainConfig(**{name: object()})


def test_the_command_line_has_one_flag_per_field_with_its_declared_help():
    parser = _train_parser()
    helps = {a.dest: a.help.replace("%%", "%") for a in parser._actions}
    for name in FIELDS:
        assert helps[name] == f"{field_help(name)} (default {getattr(DEFAULTS, name)!r})"
    shown = " ".join(parser.format_help().split())  # --help prints them all (5% and all)
    assert all(" ".join(field_help(name).split()) in shown for name in FIELDS)


def test_the_cache_key_holds_every_field_but_those_that_change_printing_or_placement():
    assert printing_fields() == ("print_every", "device")
    assert list(DEFAULTS.training_settings()) == [n for n in FIELDS if n not in printing_fields()]
    budget = DEFAULTS.replace(budget_minutes=5.0)
    assert "n_epochs" not in budget.training_settings()


def test_the_log_and_search_columns_come_from_the_declarations():
    assert COLUMNS[1:1 + len(logged_fields())] == logged_fields()
    assert set(logged_fields(int)) <= set(INT_COLUMNS)
    assert set(logged_fields(float)) <= set(FLOAT_COLUMNS)
    assert SEARCHED_FIELDS == searched_fields() == SEARCH_COLUMNS[:len(SEARCHED_FIELDS)]
    assert "cell" in logged_fields() and "seed" not in searched_fields()


def test_a_field_that_needs_another_says_which():
    with pytest.raises(ConfigError, match="eval_every needs a validation split"):
        TrainConfig(eval_every=10)
    TrainConfig(eval_every=10, valid_frac=0.1)  # set together: fine


def test_notebook_parameters_become_a_config_by_their_names():
    namespace = {"n_epochs": "500", "lr": 0.01, "temps": "0.5,1", "workers": 2,
                 "corpus": print, "cell": pytest}  # an imported function or module: not settings
    cfg = TrainConfig.from_parameters(namespace, seed=7)
    assert cfg == DEFAULTS.replace(n_epochs=500, lr=0.01, seed=7)
    with pytest.raises(ConfigError, match="parameters: key 'n_layers' must be int"):
        TrainConfig.from_parameters({"n_layers": "two"})
