"""Samples that stay on the rails: the derail and capital-run measures on hand-made strings, the
table and its check, and the two training remedies (stream resets, decay groups)."""

import pandas as pd
import pytest
import torch

from charlm import CharRNN, TrainConfig, generate, train
from charlm.corpora import corpus
from charlm.data import VOCAB
from charlm.errors import ConfigError
from charlm.report.sections.best_model import rails_table
from charlm.studies.best_facts import rails_facts
from charlm.studies.sanity import (Rails, binomial_tail, capital_run, capital_run_rate,
                                   capital_runs_agree, derails, junk_run, prime_capital_run_rate,
                                   sanity_summary, sanity_table, unseen_characters)
from charlm.studies.temperature import pick_prime
from charlm.train import decay_groups, reset_streams


def test_unseen_characters_are_the_vocabulary_less_the_text():
    assert unseen_characters(VOCAB) == frozenset()
    assert unseen_characters("abc") == frozenset(VOCAB) - {"a", "b", "c"}


def test_junk_runs_skip_letters_digits_spaces_and_ordinary_punctuation():
    assert junk_run("Hello, world! (1839) -- 'yes'; \"no\": ok?") == 0
    assert junk_run("a=(b") == 1 and junk_run("a=[b") == 2 and junk_run("x #$%& y") == 4 and junk_run("") == 0


def test_derails_on_an_unseen_character_or_a_junk_run():
    unseen = frozenset("~^")
    assert not derails("It was the best of times, it was the worst.", unseen)
    assert derails("It was ~", unseen)  # one unseen character is enough
    assert derails("It #$%& was", unseen) and not derails("It #$% was", unseen)


def test_capital_runs_are_six_capitals_within_the_window():
    assert capital_run("AWKKE HEMRED") and not capital_run("A WINNE said")
    assert capital_run("CHAPTER I") and not capital_run("Chapter I")
    assert not capital_run("x" * 60 + "CHAPTER")  # beyond the first 60 characters
    assert capital_run_rate("CHAPTER one" + "x" * 49 + "y" * 60) == 0.5
    assert capital_run_rate("short") != capital_run_rate("short")  # NaN: no whole window


def test_sanity_table_regenerates_and_counts():
    torch.manual_seed(0)
    model = CharRNN(8, 1).eval()  # untrained: draws nearly uniformly, so it derails
    text = "It was the best of times. " * 20
    table = sanity_table({"untrained": model}, "abcdefghij ", text, temps=(1.0,), seeds=2,
                         predict_len=40)
    assert len(table) == 4 and set(table.prime_kind) == {"one character", "test text"}
    row = table[(table.prime_kind == "test text") & (table.seed == 1)].iloc[0]
    assert row.prime == pick_prime(text, seed=1)
    assert row.prime + row["sample"] == generate(model, row.prime, 40, 1.0, seed=1)
    assert table.derailed.all()  # uniform draws hit the characters "abcdefghij " lacks
    assert (table.unknown_words <= table.words).all()
    summary = sanity_summary(table)
    assert summary.samples.tolist() == [2, 2] and summary.derailed.tolist() == [2, 2]
    assert summary.unknown_share.between(0, 1).all() or summary.unknown_share.isna().all()


def _summary(derailed, capital, unknown=(0, 0, 0, 0)):
    return pd.DataFrame({"model": ["coursework (4.1)", "coursework (4.1)", "best", "best"],
                         "prime_kind": ["one character", "test text"] * 2,
                         "temperature": [1.0] * 4, "samples": [60] * 4,
                         "derailed": derailed, "capital_runs": capital, "words": [100] * 4,
                         "unknown_words": list(unknown),
                         "unknown_share": [u / 100 for u in unknown]})


def test_capital_runs_agree_only_with_counts_the_text_rate_reaches():
    # at a rate of 10%, 6 of 60 is ordinary, 15 of 60 is not (P(X >= 15) is about 0.0003);
    # runs after a text prime are not counted
    assert capital_runs_agree(_summary([0] * 4, [6, 40, 2, 40]), 0.1)
    assert not capital_runs_agree(_summary([0] * 4, [0, 0, 15, 0]), 0.1)


def test_rails_facts():
    d = rails_facts(Rails(_summary([0, 0, 1, 0], [1, 0, 2, 0], unknown=(30, 5, 2, 1)), 0.005, 0.094))
    assert (d.samples, d.per_model, d.per_row, d.derailed, d.derailed_best) == (240, 120, 60, 1, 1)
    assert (d.capital_runs, d.one_char_samples, repr(d.capital_share)) == (3, 120, "2.5%")
    assert (repr(d.train_rate), repr(d.prime_rate)) == ("0.5%", "9.4%")
    assert d.capitals_agree and d.capitals_verdict == "no more often than"
    assert (d.unknown_model, d.unknown_prime, repr(d.unknown), d.unknown_derailed) == (
        "coursework (4.1)", "one character", "30%", 0)
    # the row with the most made-up words among those that derailed least
    e = rails_facts(Rails(_summary([0, 0, 1, 0], [0] * 4, unknown=(5, 6, 40, 7)), 0.005, 0.094))
    assert (e.unknown_model, e.unknown_prime, repr(e.unknown)) == ("best", "test text", "7%")
    assert d.prime == "A" and d.temperatures == "0.8 and 1"
    high = rails_facts(Rails(_summary([0] * 4, [15, 0, 0, 0]), 0.005, 0.1))
    assert not high.capitals_agree and high.capitals_verdict == "more often than"


