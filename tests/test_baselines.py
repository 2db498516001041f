"""The yardsticks: uniform, unigram, Kneser-Ney n-grams and compressors, on tiny texts."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from charlm.baselines import (ADAPTS, COMPRESSORS, END_ADAPTS, KNOWS_SHORT, LADDER_COMPRESSORS, NOTHING,
                              REACH, TRAINING, KneserNey, choose_order, compressor_bpc,
                              compressor_knows, conditional_bits, format_table, modified_discounts,
                              ngram_name, ngram_order, training_seen, uniform_char_bits,
                              unigram_char_bits, yardsticks)
from charlm.data import VOCAB
from charlm.errors import ConfigError, DataError


def word_salad(n_words: int, seed: int) -> str:
    """Reproducible text of common words in random order (so it compresses, but not to nothing)."""
    rng = random.Random(seed)
    words = ("the of and to a in that it was he for his with as had you not be her on at by "
             "which have or from this him but all she they were my are me one their so an said "
             "them we who would been will no when there if more out up into do any your what").split()
    return " ".join(rng.choice(words) for _ in range(n_words)) + "."


def test_uniform_is_log2_of_the_vocabulary():
    bits = uniform_char_bits("hello")
    assert bits.shape == (4,)  # characters 2..N, as char_bits
    assert np.all(bits == math.log2(100))


def test_unigram_on_a_tiny_text():
    # training text "aab": counts a 2, b 1, every other symbol 0; add-one over 100 symbols
    # -> p(a) = 3/103, p(b) = 2/103, p(z) = 1/103. Test "abz" scores "b" and "z".
    bits = unigram_char_bits("aab", "abz")
    np.testing.assert_allclose(bits, [-math.log2(2 / 103), -math.log2(1 / 103)])


def test_kneser_ney_against_a_hand_computation():
    # Training text "abcab", plain interpolated KN, discount D = 0.5, V = 100.
    # Bigrams: ab x2, bc x1, ca x1.
    # Order-1 continuation counts (distinct left neighbours): a 1 (ca), b 1 (ab), c 1 (bc); total 3,
    #   3 types -> gamma = 0.5 * 3 / 3 = 0.5;
    #   P1(a) = P1(b) = P1(c) = (1 - 0.5)/3 + 0.5/100 = 0.171666..., P1(other) = 0.005.
    # Order 2, context "a": c(a.) = 2, one type -> gamma = 0.5 * 1/2 = 0.25;
    #   P(b|a) = (2 - 0.5)/2 + 0.25 * P1(b) = 0.75 + 0.0429166... = 0.7929166...
    #   P(c|a) = 0.25 * 0.171666... = 0.0429166...,  P(z|a) = 0.25 * 0.005 = 0.00125.
    # Context "b": c(b.) = 1 (bc) -> gamma 0.5; P(z|b) = 0.5 * 0.005 = 0.0025.
    # Context "z" never seen -> the whole mass backs off: P(c|z) = P1(c) = 0.171666...
    # Order-1 model itself (raw counts a 2, b 2, c 1, total 5, 3 types -> gamma = 0.5*3/5 = 0.3):
    #   P(b) = 1.5/5 + 0.3/100 = 0.303, P(z) = 0.003, P(c) = 0.5/5 + 0.003 = 0.103.
    model = KneserNey("abcab", max_order=2, discount=0.5)
    p1 = 0.5 / 3 + 0.005
    np.testing.assert_allclose(2 ** -model.char_bits("abzc", order=2),
                               [0.75 + 0.25 * p1, 0.0025, p1])
    np.testing.assert_allclose(2 ** -model.char_bits("abzc", order=1), [0.303, 0.003, 0.103])
    dist = model.distribution("a")
    a, b, c, z = (VOCAB.index(ch) for ch in "abcz")
    np.testing.assert_allclose(dist[[a, b, c, z]], [0.25 * p1, 0.75 + 0.25 * p1, 0.25 * p1, 0.00125])


def test_modified_discounts_by_hand():
    # counts of counts n1 = 4, n2 = 2, n3 = 1, n4 = 1 -> Y = 4 / (4 + 2*2) = 0.5;
    # D1 = 1 - 2*0.5*2/4 = 0.5, D2 = 2 - 3*0.5*1/2 = 1.25, D3+ = 3 - 4*0.5*1/1 = 1.
    counts = np.array([1, 1, 1, 1, 2, 2, 3, 4, 7])
    np.testing.assert_allclose(modified_discounts(counts), [0, 0.5, 1.25, 1.0])


@pytest.mark.parametrize("discount", [None, 0.7])
def test_every_context_sums_to_one_and_every_symbol_is_possible(discount):
    model = KneserNey(word_salad(400, 1), max_order=5, discount=discount)
    for context in ["", "t", "the ", "of th", "qzx#", "~~~~~~~~", "was h"]:
        for order in range(1, 6):
            dist = model.distribution(context, order)
            assert dist.shape == (100,)
            assert abs(dist.sum() - 1) < 1e-12, (context, order)
            assert dist.min() > 0, (context, order)


def test_char_bits_agree_with_the_distributions_and_use_short_histories():
    model = KneserNey(word_salad(300, 2), max_order=4)
    text = "the cat was in that."
    bits = model.all_char_bits(text)
    assert bits.shape == (4, len(text) - 1)
    for t in range(1, len(text)):
        for order in (1, 2, 4):
            p = model.distribution(text[:t], order)[VOCAB.index(text[t])]
            assert bits[order - 1, t - 1] == pytest.approx(-math.log2(p), rel=1e-12)
    # the second character has one character of history: every order >= 2 is the bigram there
    assert bits[3, 0] == bits[1, 0]
    assert np.array_equal(model.char_bits(text, 3), bits[2])


def test_choose_order_is_the_argmin_on_validation():
    train, valid = word_salad(2000, 3), word_salad(300, 4)
    order, table = choose_order(train, valid, max_order=6)
    assert set(table) == set(range(1, 7))
    assert order == min(table, key=table.get)
    assert order > 1  # words make longer contexts pay


def test_bad_ngram_arguments():
    with pytest.raises(ConfigError, match="max_order"):
        KneserNey("abc", max_order=10)
    with pytest.raises(ConfigError, match="order"):
        KneserNey("abc", max_order=2).char_bits("abc", order=3)
    with pytest.raises(DataError):
        KneserNey("abc", max_order=2).char_bits("a")


@pytest.mark.parametrize("name", list(COMPRESSORS))
def test_compressor_cost_is_positive_and_smaller_for_a_repeat(name):
    if name.startswith("PPMd"):
        pytest.importorskip("pyppmd")
    compress = COMPRESSORS[name]
    train = word_salad(3000, 5)
    repeat, fresh = train[5000:8000], word_salad(3000, 6)[:3000]
    cost_repeat = conditional_bits(compress, train, repeat)
    cost_fresh = conditional_bits(compress, train, fresh)
    assert 0 < cost_repeat < cost_fresh
    bpc = compressor_bpc(compress, train, {"fresh": fresh})
    assert bpc["fresh"] == pytest.approx(cost_fresh / len(fresh))


def test_yardstick_table_on_small_texts():
    pytest.importorskip("pyppmd")
    train = word_salad(5000, 7)  # > 2 blocks of 10,000 characters: a validation split exists
    assert len(train) > 20_000
    tests = {"a.txt": word_salad(200, 8), "b.txt": word_salad(300, 9)}
    rows, choice = yardsticks(train, tests, max_order=4)
    names = [r.name for r in rows]
    assert names[:2] == ["uniform", "unigram (add-one)"]
    # one setting of each kind on the ladder: the n-gram order chosen on validation, PPMd order 6
    assert [r.name for r in rows if r.note == "order chosen on validation"] == [f"Kneser-Ney {choice.order}-gram"]
    assert [r.name for r in rows if not r.on_ladder] == [
        ngram_name(k) for k in range(1, 5) if k != choice.order] + ["PPMd order 4", "PPMd order 8"]
    assert choice.order == min(choice.valid_bpc, key=choice.valid_bpc.get)
    # a training text of 25 KB fits even zlib's window: every compressor knows all of it
    assert {r.knows for r in rows} == {NOTHING, TRAINING, ADAPTS}
    for r in rows:
        assert set(r.bpc) == set(tests) and r.seconds >= 0
        if r.bits is not None:  # same N-1 positions as char_bits
            assert all(len(r.bits[t]) == len(tests[t]) - 1 for t in tests)
            bpc, low, high = r.interval("a.txt")
            assert low - 1e-12 <= bpc <= high + 1e-12
        else:
            assert r.knows == ADAPTS and r.interval("a.txt") is None
    assert "(order not chosen)" in format_table(rows)
    assert rows[0].bpc["a.txt"] == pytest.approx(math.log2(100))
    text = format_table(rows, intervals=True)
    assert all(n in text for n in names) and "a.txt" in text
    lines, width = text.splitlines(), max(len(n) for n in names)
    assert len(lines) == len(rows) + 1
    assert all(line.startswith(n) for line, n in zip(lines[1:], names))
    assert all(line[width:width + 2] == "  " for line in lines)  # fixed-width columns


def test_an_ngram_name_gives_back_its_order():
    assert ngram_name(8) == "Kneser-Ney 8-gram" and ngram_order(ngram_name(12)) == 12
    assert ngram_order("PPMd order 6") is None and ngram_order("Kneser-Ney 8-gram, dynamic") is None


def test_what_a_compressor_knows_follows_how_far_back_it_reaches():
    assert REACH["zlib -9"] == 32_768 and REACH["bz2 -9"] == 900_000
    assert REACH["lzma -9e"] == 64 << 20  # xz's preset 9: a 64 MiB dictionary
    train = 1_136_673
    assert training_seen("zlib -9", train) == 32_768
    assert training_seen("bz2 -9", train) == train - 900_000  # the test's block holds the rest
    assert training_seen("bz2 -9", 500_000) == 500_000 and training_seen("lzma -9e", train) == train
    assert compressor_knows("zlib -9", train) == compressor_knows("bz2 -9", train) == END_ADAPTS
    assert compressor_knows("lzma -9e", train) == compressor_knows("PPMd order 6", train) == ADAPTS
    assert compressor_knows("zlib -9", 30_000) == ADAPTS  # a short text fits the window
    assert set(LADDER_COMPRESSORS) <= set(COMPRESSORS) == set(REACH)
    assert set(KNOWS_SHORT) == {NOTHING, TRAINING, END_ADAPTS, ADAPTS}


def test_zlib_knows_only_the_end_of_a_long_training_text():
    """What the class says, measured: past zlib's window, the start of the training text no
    longer helps it code a repeat of that start."""
    start, filler = word_salad(3000, 11)[:5000], word_salad(30000, 12)[:60_000]
    near = conditional_bits(COMPRESSORS["zlib -9"], filler + start, start)
    far = conditional_bits(COMPRESSORS["zlib -9"], start + filler, start)
    lz = conditional_bits(COMPRESSORS["lzma -9e"], start + filler, start)
    assert near < 0.2 * far and lz < 0.2 * far
