"""Where the test files come from, read from the texts (charlm.studies.data_origin), on small
made-up texts: novels told apart by their chapter headings, parts by per-novel n-grams."""

from __future__ import annotations

import numpy as np
import pytest

from charlm.studies import data_origin as do

COPPERFIELD = "'Peggotty,' said I, 'you are a dear old soul.'\n"
DROOD = "Mr. Jasper looked at the Cathedral tower again. \n"  # a trailing space, as in the file
TWO_CITIES = '  "Mr. Lorry," said the man, "to Tellson\'s!"\n'


def _train() -> str:
    return ("DAVID COPPERFIELD.\n\nCHAPTER 1\nI AM BORN\n\n" + COPPERFIELD * 30
            + "\nCHAPTER 2\n\n" + COPPERFIELD * 30
            + "\n\nCHAPTER I - THE DAWN\n\n" + DROOD * 60
            + "\n                 TALE OF TWO CITIES\n\n  I\n\n  THE PERIOD\n\n" + TWO_CITIES * 60)


def test_headings_of_each_form_are_found_in_order():
    heads = do.headings(_train())
    assert [(form, number) for _, form, number in heads] == [(0, "1"), (0, "2"), (1, "I"), (2, "I")]


def test_novels_split_where_the_headings_change_form_and_start_at_their_titles():
    train = _train()
    novels = do.split_novels(train)
    assert [n.title for n in novels] == list(do.NOVELS)
    assert [n.chapters for n in novels] == [("1", "2"), ("I",), ("I",)]
    assert novels[0].start == 0 and train[novels[1].start:].startswith("CHAPTER I - THE DAWN")
    assert train[novels[2].start:].startswith("                 TALE OF TWO CITIES")
    assert [n.end for n in novels] == [novels[1].start, novels[2].start, len(train)]
    assert do.split_novels("no headings at all") == [do.Novel("", 0, 18, ())]


def test_the_cheapest_labelling_pays_for_each_change():
    costs = np.array([[0.0, 0, 5, 5, 0], [1, 1, 0, 0, 1]])
    assert list(do.cheapest_labels(costs, switch=1.0)) == [0, 0, 1, 1, 0]
    assert list(do.cheapest_labels(costs, switch=100.0)) == [1, 1, 1, 1, 1]  # 3 against 10
    assert len(do.cheapest_labels(np.zeros((2, 0)))) == 0


def test_each_part_goes_to_the_novel_that_codes_it_best():
    train = _train()
    novels = do.split_novels(train)
    test = COPPERFIELD * 15 + TWO_CITIES * 15 + DROOD * 15
    parts = do.attribute(test, train, novels, switch=50.0)
    assert [p.novel for p in parts] == ["David Copperfield", "A Tale of Two Cities",
                                        "The Mystery of Edwin Drood"]
    assert [p.first for p in parts] == [1, len(COPPERFIELD) * 15 + 1,
                                        len(COPPERFIELD + TWO_CITIES) * 15 + 1]
    assert sum(p.chars for p in parts) == len(test)
    assert sum(p.share for p in parts) == pytest.approx(1.0)
    assert all(p.bpc < p.other_bpc for p in parts)
    assert parts[0].names.startswith("Peggotty (15)") and "Lorry" in parts[1].names
    # a change must pay: with a high price everything is one part
    assert len(do.attribute(test, train, novels, switch=1e9)) == 1


def test_chapter_spans_names_and_listings():
    assert do.chapter_span([]) == "none" and do.chapter_span(["XXIII"]) == "XXIII"
    assert do.chapter_span(["60", "61", "64"]) == "60 to 64"
    assert do.own_names("Jasper met Jasper and Durdles", "Jasper Durdles", ["Durdles"]) == "Jasper (2)"
    assert do.own_names("nobody here", "Jasper", []) == "none"
    assert do.listing(["A"]) == "A" and do.listing(["A", "B", "C"]) == "A, B and C"


def test_overlap_and_containment_are_read_from_the_texts():
    train = "".join(chr(97 + i % 26) * 7 for i in range(400))
    large = "x" * 700 + train[:600]
    # passages start at 0, 500 and 1000: the last lies inside the training text
    assert list(do.passage_starts(len(large), 100, 500)) == [0, 500, 1000]
    assert do.shared_passages(large, train, window=100, stride=500) == 1
    assert do.shared_passages("abc" * 100, "zzz", window=10, stride=50) == 0
    assert do.containment(large[:300], large) == "the beginning of"
    assert do.containment(large[695:800], large) == "a passage of"
    assert do.containment("other", large) == "not a part of"


def test_the_facts_of_the_origin():
    train = _train()
    test = COPPERFIELD * 15 + DROOD * 15
    o = do.origin_facts(train, test[:100], test)
    assert o.n_novels == 3 and o.named_by == "Peggotty, Jasper and Lorry"
    assert o.n_parts == o.named_parts == 2
    assert o.titles == "David Copperfield and The Mystery of Edwin Drood"
    assert o.small_place == "the beginning of" and o.scores == "are not independent"
    assert o.small_chars == 100 and o.shared == o.n_passages  # made of training lines
    apart = do.origin_facts(train, "zzz", test)
    assert apart.small_place == "not a part of" and apart.scores == "use different text"
