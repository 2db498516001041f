"""Inside the model (notebook 07): the coloured text, the kinds of character, the labellers, the
recorded states and the unit search."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import torch

from charlm import inside
from charlm.data import encode
from charlm.evaluate import char_bits
from charlm.model import CharRNN
from charlm.report.sections import inside as say


class _Spans(HTMLParser):
    """The coloured elements of a snippet: (class, title, text) of each, and all the text."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[list] = []
        self.text = ""
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "i":
            a = dict(attrs)
            self.items.append([a.get("class"), a.get("title"), ""])
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "i":
            self.depth -= 1

    def handle_data(self, data):
        self.text += data
        if self.depth:
            self.items[-1][2] += data


# ---------------------------------------------------------------- the coloured text


def test_coloured_html_carries_each_characters_bits_and_escapes_the_text():
    text = 'a<b>&"c\'d\n e'
    bits = np.array([np.nan, 0.1, 0.7, 1.5, 2.5, 3.5, 5.0, 7.0, 9.0, 0.3, 0.0, 12.25])
    snippet = say.coloured_html(text, bits)
    assert "<b>" not in snippet and "&lt;b&gt;&amp;&quot;c&#x27;d" not in snippet  # one per element
    assert "&lt;" in snippet and "&amp;" in snippet and "&quot;" in snippet and "&#x27;" in snippet
    parsed = _Spans()
    parsed.feed(snippet)
    # every character but the first (no prediction) is an element carrying its bits
    assert [t for _, _, t in parsed.items] == [c.replace("\n", say.NEWLINE_MARK + "\n") for c in text[1:]]
    assert [float(title) for _, title, _ in parsed.items] == pytest.approx(bits[1:], abs=0.005)
    assert [cls for cls, _, _ in parsed.items] == [f"ib{k}" for k in (0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 7)]
    # the text reads back whole, the newline shown by its mark and still a line break
    assert parsed.text.replace(say.NEWLINE_MARK, "").removeprefix('<pre class="charlm-inside">') == text


def test_coloured_html_without_titles_shares_elements_between_runs_of_one_colour():
    text = "aaabbb"
    snippet = say.coloured_html(text, np.array([0.05, 0.05, -0.05, -0.9, -0.9, 0.95]), say.UNIT, titles=False)
    parsed = _Spans()
    parsed.feed(snippet)
    assert [(c, t) for c, _, t in parsed.items] == [("iu4", "aaa"), ("iu0", "bb"), ("iu8", "b")]
    assert "title" not in snippet


def test_coloured_html_refuses_values_that_do_not_match_the_text():
    with pytest.raises(Exception, match="3 values for a text of 2"):
        say.coloured_html("ab", np.zeros(3))


def test_views_come_with_their_style_legend_and_no_script_or_outside_reference():
    page = say.views_html([("one", "ab", np.array([np.nan, 1.0]), say.BITS),
                           ("two", "ab", np.array([np.nan, -3.0]), say.DIFFERENCE)])
    assert page.startswith("<style>") and "print-color-adjust:exact" in page
    assert ".ib7{" in page and ".id0{" in page and ".iu0{" not in page  # only the scales shown
    assert page.count('class="charlm-legend"') == 2 and "&ge; 8" in page and "bits" in page
    assert "<script" not in page and "src=" not in page and "href=" not in page
    # every colour is a tint, never white, so that a space shows as a box
    assert "#fff;" not in page.replace("color:#fff", "") and "#ffffff" not in page


def test_passage_fits_inside_a_short_text():
    assert say.passage("x" * 1000, 100, 400) == (100, 500)
    assert say.passage("x" * 300, 100, 400) == (0, 300)
    assert say.passage("x" * 1000, 900, 400) == (600, 1000)


# ---------------------------------------------------------------- kinds of character


