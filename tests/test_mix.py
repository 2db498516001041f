"""The log-linear mixer and its settings."""

from __future__ import annotations

import numpy as np
import pytest

from charlm.context_model import ContextSettings
from charlm.errors import ConfigError
from charlm.mix import SELECTORS, Mixer, MixSettings, weight_set


def log_dist(favourite: int, share: float = 0.9) -> np.ndarray:
    p = np.full(100, (1 - share) / 99)
    p[favourite] = share
    return np.log(p)


def test_starting_at_the_network_alone_gives_its_distribution():
    rng = np.random.default_rng(0)
    net = np.log(rng.dirichlet(np.ones(100)))
    mixer = Mixer(MixSettings(init=(1.0, 0.0, 0.0, 0.0)))
    p = mixer.mix(np.stack([net, log_dist(3), log_dist(4), log_dist(5)]))
    np.testing.assert_allclose(p, np.exp(net), rtol=1e-12)
    assert abs(p.sum() - 1) < 1e-12


def test_the_weights_move_to_the_input_that_is_right():
    mixer = Mixer(MixSettings(lr=0.01, weights_by="none", init=(1.0, 0.0, 0.0, 0.0)))
    gained = []
    for t in range(200):
        truth = t % 7
        rows = np.stack([log_dist((truth + 1) % 100, 0.5), log_dist(truth), np.zeros(100),
                         log_dist(50)])
        gained.append(mixer.mix(rows)[truth])
        mixer.learn(truth)
    w = mixer.weights[0]
    assert w[1] > 1.0 > w[0] and w[2] == 0.0  # a flat input gets no gradient
    assert w[3] < 0  # an input that is always wrong is pushed away
    assert gained[-1] > 0.8 > gained[0]


def test_learning_touches_only_the_weight_set_used():
    mixer = Mixer(MixSettings(weights_by="match"))
    rows = np.stack([log_dist(1), log_dist(2), log_dist(3), log_dist(4)])
    mixer.mix(rows, weight_set=2)
    mixer.learn(2)
    assert not np.array_equal(mixer.weights[2], mixer.weights[0])
    assert np.array_equal(mixer.weights[0], mixer.weights[1])


def test_learning_needs_a_mix_first():
    with pytest.raises(ValueError, match="mix before"):
        Mixer(MixSettings()).learn(0)


def test_weight_sets_by_context():
    s = {by: MixSettings(weights_by=by)
         for by in ("none", "match", "confidence", "order", "match+confidence", "order+match")}
    assert weight_set(s["none"], 40, 0.99, 5) == 0
    assert weight_set(s["match"], 0, 0.99) == 0 and weight_set(s["match"], 8, 0.0) == 1
    assert weight_set(s["match"], 100, 0.0) == len(SELECTORS["match"])
    assert weight_set(s["confidence"], 100, 0.1) == 0
    assert weight_set(s["confidence"], 0, 0.999) == len(SELECTORS["confidence"])
    assert weight_set(s["order"], order=3) == 3
    assert weight_set(s["match+confidence"], 100, 0.999) == s["match+confidence"].n_weight_sets() - 1
    assert weight_set(s["order+match"], 1, 0.0, 2) == 2 * (len(SELECTORS["match"]) + 1) + 1
    for by, settings in s.items():
        seen = {weight_set(settings, m, c, o) for m in (0, 5, 12, 40) for c in (0.0, 0.6, 1.0)
                for o in range(9)}
        assert seen <= set(range(settings.n_weight_sets()))


def test_settings_replace_reaches_the_context_models():
    s = MixSettings().replace(max_order=3, lr=0.01)
    assert s.context == ContextSettings(max_order=3) and s.lr == 0.01
    assert MixSettings(**MixSettings().to_dict()) == MixSettings()  # through a header's JSON


@pytest.mark.parametrize("kwargs,message", [
    (dict(lr=-1.0), "lr"), (dict(lr=float("inf")), "lr"), (dict(weights_by="order2"), "weights_by"),
    (dict(weights_by="match+match"), "weights_by"), (dict(weights_by="none+order"), "weights_by"),
    (dict(init=(1.0, 0.0, 0.0)), "init"), (dict(init=(1.0, 0.0, 0.0, float("nan"))), "init"),
    (dict(context="ppm"), "context"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        MixSettings(**kwargs)
