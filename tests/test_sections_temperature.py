"""The sentences, tables and sample blocks of section 4.4, on small hand-made inputs (no model,
no data files): every branch of charlm.report.sections.temperature."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from charlm.report.sections import temperature as say
from charlm.studies.temperature import summarise


def _row(decoding, temperature, seed, in_vocab, repeat, bpc, entropy, distinct=30):
    return {"decoding": decoding, "temperature": temperature, "seed": seed,
            "distinct_chars": distinct, "in_vocab": in_vocab, "repeat_4gram": repeat, "bpc": bpc,
            "entropy_bits": entropy}


def _summary(sampled, greedy=None, reference=None):
    """summarise() of a table: ``sampled`` maps T -> (in_vocab, repeat, bpc, entropy), two seeds
    each (the second 0.02 higher in every measure); ``greedy``/``reference``: one such tuple."""
    rows = [_row("sample", t, s, *(v + 0.02 * s for v in vals))
            for t, vals in sampled.items() for s in (0, 1)]
    if greedy is not None:
        rows += [_row("greedy", 0.0, s, *greedy) for s in (0, 1)]
    if reference is not None:
        rows += [_row("reference", math.nan, s, *reference) for s in (0, 1)]
    return summarise(pd.DataFrame(rows))


SAMPLED = {0.1: (0.97, 0.40, 0.50, 0.30), 0.5: (0.89, 0.00, 1.68, 1.40),
           1.0: (0.67, 0.00, 2.43, 2.45), 2.0: (0.24, 0.00, 4.50, 4.90)}
FULL = _summary(SAMPLED, greedy=(0.97, 0.96, 0.20, 0.0), reference=(0.97, 0.01, 2.47, 2.30))


def test_prime_sentence_counts_the_chunks():
    text = say.prime_sentence("x" * 1000, 1234)
    assert "first 10 characters of one of the 5 200-character chunks of `dickens_test.txt`" in text
    assert "seed 1234" in text
    assert "one of the 2 50-character chunks of `f.txt`" in say.prime_sentence(
        "x" * 100, 1, file_name="f.txt", chunk_len=50)


def test_samples_line_and_escaped_samples():
    assert say.samples_line([0.1, 0.5, 1.0, 2.0], 200, 1234) == (
        "4 temperatures, 200 characters at each, all drawn with seed 1234:")
    samples = {0.1: "a <b> & c", 2.0: "</pre><script>alert(1)</script>"}
    html = say.show_samples("It <was>", samples).data
    assert html.index("<strong>T = 0.1</strong>") < html.index("<strong>T = 2</strong>")
    assert "<script>alert(1)" not in html and "&lt;/pre&gt;&lt;script&gt;" in html
    assert "It &lt;was&gt;" in html and html.count('<pre class="charlm-text"') == 2


def test_samples_table_formats_shares_as_percentages():
    measures = pd.DataFrame({"temperature": [0.1, 2.0], "n_words": [40, 35], "n_4grams": [37, 32],
                             "distinct_chars": [18, 61], "in_vocab": [0.975, 0.24],
                             "repeat_4gram": [0.486, 0.0], "bpc": [0.5, 4.5],
                             "entropy_bits": [0.3, 4.9]})
    html = say.samples_table(measures).data
    for text in ("repeated 4-grams", "known words", "98%", "49%", "24%", ">0.1<", ">61<",
                 "(known words)"):
        assert text in html, text
    assert "my caption" in say.samples_table(measures, caption="my caption").data


def test_context_sentence_says_whether_the_context_was_extended():
    plain = say.context_sentence("It was", "It was")
    assert "after the priming string. The 12 characters" in plain and "extended" not in plain
    longer = say.context_sentence("It was", "It was the", threshold=0.75, top=5)
    assert "extended by ' the'" in longer and "over 75% at T = 1" in longer
    assert "The 5 characters most likely" in longer


def test_distribution_sentence_lists_probability_and_entropy_per_temperature():
    probs = {0.5: np.array([0.9, 0.1]), 2.0: np.array([0.3, 0.2])}
    text = say.distribution_sentence([" ", "e"], probs, {0.5: 0.61, 2.0: 5.2})
    assert "most likely next character is `' '`" in text
    assert "0.90 at T = 0.5, 0.30 at T = 2" in text
    assert "0.61 bits at T = 0.5, 5.20 bits at T = 2" in text
    assert "among 100 symbols, is 6.64 bits" in text
    assert "among 4 symbols, is 2.00 bits" in say.distribution_sentence(
        ["a"], {1.0: np.array([1.0])}, {1.0: 0.0}, n_symbols=4)


def test_summary_table_has_a_row_per_decoding_and_temperature():
    html = say.summary_table(FULL, 300).data
    assert "over 2 samples of 300 characters per row" in html
    assert "real text (held out)" in html and "greedy (argmax)" in html
    assert "0.980 ± 0.014" in html  # in_vocab at T = 0.1: 0.97 and 0.99
    assert html.count("<tr>") == 1 + len(SAMPLED) + 2
    assert "custom" in say.summary_table(FULL, 300, caption="custom").data


def test_curves_bullets_with_every_row():
    text = say.curves_bullets(FULL)
    assert text.startswith("**What the curves say")
    assert "**T = 0.5**: 90% of the generated words are real words, 1.0% of the word" in text
    assert "**T = 1**" in text
    assert "**Real Dickens** (held out): 97% known words, 1.0% repeated" in text
    assert "**Greedy decoding**: 96% of its word 4-grams" in text
    assert "From T = 0.1 to T = 2 the share of known words goes from 98% to 25%" in text
    # own BPC 0.51, 1.69, 2.44, 4.51 crosses the real text's 2.47 just above T = 1
    assert "**T = 1.01**" in text and "crosses 2.47" in text
    assert "measured 2.44 against 2.46" in text
    assert text.count("\n- ") == 7


def test_curves_bullets_leave_out_what_is_not_there():
    # no T = 0.5 or 1: no bullets for them, no T = 1 identity; no reference: no crossing
    bare = say.curves_bullets(_summary({0.1: SAMPLED[0.1], 2.0: SAMPLED[2.0]}))
    assert "**T = 0.5**" not in bare and "At T = 1" not in bare and "Real Dickens" not in bare
    assert "Greedy" not in bare and "exactly as surprising" not in bare
    assert bare.count("\n- ") == 1  # the range only
    only_greedy = say.curves_bullets(_summary({}, greedy=(0.9, 0.9, 0.2, 0.0)))
    assert only_greedy.count("\n- ") == 1 and "nothing guarantees it" in only_greedy


def test_greedy_bullet_does_not_claim_that_argmax_must_loop():
    sampled = FULL[FULL.decoding == "sample"]
    loops = say.greedy_bullet(say.summary_row(FULL, "greedy"), sampled)
    assert "It loops more than sampling at any temperature" in loops
    assert "hidden state" in loops and "Nothing guarantees it" in loops
    assert "for ever" not in loops
    calm = _summary(SAMPLED, greedy=(0.97, 0.30, 0.2, 0.0))
    text = say.greedy_bullet(say.summary_row(calm, "greedy"), calm[calm.decoding == "sample"])
    assert "Here it repeats no more than sampling at T = 0.1 (41%)" in text
    assert "usually falls into a loop, but nothing guarantees it" in text
    wordless = sampled.assign(repeat_4gram_mean=math.nan)
    text = say.greedy_bullet(say.summary_row(FULL, "greedy"), wordless)
    assert "any temperature" not in text and "nothing guarantees it" in text
    no_words = say.summary_row(_summary({}, greedy=(math.nan, math.nan, 0.2, 0.0)), "greedy")
    text = say.greedy_bullet(no_words, sampled)
    assert "any temperature" not in text and "no more than" not in text


@pytest.mark.parametrize("own, ref, expected", [
    ([1.0, 2.0, 3.0], 2.5, 0.75),  # rising, crossed between T = 0.5 and 1
    ([1.0, 2.0, 3.0], 3.5, None),  # never as surprising as the real text
    ([1.0, 3.0, 2.0], 2.5, None),  # not rising: no single crossing
    ([], 2.5, None),
])
def test_matching_temperature(own, ref, expected):
    sampled = pd.DataFrame({"temperature": [0.1, 0.5, 1.0][:len(own)], "bpc_mean": own})
    got = say.matching_temperature(sampled, ref)
    assert got == (None if expected is None else pytest.approx(expected))


def test_slider_line():
    assert say.slider_line([0.1, 0.2, 2.0], 0.1, 200) == (
        "From T = 0.1 to T = 2 in steps of 0.1: 3 samples of 200 characters.")