def test_every_character_has_exactly_one_kind():
    text = "'Don't,' said Mr. Micawber in 1850,\n(twice)  x"
    kinds = [inside.KINDS[k] for k in inside.char_kinds(text)]
    expect = {0: "punctuation and other", 1: "capital", 2: "letter inside a word",
              3: "letter inside a word", 4: "punctuation and other", 5: "letter inside a word",
              8: "space", 9: "first letter of a word", 10: "letter inside a word",
              30: "digit", 35: "newline", 36: "punctuation and other",
              37: "first letter of a word", 43: "space", 44: "space", 45: "first letter of a word"}
    for i, kind in expect.items():
        assert kinds[i] == kind, (i, text[i], kinds[i])
    assert len(kinds) == len(text) and set(kinds) <= set(inside.KINDS)
    assert set(inside.KIND_RULES) == set(inside.KINDS)


def test_bits_by_kind_shares_add_up_and_the_total_is_the_bpc():
    text = "ab c.\nAb 1"
    kinds = inside.char_kinds(text)
    rng = np.random.default_rng(0)
    bits = {"m": rng.uniform(0, 5, len(text) - 1), "n": np.concatenate([[np.nan], np.ones(len(text) - 1)])}
    df = inside.bits_by_kind(bits, kinds)
    body, total = df[df.kind != "all"], df[df.kind == "all"].iloc[0]
    assert list(df.kind) == [*inside.KINDS, "all"]
    assert body["chars"].sum() == total["chars"] == len(text) - 1  # the first char is not predicted
    for col in ("share of chars", "m share of bits", "n share of bits"):
        assert body[col].sum() == pytest.approx(1.0)
    assert total["m BPC"] == pytest.approx(bits["m"].mean())
    assert (body["chars"] * body["m BPC"].fillna(0)).sum() == pytest.approx(bits["m"].sum())
    assert body.loc[body.kind == "digit", "chars"].item() == 1
    with pytest.raises(Exception, match="3 bits for a text of 10"):
        inside.bits_by_kind({"x": np.ones(3)}, kinds)


def _kinds_frame() -> pd.DataFrame:
    chars = np.array([160, 570, 25, 1, 175, 22, 47])
    bpc = {"default": [4.1, 2.3, 5.8, 13, 0.75, 3.3, 4.4], "best": [3.8, 1.5, 4.8, 7.4, 0.53, 0.9, 3.4],
           "n-gram": [4.0, 1.6, 5.0, 9.0, 0.6, 3.2, 3.5]}
    cols = {"kind": [*inside.KINDS, "all"], "chars": [*chars, chars.sum()],
            "share of chars": [*(chars / chars.sum()), 1.0]}
    for name, b in bpc.items():
        sums = chars * np.array(b)
        cols[f"{name} BPC"] = [*b, sums.sum() / chars.sum()]
        cols[f"{name} share of bits"] = [*(sums / sums.sum()), 1.0]
    return pd.DataFrame(cols)


def test_the_kinds_paragraph_is_computed_from_the_table():
    text = say.kinds_paragraph(_kinds_frame(), "default", "best", "n-gram")
    assert text.startswith("The bits go where a word begins: a word's first letter is 16% of the "
                           "characters but 33% of the best's bits (3.80 bits each)")
    # the saving: inside-word letters 570 * 0.8 = 456 of 570*0.8+160*0.3+25+5.6+38.5+52.8+47 bits
    assert "the largest part of the saving" in text and "is on letters inside words (2.30 to 1.50" in text
    assert "steepest fall per character among kinds of at least 1% of the text is on newlines" in text
    assert "gains most on newlines (+2.30 bits each" in text  # the 1-char digit row is left out
    assert "least on spaces (+0.07, ahead of the n-gram there)" in text
    cheap = _kinds_frame()
    cheap.loc[0, "best share of bits"] = 0.1
    assert say.kinds_paragraph(cheap, "default", "best", "n-gram").startswith(
        "A word's first letter is 16% of the characters and 10% of the best's bits")


# ---------------------------------------------------------------- the labellers


def _on(values) -> str:
    return "".join("1" if v else "0" for v in values)