def test_binomial_tail():
    assert binomial_tail(0, 10, 0.3) == pytest.approx(1.0)
    assert binomial_tail(10, 10, 0.5) == pytest.approx(0.5 ** 10)
    assert binomial_tail(2, 3, 0.5) == pytest.approx(0.5)  # 3/8 + 1/8


def test_prime_capital_run_rate_counts_windows_that_start_at_the_prime():
    text = "A TALE OF TWO CITIES" + " " * 60 + "A man came." + " " * 60
    # three 'A's start windows ("A TALE", "ALE OF", "A man"); the first two hold "CITIES"
    assert prime_capital_run_rate(text, "A") == pytest.approx(2 / 3)
    assert capital_run_rate(text) == 0.5  # two whole 60-character windows; the first holds one
    assert prime_capital_run_rate("no capitals", "A") != prime_capital_run_rate("x", "A")  # NaN


def test_rails_table():
    html = rails_table(_summary([0, 0, 0, 0], [1, 0, 2, 0], unknown=(30, 5, 2, 1))).data
    assert "test text" in html and "0 of 60" in html and "30%" in html and "&#x27;A&#x27;" in html


def test_reset_streams_zeroes_about_the_share_asked_for_and_nothing_else():
    h = torch.ones(2, 1000, 3)
    c = torch.full((2, 1000, 3), 2.0)
    gen = torch.Generator().manual_seed(0)
    nh, nc = reset_streams((h, c), 0.1, gen)
    zeroed = (nh == 0).all(-1).all(0)
    assert 60 < int(zeroed.sum()) < 140  # about 100 of 1000 streams
    assert torch.equal(zeroed, (nc == 0).all(-1).all(0))  # h and c reset together
    assert torch.equal(nc[:, ~zeroed], c[:, ~zeroed])
    assert torch.equal(reset_streams(h, 0.0, gen), h)  # a GRU's single state, nothing reset


def test_decay_groups_keep_biases_and_the_embedding_out_of_the_decay():
    model = CharRNN(8, 2)
    cfg = TrainConfig(weight_decay=0.1, decay_params="matrices")
    decayed, kept = decay_groups(model, cfg)
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[id(p)] for p in kept["params"]} == {
        n for n, p in model.named_parameters() if p.ndim == 1 or n.startswith("encoder")}
    assert kept["weight_decay"] == 0.0 and "weight_decay" not in decayed
    assert all(p.ndim == 2 for p in decayed["params"]) and "decoder.weight" in {
        names[id(p)] for p in decayed["params"]}
    (everything,) = decay_groups(model, TrainConfig(weight_decay=0.1))
    assert len(everything["params"]) == len(list(model.parameters()))


def test_no_decay_leaves_an_unseen_characters_bias_where_the_gradient_takes_it():
    # a corpus without "~": its decoder bias only gets gradient pushing it down; with decay on
    # every parameter AdamW pulls it back towards zero, with the groups it is left alone
    data = corpus()[:20_000]
    common = dict(n_epochs=60, hidden_size=16, n_layers=1, chunk_len=50, batch_size=4,
                  carry_state=True, lr=0.02, weight_decay=0.5, print_every=1000)
    tilde = VOCAB.index("~")
    biases = {}
    for which in ("all", "matrices"):
        model = train(TrainConfig(decay_params=which, **common), data, verbose=False).model
        biases[which] = model.decoder.bias.detach()[tilde].item()
    assert biases["matrices"] < biases["all"] < 0


def test_the_new_fields_are_checked():
    with pytest.raises(ConfigError, match="reset_prob must be in"):
        TrainConfig(carry_state=True, reset_prob=1.5)
    with pytest.raises(ConfigError, match="reset_prob resets carried state"):
        TrainConfig(reset_prob=0.1)
    with pytest.raises(ConfigError, match="decay_params must be one of all, matrices"):
        TrainConfig(decay_params="biases")


def test_the_new_fields_are_part_of_the_cache_key():
    from charlm.runs import run_key
    cfg = TrainConfig(carry_state=True)
    assert run_key(cfg) != run_key(cfg.replace(reset_prob=0.02))
    assert run_key(cfg) != run_key(cfg.replace(decay_params="matrices"))
    assert {"reset_prob", "decay_params"} <= set(cfg.training_settings())


def test_a_reset_run_is_reproducible_and_differs_from_one_without():
    data = corpus()[:20_000]
    cfg = TrainConfig(n_epochs=20, hidden_size=8, n_layers=1, chunk_len=20, batch_size=4,
                      carry_state=True, reset_prob=0.3, print_every=1000)
    a, b = (train(cfg, data, verbose=False).history for _ in range(2))
    c = train(cfg.replace(reset_prob=0.0), data, verbose=False).history
    assert a == b and a != c
