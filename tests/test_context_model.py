"""The adaptive context models: PPM with exclusion and the match model."""

from __future__ import annotations

import numpy as np
import pytest

from charlm.context_model import PPM, ContextSettings, MatchModel
from charlm.data import VOCAB, encode_compact
from charlm.errors import ConfigError


def ids(text: str) -> np.ndarray:
    return encode_compact(text).astype(np.int64)


def run(model, text: str) -> list[np.ndarray]:
    """The model's distribution before each character of ``text`` (learning as it goes)."""
    out = []
    for s in ids(text).tolist():
        out.append(model.distribution())
        model.update(s)
    return out


TRAIN = "the cat sat on the mat, and the rat ran at the cat. " * 5
SETTINGS = [ContextSettings(), ContextSettings(max_order=3, escape=0.0, discount=0.5),
            ContextSettings(max_order=8, escape=0.5, discount=0.25, online_weight=4.0),
            ContextSettings(max_order=0, low_order=0)]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"order{s.max_order}")
def test_every_distribution_sums_to_one_and_is_positive(settings):
    for p in run(PPM(ids(TRAIN), settings), "the bat sat; a new ~word~ \t\x0b twice, twice!"):
        assert p.shape == (100,) and p.dtype == np.float64
        assert abs(p.sum() - 1) < 1e-12 and (p > 0).all()


def test_exclusion_and_escapes_by_hand():
    # order 1, PPMC: after "a" the training text "abab" has seen b twice (n=2, q=1):
    # P(b) = 2/3, escape 1/3; order 0 without b: a three times (twice in training, once
    # read): P(a) = 1/3 * 3/4, escape 1/3 * 1/4 to order -1, uniform over the 98 characters
    # never seen.
    model = PPM(ids("abab"), ContextSettings(max_order=1, escape=1.0, discount=0.0, low_order=0,
                                                online_weight=1.0))
    model.update(VOCAB.index("a"))
    p = model.distribution()
    assert p[VOCAB.index("b")] == pytest.approx(2 / 3)
    assert p[VOCAB.index("a")] == pytest.approx(1 / 4)
    assert p[VOCAB.index("z")] == pytest.approx(1 / 12 / 98)


def test_ppmd_escape_by_hand():
    # PPMD at order 0 on "aab": P(a) = (2 - 1/2)/3, P(b) = (1 - 1/2)/3, escape 2 * 1/2 / 3
    model = PPM(ids("aab"), ContextSettings(max_order=0, escape=0.0, discount=0.5, low_order=0))
    p = model.distribution()
    assert p[VOCAB.index("a")] == pytest.approx(1.5 / 3)
    assert p[VOCAB.index("b")] == pytest.approx(0.5 / 3)
    assert p[VOCAB.index("c")] == pytest.approx(1 / 3 / 98)


def test_each_prediction_depends_only_on_the_past():
    a = "the cat sat on the mat and then the dog"
    b = a[:25] + "X" + a[26:]
    pa, pb = run(PPM(ids(TRAIN)), a), run(PPM(ids(TRAIN)), b)
    for t in range(26):  # up to and including the changed character's own prediction
        assert np.array_equal(pa[t], pb[t])
    assert not np.array_equal(pa[26], pb[26])


def test_it_learns_the_coded_text_and_online_weight_counts_more():
    text = "zqx" * 6
    plain = run(PPM(ids(TRAIN)), text)
    heavy = run(PPM(ids(TRAIN), ContextSettings(online_weight=8.0)), text)
    q = VOCAB.index("q")
    assert plain[-2][q] > 0.5 > plain[1][q]  # 'q' after 'z' once learnt
    assert heavy[4][q] > plain[4][q]


def test_training_counts_are_used():
    model = PPM(ids("hello world. " * 20))
    model.update(VOCAB.index("h"))
    model.update(VOCAB.index("e"))
    assert model.distribution()[VOCAB.index("l")] > 0.9


@pytest.mark.parametrize("kwargs,message", [
    (dict(max_order=9), "max_order"), (dict(max_order=-1), "max_order"),
    (dict(max_order=2.0), "max_order"), (dict(escape=-1.0), "escape"),
    (dict(discount=1.0), "discount"), (dict(escape=0.0, discount=0.0), "escape \\+ discount"),
    (dict(online_weight=0.0), "online_weight"), (dict(match_min=1), "match_min"),
    (dict(match_min=9), "match_min"), (dict(escape=float("nan")), "escape"),
    (dict(low_order=6), "low_order"), (dict(low_order=-1), "low_order"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ContextSettings(**kwargs)


def test_the_match_model_follows_the_last_occurrence():
    model = MatchModel(ids("once upon a time, a princess slept. "), min_len=4)
    assert model.prediction() == (0, 0)
    for s in ids("a princ").tolist():
        model.update(s)
    symbol, length = model.prediction()
    assert VOCAB[symbol] == "e" and length >= 7  # "a princ" matched, and further back " "
    p = model.distribution()
    assert abs(p.sum() - 1) < 1e-12 and p.argmax() == symbol
    model.update(VOCAB.index("x"))  # a miss ends the match
    assert model.prediction()[1] == 0


def test_the_match_model_finds_matches_in_the_coded_text_and_learns_trust():
    model = MatchModel(ids("nothing alike here"), min_len=3)
    hits, trust = [], []
    for s in ids("wxyz" * 40).tolist():
        symbol, length = model.prediction()
        if length:
            hits.append(symbol == s)
            trust.append(model.distribution()[symbol])
        model.update(s)
    assert len(hits) > 100 and all(hits)
    assert trust[0] == 0.5 and trust[-1] > 0.95  # no evidence at first; then many hits


def test_the_match_model_depends_only_on_the_past():
    a = "abcdefgh abcdefgh abcdefgh"
    b = a[:20] + "Q" + a[21:]
    pa, pb = run(MatchModel(ids(TRAIN), 3), a), run(MatchModel(ids(TRAIN), 3), b)
    assert all(np.array_equal(x, y) for x, y in zip(pa[:21], pb[:21]))


def test_a_lower_top_order_is_that_order_s_model():
    text = "the cat sat on the mat"
    full, low = PPM(ids(TRAIN), ContextSettings(max_order=5)), PPM(ids(TRAIN), ContextSettings(max_order=2))
    for s in ids(text).tolist():
        np.testing.assert_allclose(full.distribution(2), low.distribution(), rtol=1e-12)
        assert full.order_found == 5 or full._seen < 5
        full.update(s)
        low.update(s)