def test_quotation_labeller_on_hand_made_strings():
    assert _on(inside.in_quotation('a "bc" d')) == "00111000"
    # single marks: the apostrophes of don't and Agnes's change nothing
    text = "'I don't,' said Agnes's aunt."
    assert _on(inside.in_quotation(text)) == "1" * 9 + "0" * (len(text) - 9)
    # a blank line closes a quotation left open (a long speech opens each paragraph anew)
    text = "'One\n\n'Two' x"
    assert _on(inside.in_quotation(text)) == "1111" + "10" + "1111" + "000"
    # only the mark that opened it closes it
    assert _on(inside.in_quotation("\"it's 'so'\" x")) == "1" * 10 + "000"


def test_position_word_and_parenthesis_labellers_on_hand_made_strings():
    assert list(inside.since_newline("ab\ncd\n\ne")) == [1, 2, 0, 1, 2, 0, 0, 1]
    assert _on(inside.in_word("a b-c's 1")) == "101010100"
    assert _on(inside.in_parentheses("a (b (c) d) e) (")) == "0011111111000001"
    labels = inside.label("ab")
    assert list(labels) == list(inside.PROPERTIES) and all(len(v) == 2 for v in labels.values())


# ---------------------------------------------------------------- the unit search


def test_unit_search_finds_a_planted_unit_and_none_in_noise():
    rng = np.random.default_rng(3)
    n, units = 4000, 300
    prop = (rng.random(n) < 0.3).astype(float)
    noise, control = rng.normal(size=(n, units)), rng.normal(size=(n, units))
    planted = noise.copy()
    planted[:, 123] = -2.0 * prop + rng.normal(scale=0.5, size=n)  # follows the property, inverted
    labels = {"prop": prop}
    found = inside.found_units(inside.unit_search(planted, labels), inside.unit_search(control, labels))
    row = found.iloc[0]
    assert row["unit"] == 123 and row["r"] < -0.8 and row["found"]
    assert abs(row["control r"]) < 0.1
    nothing = inside.found_units(inside.unit_search(noise, labels), inside.unit_search(control, labels))
    assert not nothing["found"].any()


def test_correlations_match_numpy_and_give_zero_for_constant_columns():
    rng = np.random.default_rng(1)
    acts = rng.normal(size=(500, 4)).astype(np.float32) + 100  # a large mean: no cancellation
    acts[:, 2] = 5.0
    y = acts[:, 0] * 0.5 + rng.normal(size=500)
    r = inside.correlations(acts, y, rows=64)
    assert r[0] == pytest.approx(np.corrcoef(acts[:, 0], y)[0, 1], abs=1e-6)
    assert r[2] == 0.0
    assert r[1] == pytest.approx(np.corrcoef(acts[:, 1], y)[0, 1], abs=1e-6)


def test_units_sentence_says_what_was_and_was_not_found():
    found = pd.DataFrame({"property": ["inside a quotation", "inside a word"], "unit": [3, 9],
                          "name": ["cell 2.3", "hidden 1.9"], "r": [-0.7, 0.7],
                          "control name": ["cell 1.1", "hidden 2.2"], "control r": [0.1, -0.65],
                          "found": [True, False]})
    text = say.units_sentence(found)
    assert text.startswith("Found, a unit at least 0.2 above the control: inside a quotation "
                           "(cell 2.3, r = -0.70; the control's best +0.10).")
    assert "Not found: inside a word (hidden 1.9, r = +0.70; the control's best -0.65): no unit" in text
    assert "follows it clearly" in text
    assert say.units_sentence(found.assign(found=False)).startswith("No property has a unit")


# ---------------------------------------------------------------- the recorded states


@pytest.mark.parametrize("masks", ["torch", "fast"], ids=["fused", "layer_stack"])
def test_recorded_states_are_the_lstms_and_its_bits_are_char_bits(masks):
    torch.manual_seed(0)
    model = CharRNN(hidden_size=12, n_layers=2, dropout_masks=masks)
    text = "It was the best of times, 'it was' (the worst).\n" * 3
    states = inside.record_states(model, text, slice_len=17)
    assert states.cell.shape == states.hidden.shape == (len(text), 24) and states.n_units == 48
    assert np.isnan(states.bits[0])
    assert states.bits[1:] == pytest.approx(char_bits(model, text), abs=1e-5)
    # the final states are those the model itself carries, layer by layer
    with torch.no_grad():
        _, (h, c) = model(encode(text)[None, :])
    assert states.hidden[-1] == pytest.approx(h[:, 0].reshape(-1).numpy(), abs=1e-5)
    assert states.cell[-1] == pytest.approx(c[:, 0].reshape(-1).numpy(), abs=1e-5)
    assert states.name(0) == "cell 1.0" and states.name(13) == "cell 2.1" and states.name(24) == "hidden 1.0"
    assert np.array_equal(states.column(30), states.hidden[:, 6])


