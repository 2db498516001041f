"""Top-k and top-p (nucleus) sampling: the distribution they draw from, their checks, greedy
decoding as their limit, the command line, the study's rows and the report's pieces."""

import math

import numpy as np
import pytest
import torch

from charlm import CharRNN, TrainConfig, generate, train
from charlm.corpora import corpus, corpus_text
from charlm.errors import ConfigError
from charlm.report.plots import plot_cut_metrics
from charlm.report.sections.temperature import cut_rows, cut_table
from charlm.sample import check_top_k, check_top_p, sampling_probs
from charlm.studies.sampling_facts import cut_facts
from charlm.studies.temperature import (sampling_entropy, summarise, temperature_table,
                                        truncation_samples, word_vocabulary)
from conftest import run_cli

SCORES = torch.tensor([2.0, 1.0, 0.0, -1.0])  # softmax: 0.6439, 0.2369, 0.0871, 0.0321


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(3)
    cfg = TrainConfig(n_epochs=60, hidden_size=16, n_layers=1, lr=0.02, chunk_len=50,
                      batch_size=4, print_every=1000, seed=7)
    return train(cfg, corpus(), verbose=False, progress=False).model


def test_no_cut_is_the_plain_softmax_of_the_scores_over_t():
    assert torch.allclose(sampling_probs(SCORES, 0.5), torch.softmax(SCORES.double() / 0.5, -1))


def test_top_k_keeps_the_k_likeliest_and_renormalises():
    p = torch.softmax(SCORES.double(), -1)
    got = sampling_probs(SCORES, 1.0, top_k=2)
    assert torch.allclose(got, torch.tensor([p[0], p[1], 0, 0], dtype=torch.float64) / (p[0] + p[1]))
    assert torch.equal(sampling_probs(SCORES, 1.0, top_k=4), sampling_probs(SCORES, 1.0))


def test_top_p_keeps_the_smallest_set_holding_p():
    p = torch.softmax(SCORES.double(), -1)  # cumulative: 0.644, 0.881, 0.968, 1
    # 0.8: the first alone holds 0.644 < 0.8, the first two 0.881 >= 0.8: keep two
    assert torch.allclose(sampling_probs(SCORES, 1.0, top_p=0.8),
                          torch.tensor([p[0], p[1], 0, 0], dtype=torch.float64) / (p[0] + p[1]))
    # 0.9: three are needed (0.881 < 0.9)
    assert (sampling_probs(SCORES, 1.0, top_p=0.9) > 0).tolist() == [True, True, True, False]
    # below the likeliest probability: only it is kept (greedy)
    assert sampling_probs(SCORES, 1.0, top_p=0.3).tolist() == [1.0, 0.0, 0.0, 0.0]


def test_the_cuts_apply_after_the_temperature_and_together():
    # at T = 0.5 the first holds 0.858: top-p 0.8 keeps it alone
    assert sampling_probs(SCORES, 0.5, top_p=0.8).tolist() == [1.0, 0.0, 0.0, 0.0]
    both = sampling_probs(SCORES, 1.0, top_k=2, top_p=0.9)  # top-p keeps 3, top-k 2: keep 2
    assert (both > 0).tolist() == [True, True, False, False]
    assert math.isclose(float(both.sum()), 1.0)


def test_probabilities_sum_to_one_over_a_batch_of_score_rows():
    scores = torch.randn(7, 100, generator=torch.Generator().manual_seed(0)) * 3
    for k, p in ((0, 0.9), (5, 1.0), (20, 0.5)):
        got = sampling_probs(scores, 0.8, top_k=k, top_p=p)
        assert torch.allclose(got.sum(-1), torch.ones(7, dtype=torch.float64))
        if k:
            assert ((got > 0).sum(-1) <= k).all()


@pytest.mark.parametrize("bad", [-1, 101, 2.5, "x", True, None])
def test_bad_top_k_is_a_one_line_config_error(bad):
    with pytest.raises(ConfigError, match="top_k must be an integer from 1 to 100"):
        check_top_k(bad)


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, float("nan"), float("inf"), "x", True, None])
def test_bad_top_p_is_a_one_line_config_error(bad):
    with pytest.raises(ConfigError, match=r"top_p must be a number in \(0, 1\]"):
        check_top_p(bad)


