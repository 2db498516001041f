"""Inside the model (notebook 07 and Appendix G): the coloured text, the kinds of character, the
labellers, the recorded states, the unit search, the results kept and the facts the prose states."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import torch

from charlm import inside
from charlm.baselines import TRAINING, ADAPTS, NgramChoice, Yardstick
from charlm.checkpoint import Checkpoint
from charlm.config import TrainConfig
from charlm.corpora import TEST_FILE, corpus_text
from charlm.data import encode
from charlm.evaluate import char_bits
from charlm.model import CharRNN
from charlm.report.sections import inside as say
from charlm.studies import inside as study


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
    assert study.passage("x" * 1000, 100, 400) == (100, 500)
    assert study.passage("x" * 300, 100, 400) == (0, 300)
    assert study.passage("x" * 1000, 900, 400) == (600, 1000)


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
           "Kneser-Ney 5-gram": [4.0, 1.6, 5.0, 9.0, 0.6, 3.2, 3.5]}
    cols = {"kind": [*inside.KINDS, "all"], "chars": [*chars, chars.sum()],
            "share of chars": [*(chars / chars.sum()), 1.0]}
    for name, b in bpc.items():
        sums = chars * np.array(b)
        cols[f"{name} BPC"] = [*b, sums.sum() / chars.sum()]
        cols[f"{name} share of bits"] = [*(sums / sums.sum()), 1.0]
    return pd.DataFrame(cols)


def test_the_kind_facts_are_read_from_the_table():
    a = study.kind_facts(_kinds_frame(), "Kneser-Ney 5-gram", "default", "best")
    assert (repr(a.first_chars), repr(a.first_bits), repr(a.first_bpc)) == ("16%", "33%", "3.80")
    assert a.first_ratio == pytest.approx(a.first_bits / a.first_chars) and repr(a.inner_bpc) == "1.50"
    # the saving: inside-word letters 570 * 0.8 = 456 of the 672.9 bits saved in all
    assert a.top == "letters inside words" and a.top_share == pytest.approx(456 / 672.9)
    assert (repr(a.top_from), repr(a.top_to)) == ("2.30", "1.50")
    assert a.steep == "newlines" and (repr(a.steep_from), repr(a.steep_to)) == ("3.30", "0.90")
    # against the n-gram: the 1-character digit row (7.4 against 9.0) is too rare to count
    assert (a.ahead, repr(a.ahead_by), a.ahead_lead) == ("newlines", "+2.30", "ahead of")
    assert (a.behind, repr(a.behind_by), a.behind_lead) == ("spaces", "+0.07", "ahead of")
    assert a.ngram == "Kneser-Ney 5-gram" and int(a.ngram_context) == 4 and repr(a.digits) == "1" and repr(a.min_share) == "1%"
    assert a.saving == pytest.approx(672.9 / 1000)


def test_the_verdicts_of_the_prose_on_each_branch():
    assert (study.direction(0.3), study.direction(-0.3), study.direction(0.0)) == ("more", "fewer", "fewer")
    assert (study.lead(0.07), study.lead(-0.1), study.lead(0.0)) == ("ahead of", "behind", "behind")
    assert (study.verdict(True), study.verdict(False)) == ("found", "not found")
    rising, falling = study.line_course(0.9, True), study.line_course(-0.97, True)
    assert rising.startswith("rises") and falling.startswith("falls") and rising != falling
    assert study.line_course(-0.97, False) == study.line_course(0.9, False) not in (rising, falling)
    behind = _kinds_frame()
    behind.loc[4, "Kneser-Ney 5-gram BPC"] = 0.4  # the n-gram beats the best model on spaces
    assert study.kind_facts(behind, "Kneser-Ney 5-gram", "default", "best").behind_lead == "behind"


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


def _found() -> pd.DataFrame:
    return pd.DataFrame({"property": ["inside a quotation", "characters since newline", "inside a word",
                                      "inside parentheses"], "unit": [3, 245, 9, 1],
                         "name": ["cell 2.3", "cell 2.245", "hidden 1.9", "cell 1.1"],
                         "r": [-0.7, -0.97, 0.7, 0.3], "control name": ["cell 1.1", "cell 1.2", "hidden 2.2", "cell 1.0"],
                         "control r": [0.1, 0.5, -0.65, 0.25], "found": [True, True, False, False]})


def test_the_unit_facts_give_each_propertys_verdict_and_what_its_name_says():
    u = study.unit_facts(_found())
    assert (int(u.n_found), int(u.n_properties), repr(u.margin)) == (2, 4, "0.2")
    assert (u.line.state, int(u.line.layer), int(u.line.index)) == ("cell", 2, 245)
    assert (repr(u.line.r), u.line.sign, u.line.verdict, repr(u.line.control_r)) == ("-0.97", "-1", "found", "+0.50")
    assert u.line.course == study.line_course(-0.97, True)
    assert (u.word.verdict, u.word.found, u.word.sign, u.word.state) == ("not found", False, "+1", "hidden")
    assert u.quotation.name == "cell 2.3" and u.parentheses.control_name == "cell 1.0"
    with pytest.raises(Exception, match="unit facts need the properties"):
        study.unit_facts(_found().iloc[:3])


def test_passage_facts_find_the_largest_differences_and_their_direction():
    text = "Oh no, he said\nwell.\n"
    default = np.concatenate([[np.nan], np.ones(len(text) - 1)])
    best = default.copy()
    best[text.index("s")] = 4.0  # +3: the best model pays more on the "s" of "said"
    best[text.index("\n")] = 0.5  # -0.5 on the first line break
    best[len(text) - 1] = -1.0  # -2 on the last
    p = study.passage_facts(text, 0, len(text), default, best)
    assert (int(p.start), int(p.stop), int(p.length), int(p.line_breaks)) == (0, len(text), len(text), 2)
    assert (p.largest.where, repr(p.largest.size), p.largest.direction) == ("\u201cs\u201d of \u201csaid\u201d", "3.00", "more")
    assert (p.second.where, repr(p.second.size), p.second.direction) == ("the line break after \u201cwell\u201d", "2.00", "fewer")
    assert (repr(p.newline_size), p.newline_direction) == ("1.25", "fewer")
    # first letters of words (the capital O is a kind of its own): n, h, s, w
    assert (repr(p.first_default), repr(p.first_best)) == ("1.00", "1.75")
    assert repr(p.default_mean) == "1.00" and repr(p.best_mean) == f"{np.nanmean(best):.2f}"


def test_where_names_a_character_by_its_word():
    text = "'I don't,' (said) he\n"
    assert study.where(text, text.index("t")) == "\u201ct\u201d of \u201cdon't\u201d"
    assert study.where(text, text.index(",")) == "\u201c,\u201d after \u201cdon't\u201d"
    assert study.where(text, text.index("\n")) == "the line break after \u201che\u201d"
    assert study.where(text, 2) == "the space after \u201cI\u201d"
    assert study.where(text, 0) == "\u201c'\u201d"  # nothing before it


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
    assert 0 <= states.cell_check < 1e-5  # the same check, made by every recording
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
    rec = study.keep(states, labels, states.bits)
    found = inside.found_units(rec.search, inside.unit_search(states, labels))
    assert not found["found"].any()  # a model is never clearly better than itself
    views = say.unit_views(text, 5, 60, rec, found).data
    assert views.count('class="charlm-inside-label"') == 4 and "not found" in views
    surprisal = say.surprisal_views(text, 5, 60, states.bits, states.bits).data
    assert surprisal.count("<pre") == 3 and ">&lt;</i>" in surprisal and "<said>" not in surprisal
    assert "best model minus default model" in html.unescape(surprisal)


def test_live_box_colours_the_typed_text_and_shows_errors_as_text():
    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    model = CharRNN(hidden_size=8, n_layers=2)
    text = 'He said, "Yes (quite)."\n' * 5
    states = inside.record_states(model, text)
    found = inside.found_units(inside.unit_search(states, inside.label(text)),
                               inside.unit_search(inside.record_states(inside.untrained_like(model), text),
                                                  inside.label(text)))
    box = say.live_box(model, found, study.keep(states, inside.label(text), states.bits), "It was")
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


def test_consecutive_views_on_one_scale_share_one_legend():
    v = np.ones(3)
    snippet = say.views_html([("a", "abc", v, say.BITS), ("b", "abc", v, say.BITS),
                              ("c", "abc", v, say.UNIT), ("d", "abc", v, say.BITS)])
    assert snippet.count('class="charlm-legend"') == 3  # after b, after c, after d
    assert snippet.index('class="charlm-legend"') > snippet.index(">b<")


# ---------------------------------------------------------------- the results kept


def test_what_a_recording_keeps_is_what_the_views_need():
    torch.manual_seed(0)
    model = CharRNN(hidden_size=8, n_layers=2)
    text = 'He said, "Yes (quite)."\nShe & I <said> no.\n' * 4
    states = inside.record_states(model, text)
    rec = study.keep(states, inside.label(text), states.bits * 2)
    assert rec.n_units == states.n_units == 32 and rec.name(20) == states.name(20) == "hidden 1.4"
    assert rec.scales == pytest.approx([np.quantile(np.abs(states.column(j)), 0.99) for j in range(32)])
    for j in rec.search["unit"]:
        assert np.array_equal(rec.traces[j], states.column(j))
    assert len(rec.traces) <= len(inside.PROPERTIES) and np.array_equal(rec.default_bits[1:], states.bits[1:] * 2)
    assert rec.cell_check == states.cell_check
    silent = inside.States(np.zeros((5, 2), np.float32), np.zeros((5, 2), np.float32), np.zeros(5), 1)
    assert list(study.unit_scales(silent)) == [1.0] * 4  # a unit that never moves keeps its values


def _checkpoint(seed: int) -> Checkpoint:
    torch.manual_seed(seed)
    cfg = TrainConfig(hidden_size=8, n_layers=2, seed=seed)
    return Checkpoint(CharRNN(hidden_size=8, n_layers=2), cfg, meta={"key": f"tiny-{seed}"})


def _yardsticks(corpus: str):
    n = len(corpus_text(corpus))
    rows = [Yardstick("Kneser-Ney 2-gram", TRAINING, {corpus: 3.1}, 0.1, {corpus: np.full(n - 1, 3.1)}),
            Yardstick("Kneser-Ney 3-gram", TRAINING, {corpus: 2.9}, 0.1, {corpus: np.full(n - 1, 2.9)}),
            Yardstick("PPMd order 4", ADAPTS, {corpus: 2.5}, 0.1),
            Yardstick("zlib -9", ADAPTS, {corpus: 3.3}, 0.1)]
    return rows, NgramChoice(order=2, valid_bpc={2: 3.0, 3: 3.05}, valid_chars=100)


def test_the_study_is_computed_once_and_read_by_both_notebooks(monkeypatch):
    monkeypatch.setattr(study, "report_yardsticks", lambda: _yardsticks(TEST_FILE))
    best, default = _checkpoint(1), _checkpoint(2)
    models = type("Models", (), {"best": best, "coursework": default})()
    first = study.inside_study(models, seed=0, corpus=TEST_FILE)
    for fn, args in ((study.recording, (best, default, TEST_FILE)), (study.control_search, (best, 0, TEST_FILE)),
                     (study.kinds_table, (best, default, TEST_FILE))):
        assert fn.entry(*args).is_file()  # kept, under the key of these models and corpus
    monkeypatch.setattr(study, "record_states", None)  # a second reader records nothing
    again = study.inside_study(models, seed=0, corpus=TEST_FILE)
    assert np.array_equal(first.recording.best_bits, again.recording.best_bits, equal_nan=True)
    assert again.ngram == "Kneser-Ney 2-gram" and list(again.kinds.columns)[3:] == [
        "default model BPC", "default model share of bits", "best model BPC", "best model share of bits",
        "Kneser-Ney 2-gram BPC", "Kneser-Ney 2-gram share of bits"]
    assert first.recording.best_bits[1:] == pytest.approx(char_bits(best.model, corpus_text(TEST_FILE)), abs=1e-5)
    g = study.detail_facts(again)
    assert (g.ngram, int(g.ngram_order), repr(g.ngram_valid), repr(g.ngram_bpc)) == ("Kneser-Ney 2-gram", 2, "3.000", "3.100")
    assert (g.file_best, repr(g.file_best_bpc), g.compressor, repr(g.compressor_bpc)) == (
        "Kneser-Ney 3-gram", "2.900", "PPMd order 4", "2.500")
    text = corpus_text(TEST_FILE)
    assert int(g.line_width) == max(map(len, text.split("\n"))) and int(g.chars) == len(text)
    assert g.parentheses == pytest.approx(inside.in_parentheses(text).mean()) and g.cell_check < 1e-5
    assert repr(g.scale_quantile) == "99%" and repr(g.margin) == "0.2"