def test_the_control_has_the_shape_of_the_model_and_its_own_weights():
    torch.manual_seed(0)
    model = CharRNN(hidden_size=8, n_layers=3, dropout_masks="fast")
    control = inside.untrained_like(model, seed=5)
    assert (control.hidden_size, control.n_layers, control.vocab_size) == (8, 3, model.vocab_size)
    again = inside.untrained_like(model, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(control.parameters(), again.parameters()))
    before = torch.random.get_rng_state()
    inside.untrained_like(model, seed=6)
    assert torch.equal(before, torch.random.get_rng_state())


def test_unit_views_and_the_surprisal_views_render_a_small_model(tmp_path):
    torch.manual_seed(0)
    model = CharRNN(hidden_size=8, n_layers=1)
    text = 'He said, "Yes (quite)."\nShe & I <said> no.\n' * 4
    states = inside.record_states(model, text)
    labels = inside.label(text)
    found = inside.found_units(inside.unit_search(states, labels), inside.unit_search(states, labels))
    assert not found["found"].any()  # a model is never clearly better than itself
    views = say.unit_views(text, 5, 60, states, found).data
    assert views.count('class="charlm-inside-label"') == 4 and "not found" in views
    surprisal = say.surprisal_views(text, 5, 60, states.bits, states.bits).data
    assert surprisal.count("<pre") == 3 and ">&lt;</i>" in surprisal and "<said>" not in surprisal
    assert re.search(r"mean \d\.\d\d over the passage", html.unescape(surprisal))


def test_live_box_colours_the_typed_text_and_shows_errors_as_text():
    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    model = CharRNN(hidden_size=8, n_layers=2)
    text = 'He said, "Yes (quite)."\n' * 5
    states = inside.record_states(model, text)
    found = inside.found_units(inside.unit_search(states, inside.label(text)),
                               inside.unit_search(inside.record_states(inside.untrained_like(model), text),
                                                  inside.label(text)))
    box = say.live_box(model, found, states, "It was")
    text_box, (pick, number), out = box.children[0], box.children[1].children, box.children[2]
    first = out.value
    assert first.startswith("<style>") and first.count("<pre") == 2 and "title=" in first
    text_box.value = "a <b> & c"
    assert "&lt;" in out.value and "<b>" not in out.value and out.value != first
    pick.value = pick.options[1]
    assert number.value == int(found.iloc[1]["unit"]) and states.name(number.value) in out.value
    number.value = 20
    assert "hidden 1.4" in out.value
    with pytest.raises(Exception, match="unit 32 is outside 0..31"):
        states.name(32)
    text_box.value = "bad \x01"
    assert out.value.startswith('<p style="color:#a00">') and "not in the vocabulary" in out.value


def test_recording_sentence_says_whether_the_pass_kept_to_the_limit():
    rec = say.Recording(None, np.zeros(180_415), {}, 33.64, 3.7, 1)
    text = say.recording_sentence(rec)
    assert "all 180,415 characters" in text and "took 33.6 s with 1 torch thread (within the 60 s" in text
    slow = say.recording_sentence(say.Recording(None, np.zeros(10), {}, 61.0, 1.0, 2))
    assert "2 torch threads (**over** the 60 s allowed)" in slow


def test_consecutive_views_on_one_scale_share_one_legend():
    v = np.ones(3)
    snippet = say.views_html([("a", "abc", v, say.BITS), ("b", "abc", v, say.BITS),
                              ("c", "abc", v, say.UNIT), ("d", "abc", v, say.BITS)])
    assert snippet.count('class="charlm-legend"') == 3  # after b, after c, after d
    assert snippet.index('class="charlm-legend"') > snippet.index(">b<")
