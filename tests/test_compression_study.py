"""Appendix H's study (the best model as a compressor): each row round-trips and is sized as
it says, the mixed rung joins the ladder in order, and the facts follow their inputs (no
wording is checked)."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
import pytest
import torch

from charlm import TrainConfig
from charlm.baselines import ADAPTS
from charlm.checkpoint import Checkpoint
from charlm.coding import FIRST_CHAR_BITS, text_indices
from charlm.corpora import TEST_FILE, TEST_LARGE_FILE
from charlm.model import build_model
from charlm.studies import compression as cs
from charlm.studies import compression_facts as cf
from charlm.studies.ladder import KIND_MODEL, Rung, ladder_frame

TRAIN = "It was the best of times, it was the worst of times. " * 30
TEXT = "It was the age of wisdom, it was the age of foolishness. " * 4


def tiny_best() -> Checkpoint:
    cfg = TrainConfig(hidden_size=8, n_layers=1, valid_frac=0.05)
    torch.manual_seed(0)
    return Checkpoint(build_model(cfg), cfg, [], {})


@pytest.mark.parametrize("name", list(cs.DECOMPRESSORS))
def test_a_compressor_row_is_its_conditional_size_and_round_trips(name):
    row = cs.compressor_row(name, TRAIN, TEXT)
    assert row["exact"] and row["name"] == name
    assert row["file BPC"] == pytest.approx(8 * row["bytes"] / len(TEXT))
    if name == "zlib -9":
        both, alone = (len(zlib.compress(t.encode(), 9)) for t in (TRAIN + TEXT, TRAIN))
        assert row["bytes"] == both - alone
    assert math.isnan(row["predicted BPC"])  # a compressor predicts nothing but its size


@pytest.mark.parametrize("mode", list(cs.MODES))
def test_a_charlm_row_is_a_real_file_of_its_code_length(mode):
    row, bits = cs.charlm_row(mode, tiny_best(), text_indices(TRAIN), TEXT, cs.MODES[mode])
    assert row["exact"] and len(bits) == len(TEXT) - 1
    assert row["file BPC"] == pytest.approx(8 * row["bytes"] / len(TEXT))
    header = 8 * (row["bytes"] - row["predicted BPC"] * len(TEXT) / 8)
    assert 0 < header <= 8 * 100  # the file is the code length plus its header


def test_file_sizes_on_a_prefix_of_the_test_file():
    sizes = cs.file_sizes(tiny_best(), TEST_LARGE_FILE, 300)
    assert sizes.chars == 300 and len(sizes.mixed_bits) == 299
    assert [r["name"] for r in sizes.rows] == [*cs.DECOMPRESSORS, *cs.MODES]
    assert all(r["exact"] for r in sizes.rows)
    assert sizes.weights_bytes == 4 * sum(p.numel() for p in sizes_model_params())
    mixed = sizes.row(cs.MIXED)
    assert mixed["predicted BPC"] == pytest.approx(
        (FIRST_CHAR_BITS + sizes.mixed_bits.sum()) / 300)


def sizes_model_params():
    return tiny_best().model.parameters()


def rung(name: str, large: float, small: float = 2.0) -> Rung:
    return Rung(name, ADAPTS, KIND_MODEL, {TEST_FILE: small, TEST_LARGE_FILE: large},
                {TEST_FILE: (small - 0.1, small + 0.1), TEST_LARGE_FILE: (large - 0.1, large + 0.1)})


def test_the_mixed_rung_joins_the_ladder_in_order():
    frame = ladder_frame([rung("a", 3.0), rung("b", 1.9)])
    joined = cs.with_rung(frame, rung(cs.MIXED_RUNG, 2.5))
    assert list(joined.name) == ["a", cs.MIXED_RUNG, "b"]


def sizes_of(mixed_bytes: int, dyn_bpc: float, ppmd_bytes: int, exact: bool = True) -> cs.FileSizes:
    n = 1000

    def row(name, size, predicted=float("nan"), ok=True):
        return {"name": name, "bytes": size, "file BPC": 8 * size / n, "predicted BPC": predicted,
                "compress s": 2.0, "decompress s": 3.0, "exact": ok}

    rows = (row(cf.PPMD, ppmd_bytes), row(cs.STATIC, 300, 2.3), row(cs.DYNAMIC, dyn_bpc * n / 8, dyn_bpc),
            row(cs.MIXED, mixed_bytes, 8 * (mixed_bytes - 50) / n, exact))
    return cs.FileSizes(TEST_LARGE_FILE, n, rows, np.zeros(n - 1), 4096, 5000)


def test_facts_follow_their_inputs():
    frame = cs.with_rung(ladder_frame([rung("a", 3.0), rung("b", 1.0)]), rung(cs.MIXED_RUNG, 1.8))
    f = cf.compression_facts(sizes_of(225, 2.0, 250), rung(cs.MIXED_RUNG, 1.8), frame)
    assert f.mixed_over == 50 and f.mixer_gain == pytest.approx(0.2)
    assert f.side == "below" and f.lead == pytest.approx(0.2) and f.size_share == pytest.approx(0.9)
    assert f.exact == f.rows == 4 and f.rungs_above == 1 and f.rungs == 2
    assert f.weights_kb == 4 and f.slower == pytest.approx(1.0)
    worse = cf.compression_facts(sizes_of(300, 2.0, 250, exact=False), rung(cs.MIXED_RUNG, 1.8), frame)
    assert worse.side == "above" and worse.mixer_gain < 0 and worse.exact == 3


def test_the_table_has_a_row_per_compressor_and_mode():
    df = sizes_of(225, 2.0, 250).table()
    assert isinstance(df, pd.DataFrame) and list(df.name) == [cf.PPMD, cs.STATIC, cs.DYNAMIC, cs.MIXED]