def test_strings_from_the_command_line_are_accepted():
    assert check_top_k("5") == 5 and check_top_p("0.9") == 0.9 and check_top_p(1) == 1.0
    assert check_top_k(5.0) == 5 and isinstance(check_top_k(5.0), int)


def test_greedy_decoding_is_the_limit_of_both_cuts(model):
    greedy = generate(model, "The ", 80, greedy=True)
    for t in (0.5, 1.0, 2.0):
        assert generate(model, "The ", 80, t, seed=4, top_k=1) == greedy
        assert generate(model, "The ", 80, t, seed=4, top_p=1e-9) == greedy


def test_off_values_leave_sampling_exactly_as_it_was(model):
    plain = generate(model, "The ", 100, 0.8, seed=11)
    assert generate(model, "The ", 100, 0.8, seed=11, top_k=0, top_p=1.0) == plain
    assert generate(model, "The ", 100, 0.8, seed=11, top_k=100) == plain


def test_a_cut_sample_only_holds_characters_the_cut_allows(model):
    text = generate(model, "The ", 150, 1.0, seed=2, top_k=3)
    ids = [ord(c) for c in text]
    assert len(ids) == 154
    # every drawn character is among the 3 likeliest after its context
    from charlm.data import encode
    logits, _ = model.eval()(encode(text)[None, :-1])
    top3 = torch.topk(logits[0, 3:], 3, dim=-1).indices
    drawn = encode(text)[4:]
    assert (top3 == drawn[:, None]).any(-1).all()


def test_generate_refuses_bad_cuts(model):
    with pytest.raises(ConfigError, match="top_k"):
        generate(model, "A", 10, top_k=-3)
    with pytest.raises(ConfigError, match="top_p"):
        generate(model, "A", 10, top_p=0)


def test_sampling_entropy_is_that_of_the_cut_distribution(model):
    sample = generate(model, "It ", 40, 1.0, seed=1, top_k=2)[3:]
    h = sampling_entropy(model, "It ", sample, 1.0, top_k=2)
    assert (h <= 1.0 + 1e-9).all() and (h >= 0).all()  # two characters: at most one bit
    assert np.allclose(sampling_entropy(model, "It ", sample, 1.0, top_k=1), 0.0)


def test_truncation_samples_differ_only_by_the_cut(model):
    got = truncation_samples(model, "The ", "top_p", [0.5, 0.9], predict_len=30, seed=5)
    assert got[0.9] == generate(model, "The ", 30, 1.0, seed=5, top_p=0.9)[4:]
    with pytest.raises(Exception, match="control must be one of"):
        truncation_samples(model, "The ", "top_q", [1])


@pytest.fixture(scope="module")
def cut_table_df(model):
    text = corpus_text("dickens_test.txt")
    return temperature_table(model, word_vocabulary(text), text, temps=[1.0], seeds=range(2),
                             predict_len=60, greedy=False, reference=text, top_ks=[2, 20],
                             top_ps=[0.5, 0.9])


def test_the_study_measures_each_cut_once_per_seed(cut_table_df, model):
    df = cut_table_df
    assert sorted(df.decoding.unique()) == ["reference", "sample", "top_k", "top_p"]
    cuts = df[df.decoding == "top_k"]
    assert sorted(cuts.cut.unique()) == [2, 20] and (cuts.temperature == 1.0).all()
    assert df[df.decoding == "sample"].cut.isna().all()
    row = df[(df.decoding == "top_p") & (df.cut == 0.9) & (df.seed == 1)].iloc[0]
    assert row["prime"] + row["sample"] == generate(model, row["prime"], 60, 1.0, seed=1, top_p=0.9)
    # the entropy of a top-2 sample is at most one bit per character
    assert (df[(df.decoding == "top_k") & (df.cut == 2)].entropy_bits <= 1 + 1e-9).all()


