"""The sentences, tables and sample blocks of section 4.4 and its appendix, on small hand-made
inputs (no model, no data files): every branch of charlm.report.sections.temperature."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from charlm.report.claims import Check
from charlm.report.sections import temperature as say
from charlm.studies.temperature import summarise, summary_row


def _row(decoding, temperature, seed, in_vocab, repeat, bpc, entropy, distinct_words=0.8,
         distinct=30):
    return {"decoding": decoding, "temperature": temperature, "seed": seed,
            "distinct_chars": distinct, "in_vocab": in_vocab, "distinct_words": distinct_words,
            "repeat_4gram": repeat, "bpc": bpc, "entropy_bits": entropy}


def _summary(sampled, greedy=None, reference=None):
    """summarise() of a table: ``sampled`` maps T -> (in_vocab, repeat, bpc, entropy,
    distinct_words), two seeds each (the second 0.02 higher in every measure);
    ``greedy``/``reference``: one such tuple."""
    rows = [_row("sample", t, s, *(v + 0.02 * s for v in vals))
            for t, vals in sampled.items() for s in (0, 1)]
    if greedy is not None:
        rows += [_row("greedy", 0.0, s, *greedy) for s in (0, 1)]
    if reference is not None:
        rows += [_row("reference", math.nan, s, *reference) for s in (0, 1)]
    return summarise(pd.DataFrame(rows))


SAMPLED = {0.1: (0.97, 0.40, 0.50, 0.30, 0.25), 0.5: (0.89, 0.00, 1.68, 1.40, 0.60),
           1.0: (0.67, 0.00, 2.43, 2.45, 0.80), 2.0: (0.24, 0.00, 4.50, 4.90, 0.95)}
FULL = _summary(SAMPLED, greedy=(0.97, 0.96, 0.20, 0.0, 0.07),
                reference=(0.97, 0.01, 2.47, 2.30, 0.81))
HOLD = [Check("at T = 0.1 the text loops on a few frequent words: fewer than 50%", "", True),
        Check("at T = 2 it is near-random characters: fewer than 50%", "", True)]


def test_answer_gives_the_numbers_and_the_reference_and_the_risks():
    text = say.answer(FULL, HOLD, 300)
    assert text.startswith("**Answer.** Sampling divides the model's scores by the temperature")
    assert "Over 2 samples per temperature, at T = 0.1 only 26% of the words are distinct " \
           "(real Dickens: 81%)" in text
    assert "at T = 2 only 25% are known words (Dickens: 97%)" in text
    assert ("The reference write-up's descriptions hold: at T = 0.1 the text loops on a few "
            "frequent words; at T = 2 it is near-random characters.") in text
    assert "the model's builder, the script's writer and the outputs' user" in text
    failed = say.answer(FULL, [HOLD[0], Check(HOLD[1].claim, "", False)], 300)
    assert "“at T = 2 it is near-random characters” does not hold" in failed
    assert "descriptions hold" not in say.answer(FULL, [Check("x: y", "", None)], 300)
    bare = say.answer(_summary(SAMPLED), [], 300)  # no real text: no numbers to compare
    assert "real Dickens" not in bare and "surprising" not in bare


def test_answer_states_the_crossing_as_a_range():
    # own BPC 0.51, 1.69, 2.44, 4.51 (standard deviation 0.014) against the real text's 2.47:
    # just above T = 1, within a narrow band
    text = say.answer(FULL, HOLD, 300)
    band = say.matching_range(FULL[FULL.decoding == "sample"], summary_row(FULL, "reference"))
    assert band is not None and 1.0 < band[0] < band[1] < 1.05
    assert f"between about T = {band[0]:.2f} and {band[1]:.2f}" in text


def test_samples_intro_and_escaped_samples():
    text = say.samples_intro("x" * 1000, " more;\nand", [0.1, 0.5, 1.0, 2.0], 200, 1234)
    assert text.startswith("Primed with the first 10 characters of a random 200-character chunk "
                           "of the test text (one of 5), `' more;\\nand'`")
    assert "200 characters at each temperature, all with seed 1234:" in text
    samples = {0.1: "a <b> & c", 2.0: "</pre><script>alert(1)</script>"}
    html = say.show_samples("It <was>", samples).data
    assert html.index("<strong>T = 0.1</strong>") < html.index("<strong>T = 2</strong>")
    assert "<script>alert(1)" not in html and "&lt;/pre&gt;&lt;script&gt;" in html
    assert "It &lt;was&gt;" in html and html.count('<pre class="charlm-text"') == 2


MEASURES = pd.DataFrame({"temperature": [0.1, 2.0], "n_words": [46, 32], "n_4grams": [43, 29],
                         "distinct_chars": [20, 61], "in_vocab": [0.975, 0.24],
                         "distinct_words": [16 / 46, 31 / 32], "repeat_4gram": [0.023, 0.0],
                         "bpc": [0.5, 4.5], "entropy_bits": [0.3, 4.9]})


def test_samples_table_counts_distinct_words_and_its_caption_names_the_coldest():
    html = say.samples_table(MEASURES).data
    for text in ("repeated 4-grams", "known words", "distinct words", "98%", "2%", "24%",
                 ">0.1<", ">61<", ">16<", ">31<"):
        assert text in html, text
    caption = say.samples_caption(MEASURES)
    assert caption.startswith("Table {#tab-44-samples}: The samples above")
    assert caption.endswith("At T = 0.1, 46 words but only 16 distinct.")
    wordless = MEASURES.assign(n_words=[0, 0], distinct_words=[math.nan, math.nan])
    assert "distinct." not in say.samples_caption(wordless, table_id="t")


def test_distribution_caption_says_whether_the_context_was_extended():
    probs = {0.5: np.array([0.9, 0.1]), 2.0: np.array([0.3, 0.2])}
    plain = say.distribution_caption("It was", "It was", [" ", "e"], probs)
    assert plain.startswith("Figure {#fig-44-next-char}: Bars of the model's probability for each "
                            "of the 2 likeliest next characters")
    assert "after the priming string, one colour" in plain and "its likeliest" not in plain
    assert "The likeliest, ' ', gets 0.90 at T = 0.5, 0.30 at T = 2" in plain
    longer = say.distribution_caption("It was", "It was the", [" "], probs, threshold=0.75)
    assert "after the priming string and ' the', its likeliest continuation" in longer
    assert "one character has over 75%" in longer


def test_distribution_sentence_gives_the_entropy_per_temperature():
    text = say.distribution_sentence({0.5: 0.61, 2.0: 5.2})
    assert "0.61 bits at T = 0.5, 5.20 bits at T = 2" in text
    assert text.endswith("a uniform choice among the 100 symbols would be 6.64.")
    assert "among the 4 symbols would be 2.00." in say.distribution_sentence({1.0: 0.0}, n_symbols=4)


def test_summary_table_has_a_row_per_decoding_and_temperature():
    html = say.summary_table(FULL).data
    assert "real text (held out)" in html and "greedy (argmax)" in html
    assert "0.980 ± 0.014" in html  # in_vocab at T = 0.1: 0.97 and 0.99
    assert "distinct words" in html and "0.260 ± 0.014" in html
    assert html.count("<tr>") == 1 + len(SAMPLED) + 2
    caption = say.summary_caption(FULL, 300)
    assert caption.startswith("Table {#tab-d-temperature}: ")
    assert "over 2 samples of 300 characters per row" in caption
    assert say.metrics_caption(FULL).startswith("Figure {#fig-44-measures}: Known words, distinct")
    assert "the mean of 2 samples" in say.metrics_caption(FULL)


def test_curves_bullets_with_every_row():
    text = say.curves_bullets(FULL)
    assert text.count("- ") >= 4 and text.count("\n- ") == 3
    assert ("At **T = 0.1** the words are real (98% known) but few: 26% distinct against 81% "
            "in real Dickens, and 41% of word 4-grams repeat (1% in Dickens)") in text
    assert "**Greedy decoding** (the limit T → 0): 96% of its word 4-grams repeat, and 7%" in text
    assert "At **T = 2** only 25% of the words are known (97% in Dickens)" in text
    assert "needs 4.51 bits per character on its own sample" in text
    assert "as surprising to the model as real Dickens (2.47 bits per character) between about" in text
    assert "2 samples per temperature cannot place the crossing closer" in text


def test_curves_bullets_leave_out_what_is_not_there():
    bare = say.curves_bullets(_summary({0.1: SAMPLED[0.1], 2.0: SAMPLED[2.0]}))
    assert bare == ""  # no real text to compare with, no greedy rows
    only_greedy = say.curves_bullets(_summary({}, greedy=(0.9, 0.9, 0.2, 0.0, 0.1)))
    assert only_greedy.startswith("- **Greedy decoding**") and only_greedy.count("- ") == 1
    one_temp = say.curves_bullets(_summary({0.1: SAMPLED[0.1]}, reference=(0.97, 0.01, 2.47, 2.3)))
    assert "T = 0.1" in one_temp and "surprising" not in one_temp


def test_greedy_bullet_gives_the_repetition_and_the_distinct_words():
    assert say.greedy_bullet(summary_row(FULL, "greedy")) == (
        "**Greedy decoding** (the limit T → 0): 96% of its word 4-grams repeat, and 7% of its "
        "words are distinct.")


@pytest.mark.parametrize("own, sd, ref_bpc, expected", [
    ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 2.5, (0.74, 0.76)),  # only the real text's spread counts
    ([1.0, 2.0, 3.0], [0.0, 0.5, 0.5], 2.5, (0.5, 1.0)),  # the samples' spread widens the band
    ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 3.5, None),  # never within reach of the real text
    ([1.0, 3.0, 2.0], [0.0, 0.0, 0.0], 2.5, None),  # not rising: no single crossing
    ([1.0], [0.0], 1.0, None),
])
def test_matching_range(own, sd, ref_bpc, expected):
    sampled = pd.DataFrame({"temperature": [0.1, 0.5, 1.0][:len(own)], "bpc_mean": own,
                            "bpc_std": sd, "n_seeds": [4] * len(own)})
    got = say.matching_range(sampled, {"bpc_mean": ref_bpc, "bpc_std": 0.02, "n_seeds": 4})
    if expected is None:
        assert got is None
    else:
        assert got[0] == pytest.approx(expected[0], abs=0.01)
        assert got[1] == pytest.approx(expected[1], abs=0.01)


CUTS = pd.DataFrame({"decoding": ["sample", "top_k", "top_k", "top_p", "top_p"],
                     "temperature": [1.0] * 5, "cut": [np.nan, 2, 40, 0.5, 0.95],
                     "n_seeds": [3] * 5, "in_vocab_mean": [0.7, 0.94, 0.69, 0.93, 0.74],
                     "bpc_mean": [2.37, 1.48, 2.38, 1.54, 2.21]})


def test_cut_sentence_names_the_tightest_cuts_and_what_the_checks_found():
    text = say.cut_sentence(CUTS)
    assert text == ("Uncut at T = 1, 70% of the words are known and the model needs 2.37 bits per "
                    "character on its own samples: top-k = 2 gives 94% and 1.48; top-p = 0.5 "
                    "gives 93% and 1.54.")
    good = [Check("a tighter top-k cut gives: x", "", True), Check("a tighter top-p cut gives: x", "", True)]
    assert say.cut_sentence(CUTS, good).endswith("both measures move back towards uncut sampling.")
    bad = [good[0], Check("a tighter top-p cut gives: x", "", False)]
    assert say.cut_sentence(CUTS, bad).endswith("do not both move back towards uncut sampling for top-p.")
    assert say.cut_sentence(CUTS[CUTS.decoding != "sample"]) == ""
    assert say.cut_sentence(CUTS[CUTS.decoding == "sample"]).endswith("own samples.")


def test_captions_of_the_appendix():
    assert say.cut_caption(CUTS, 300).startswith("Table {#tab-d-cuts}: Each measure")
    assert "over 3 samples of 300 characters" in say.cut_caption(CUTS, 300)
    assert say.cut_figure_caption().startswith("Figure {#fig-d-cuts}: ")
    assert "each of the 20 samples" in say.slider_measures_caption(20)


def test_slider_lines_and_the_t1_identity():
    assert say.slider_line([0.1, 0.2, 2.0], 0.1, 200) == (
        "From T = 0.1 to T = 2 in steps of 0.1: 3 samples of 200 characters, with the priming "
        "string and seed of 4.4.")
    assert say.cut_slider_line([2, 40], [0.5], 100).endswith(
        "cut by top-k (2, 40) and by top-p (0.5): 3 samples of 100 characters.")
    one = summary_row(FULL, temperature=1.0)
    assert say.t1_sentence(one).endswith("measured 2.44 against 2.46 bits.")


def test_length_note_gives_the_words_per_sample_at_each_end_and_in_real_text():
    df = pd.DataFrame({"decoding": ["sample"] * 4 + ["reference"] * 2,
                       "temperature": [0.1, 0.1, 2.0, 2.0, math.nan, math.nan],
                       "n_words": [70, 74, 44, 46, 55, 57]})
    text = say.length_note(df, 300)
    assert text.endswith("every sample here has 300 characters, which is 72 words on average at "
                         "T = 0.1 and 45 at T = 2, against 56 in the windows of real text.")
    assert say.length_note(df[df.decoding == "sample"], 300).endswith("45 at T = 2.")
    assert say.length_note(df[df.decoding == "reference"], 300) == ""
