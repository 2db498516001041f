"""Temperature, measured: the word and n-gram definitions, the model-side measures, and the
behaviour of the curves on a briefly trained model."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from charlm import CharRNN, TrainConfig, bpc, encode, generate, train
from charlm.report.plots import plot_sample_measures, plot_temperature_metrics
from charlm.studies.temperature import (COLUMNS, MEASURES, METRICS, distinct_share,
                                        distribution_entropy,
                                        entropy_of, generated_words, in_vocab_share,
                                        next_char_distribution, open_context,
                                        repeated_ngram_share, sample_bpc, sample_measures,
                                        sample_metrics, samples_at, sampling_entropy,
                                        summarise, summary_row, temperature_table,
                                        training_vocabulary, word_vocabulary, words)
from charlm.corpora import corpus, corpus_text, TEST_FILE

TEMPS = (0.1, 0.5, 1.0, 2.0)


@pytest.fixture(scope="module")
def trained():
    """A hidden-16 LSTM trained for 150 iterations (a few seconds): it has learnt spaces,
    frequent letters and a few short words, enough for the temperature effects to show."""
    torch.set_num_threads(1)
    cfg = TrainConfig(n_epochs=150, hidden_size=16, n_layers=1, lr=0.02, chunk_len=50,
                      batch_size=4, print_every=1000, plot_every=10, seed=7)
    return train(cfg, corpus(), verbose=False, progress=False).model


@pytest.fixture(scope="module")
def vocab():
    return word_vocabulary(corpus_text("dickens_train.txt"))


@pytest.fixture(scope="module")
def table(trained, vocab):
    text = corpus_text(TEST_FILE)
    return temperature_table(trained, vocab, text, temps=TEMPS, seeds=(0, 1, 2),
                             predict_len=200, reference=text)


def test_words_are_lowercased_letter_and_apostrophe_runs():
    assert words("Don't stop -- Mr. PICKWICK's 2nd") == ["don't", "stop", "mr", "pickwick's", "nd"]
    assert word_vocabulary("The the THE cat") == frozenset({"the", "cat"})


def test_generated_words_count_what_the_model_finished_and_drop_a_cut_last_word():
    # "Mr. Pick" is the prime: "mr" is the prime's own; "pickwick" was finished by the model;
    # "sa" touches the end of the text and may be cut short
    assert generated_words("Mr. Pick", "wick said hello, sa") == ["pickwick", "said", "hello"]
    assert generated_words("Mr. ", "said hello.") == ["said", "hello"]
    assert generated_words("Mr.", "") == []


def test_repeated_ngram_share_is_one_minus_distinct_over_total():
    assert repeated_ngram_share("a b c d e f".split()) == 0.0
    # 4-grams: abcd bcda cdab dabc abcd -> 4 distinct of 5
    assert repeated_ngram_share("a b c d a b c d".split()) == pytest.approx(1 - 4 / 5)
    assert repeated_ngram_share(["the"] * 10) == pytest.approx(1 - 1 / 7)
    assert math.isnan(repeated_ngram_share("a b c".split()))
    assert repeated_ngram_share("a b a b a".split(), n=2) == pytest.approx(1 - 2 / 4)


def test_distinct_share_sees_a_text_that_keeps_returning_to_a_few_words():
    assert distinct_share("a b c d".split()) == 1.0
    # the T = 0.1 sample of issue 18: 46 words, 16 distinct, 2% repeated 4-grams
    looping = ("should that i have to the some of the should have to the strace of the should "
               "the could the show to be so man to me to the spoor of the should that i have so "
               "some of the could be so should the show").split()
    assert len(looping) == 46 and distinct_share(looping) == pytest.approx(16 / 46)
    assert repeated_ngram_share(looping) < 0.05
    assert math.isnan(distinct_share([]))


def test_in_vocab_share_counts_occurrences():
    assert in_vocab_share(["the", "the", "zzq", "cat"], frozenset({"the", "cat"})) == 0.75
    assert math.isnan(in_vocab_share([], frozenset({"the"})))


def test_sample_bpc_scores_exactly_the_generated_characters():
    torch.manual_seed(0)
    model = CharRNN(hidden_size=16, n_layers=2).eval()
    prime, sample = "It was the", " best of times, it was"
    ids = encode(prime + sample)
    with torch.no_grad():
        logits, _ = model(ids[None, :-1])
    nll = F.cross_entropy(logits[0].double(), ids[1:], reduction="none") / math.log(2)
    assert sample_bpc(model, prime, sample) == pytest.approx(nll[len(prime) - 1:].mean().item(),
                                                             abs=1e-9)
    # a one-character prime contributes no prediction of its own
    assert sample_bpc(model, "I", sample) == pytest.approx(bpc(model, "I" + sample), abs=1e-12)


def test_entropy_is_that_of_the_distributions_generate_draws_from():
    """The one-call entropy equals the entropy of the distribution at each generation step,
    with the state carried one character at a time as generate carries it."""
    torch.manual_seed(1)
    model = CharRNN(hidden_size=16, n_layers=2).eval()
    prime = "Hello"
    sample = generate(model, prime, 30, temperature=0.7, seed=3)[len(prime):]
    got = sampling_entropy(model, prime, sample, 0.7)
    assert got.shape == (30,)
    with torch.no_grad():
        logits, state = model(encode(prime)[None, :])
        want = []
        for ch in sample:
            p = torch.softmax(logits[0, -1].double() / 0.7, -1)
            want.append(-(p * p.log2()).sum().item())
            logits, state = model(encode(ch)[None, :], state)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.all(sampling_entropy(model, prime, sample, None) == 0.0)  # greedy: a point mass
    # a very hot softmax is uniform over the 100 symbols
    np.testing.assert_allclose(sampling_entropy(model, prime, sample, 1e6), math.log2(100),
                               atol=1e-6)


def test_table_has_a_row_per_temperature_and_seed_plus_greedy_and_reference(table):
    assert list(table.columns) == list(COLUMNS)
    counts = table.decoding.value_counts()
    assert counts["sample"] == len(TEMPS) * 3 and counts["greedy"] == 3
    assert counts["reference"] == 3
    assert (table[table.decoding == "greedy"].temperature == 0.0).all()
    assert table[table.decoding == "reference"].temperature.isna().all()
    assert table[table.decoding != "reference"]["sample"].str.len().eq(200).all()


def test_rows_regenerate_from_their_seed(table, trained):
    row = table[(table.decoding == "sample") & (table.temperature == 1.0)].iloc[1]
    again = generate(trained, row.prime, 200, 1.0, seed=int(row.seed))
    assert again == row.prime + row["sample"]


def test_temperature_effects_on_a_briefly_trained_model(table):
    s = summarise(table).set_index(["decoding", "temperature"])
    cold, hot = s.loc[("sample", 0.1)], s.loc[("sample", 2.0)]
    greedy = s.loc[("greedy", 0.0)]
    assert cold.in_vocab_mean > hot.in_vocab_mean
    assert greedy.repeat_4gram_mean >= hot.repeat_4gram_mean
    assert greedy.repeat_4gram_mean > 0.5  # argmax falls into a loop
    assert greedy.distinct_words_mean < cold.distinct_words_mean < hot.distinct_words_mean
    ent = [s.loc[("sample", t)].entropy_bits_mean for t in TEMPS]
    assert all(a < b for a, b in zip(ent, ent[1:]))
    own = [s.loc[("sample", t)].bpc_mean for t in TEMPS]
    assert all(a < b for a, b in zip(own, own[1:]))
    assert greedy.entropy_bits_mean == 0.0
    assert hot.entropy_bits_mean < math.log2(100)


def test_entropy_increases_with_temperature_at_every_step(trained):
    prime, sample = "The ", "old gentleman said that he would"
    ent = np.stack([sampling_entropy(trained, prime, sample, t) for t in (0.1, 0.5, 1.0, 2.0)])
    assert np.all(np.diff(ent, axis=0) > 0)


def test_summary_and_figure(table, isolated_outputs):
    s = summarise(table)
    assert len(s) == len(TEMPS) + 2 and (s.n_seeds == 3).all()
    for metric in MEASURES:
        assert (s[f"{metric}_min"] <= s[f"{metric}_mean"] + 1e-12).all()
        assert (s[f"{metric}_mean"] <= s[f"{metric}_max"] + 1e-12).all()
    path = isolated_outputs / "figures" / "temperature_metrics.png"
    fig = plot_temperature_metrics(table, path)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == len(METRICS) == 5
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(path.parent.glob(".*.tmp"))
    row = summary_row(s, temperature=TEMPS[1])
    assert row.decoding == "sample" and row.temperature == pytest.approx(TEMPS[1])
    assert summary_row(s, "greedy").temperature == 0.0
    assert summary_row(s, temperature=99.0) is None


def test_generation_uses_one_thread_and_restores_the_setting(trained, vocab):
    torch.set_num_threads(2)
    try:
        df = temperature_table(trained, vocab, corpus_text(TEST_FILE), temps=(1.0,), seeds=(0,),
                               predict_len=20, greedy=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    assert len(df) == 1 and df.decoding.tolist() == ["sample"]


def test_sample_metrics_of_one_sample_use_the_one_word_definition(trained, vocab):
    sample = "wick said the said the said the said hi"
    m = sample_metrics(trained, "Mr. Pick", sample, 1.0, vocab)
    assert m["distinct_chars"] == len(set(sample))
    # words: pickwick said the said the said the said (the cut last word "hi" is dropped)
    assert m["n_words"] == 8 and m["n_4grams"] == 5
    assert m["repeat_4gram"] == pytest.approx(1 - 3 / 5)
    words_made = generated_words("Mr. Pick", sample)
    assert m["in_vocab"] == pytest.approx(in_vocab_share(words_made, vocab))
    assert set(MEASURES) <= set(m) and m["entropy_bits"] > 0
    assert sample_metrics(trained, "Mr.", "said", None, vocab)["entropy_bits"] == 0.0


def test_sample_measures_has_a_row_per_sample_and_the_figure_a_panel_per_measure(
        trained, vocab, isolated_outputs):
    samples = samples_at(trained, "The ", (0.5, 1.0, 2.0), predict_len=60, seed=1)
    df = sample_measures(trained, "The ", samples, vocab)
    assert df.temperature.tolist() == [0.5, 1.0, 2.0] and set(MEASURES) <= set(df.columns)
    assert df.distinct_chars.tolist() == [len(set(s)) for s in samples.values()]
    path = isolated_outputs / "figures" / "sample_stats_by_temperature.png"
    fig = plot_sample_measures(df, path)
    assert len(fig.axes) == 4 and "3 samples" in fig._suptitle.get_text()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_distribution_entropy_rises_with_temperature_to_the_uniform_maximum(trained):
    assert entropy_of(np.array([0.5, 0.5, 0.0])) == pytest.approx(1.0)
    assert entropy_of(np.array([1.0, 0.0])) == 0.0
    ent = distribution_entropy(trained, "The old ", (0.1, 1.0, 1e6))
    assert ent[0.1] < ent[1.0] < ent[1e6] == pytest.approx(math.log2(100))
    labels, probs = next_char_distribution(trained, "The old ", (1.0,))
    assert len(labels) == 12 and np.all(np.diff(probs[1.0]) <= 0)


def test_open_context_extends_the_prime_until_the_choice_is_open(trained):
    assert open_context(trained, "The ", threshold=1.0) == "The "
    assert open_context(trained, "The ", threshold=0.0, max_extra=5) == "The " + \
        generate(trained, "The ", 6, greedy=True)[4:]
    assert open_context(trained, "The ", threshold=0.0, max_extra=5) != "The "


def test_training_vocabulary_is_that_of_the_checkpoint_corpus(vocab):
    ckpt = SimpleNamespace(config=SimpleNamespace(corpus="dickens_train.txt"))
    assert training_vocabulary(ckpt) == vocab and "the" in vocab