def test_the_report_pieces_of_the_cuts(cut_table_df, isolated_outputs):
    summ = summarise(cut_table_df)
    rows = cut_rows(summ)
    assert rows.decoding.tolist() == ["sample", "top_k", "top_k", "top_p", "top_p"]
    html = cut_table(summ).data
    assert "no cut" in html and "top-k = 2" in html and "top-p = 0.9" in html
    c = cut_facts(summ)
    assert (c.k_tight.cut, c.k_loose.cut, c.p_tight.cut, c.n_k) == (2, 20, 0.5, 2)
    assert c.k_holds == "cannot be checked"  # two cuts of each kind: too few to rank
    fig = plot_cut_metrics(cut_table_df, isolated_outputs / "cut.png")
    assert len(fig.axes) == 6 and (isolated_outputs / "cut.png").is_file()
    for row in fig.axes[2:4]:  # the repeated 4-grams: from 0, one axis for both panels
        assert row.get_ylim()[0] == 0 and row.get_ylim()[1] >= 0.1
    assert fig.axes[2].get_ylim() == fig.axes[3].get_ylim()


def test_cut_facts_rank_the_cuts():
    import pandas as pd
    base = {"n_seeds": 3, "entropy_bits_mean": 1.0, "distinct_chars_mean": 30}
    summ = pd.DataFrame([dict(base, decoding=d, temperature=1.0, cut=c, bpc_mean=b, in_vocab_mean=v,
                              **{f"{m}_{s}": 0.0 for m in ("in_vocab", "distinct_words", "repeat_4gram")
                                 for s in ("min", "max")},
                              distinct_words_mean=0.8, repeat_4gram_mean=0.0)
                         for d, c, b, v in [("sample", np.nan, 2.4, 0.7), ("top_k", 2, 1.5, 0.95),
                                            ("top_k", 10, 2.0, 0.8), ("top_k", 40, 2.3, 0.72),
                                            ("top_p", 0.5, 1.9, 0.9), ("top_p", 0.8, 1.6, 0.85),
                                            ("top_p", 0.95, 1.8, 0.8)]])
    c = cut_facts(summ)
    assert c.k_holds == "holds" and repr(c.k_rho_known) == "-1.00" and repr(c.k_tight.known) == "95%"
    assert c.p_holds == "does not hold" and repr(c.p_rho_bpc) == "-0.50"  # 0.5 scores above 0.8
    assert c.loosening.endswith("for top-p") and repr(c.ks) == "2, 10, 40"
    with pytest.raises(ValueError, match="both kinds of cut"):
        cut_facts(summ[summ.decoding != "top_p"])


@pytest.mark.slow
def test_cli_generate_takes_top_k_and_top_p_and_refuses_bad_values(tmp_path):
    from charlm.checkpoint import Checkpoint, save_checkpoint
    cfg = TrainConfig(hidden_size=8, n_layers=1)
    path = tmp_path / "m.pt"
    save_checkpoint(path, Checkpoint(CharRNN(8, 1), cfg, [], {}))
    greedy = run_cli("generate", "--checkpoint", str(path), "--greedy", "--predict_len", "30")
    cut = run_cli("generate", "--checkpoint", str(path), "--top_k", "1", "--predict_len", "30",
                  "--seed", "3")
    assert greedy.returncode == cut.returncode == 0 and greedy.stdout == cut.stdout
    nucleus = run_cli("generate", "--checkpoint", str(path), "--top_p", "0.9", "--seed", "3")
    assert nucleus.returncode == 0 and nucleus.stdout.startswith("A")
    for flag, value in (("--top_k", "-1"), ("--top_k", "abc"), ("--top_p", "0"), ("--top_p", "2")):
        bad = run_cli("generate", "--checkpoint", str(path), flag, value)
        assert bad.returncode == 2 and bad.stderr.startswith("charlm: error: ")
        assert len(bad.stderr.strip().splitlines()) == 1 and flag[2:] in bad.stderr
