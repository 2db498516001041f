import math

import pytest
import torch
import torch.nn.functional as F

from charlm import (CharRNN, ConfigError, TrainConfig, bpc, build_model, encode,
                    generate, load_checkpoint, save_checkpoint, train)
from charlm.checkpoint import Checkpoint
from charlm.data import VOCAB_SIZE


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_output_shapes(cell):
    model = CharRNN(hidden_size=12, n_layers=2, cell=cell)
    logits, state = model(torch.zeros(3, 7, dtype=torch.long))
    assert logits.shape == (3, 7, VOCAB_SIZE)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (2, 3, 12)


def test_whole_sequence_equals_step_by_step():
    """One recurrent call over the sequence = feeding characters one at a time with the state."""
    torch.manual_seed(0)
    model = CharRNN(hidden_size=8, n_layers=2).eval()
    x = encode("Hello, Dickens")[None, :]
    full, _ = model(x)
    state, steps = None, []
    for t in range(x.shape[1]):
        out, state = model(x[:, t:t + 1], state)
        steps.append(out)
    assert torch.allclose(full, torch.cat(steps, dim=1), atol=1e-6)


def test_initial_loss_is_about_ln_100():
    torch.manual_seed(0)
    model = build_model(TrainConfig())
    x = encode("It was the best of times, it was the worst of times, it was the age of wisdom")
    logits, _ = model(x[None, :-1])
    loss = F.cross_entropy(logits[0], x[1:])
    assert abs(loss.item() - math.log(100)) < 0.1


def test_tiny_model_overfits_a_repeated_string():
    data = encode("the cat sat on the mat. " * 40)
    cfg = TrainConfig(n_epochs=150, hidden_size=32, n_layers=1, lr=0.01, chunk_len=40,
                      batch_size=4, print_every=1000, plot_every=10)
    result = train(cfg, data, verbose=False, progress=False)
    assert result.status == "ok" and result.iterations == 150
    assert result.history[0] > 3.0 and result.final_loss < 0.3
    assert bpc(result.model, "the cat sat on the mat. the cat sat on the mat.") < 0.5


def _zero_decoder_model() -> CharRNN:
    model = CharRNN(hidden_size=8, n_layers=1)
    torch.nn.init.zeros_(model.decoder.weight)
    torch.nn.init.zeros_(model.decoder.bias)
    return model


def test_bpc_of_uniform_model_is_log2_100():
    assert abs(bpc(_zero_decoder_model(), "Some text to score, any text at all.") - math.log2(100)) < 1e-9


def test_bpc_is_mean_cross_entropy_over_ln2_and_independent_of_slice():
    torch.manual_seed(1)
    model = CharRNN(hidden_size=16, n_layers=2).eval()
    text = "It was the best of times, it was the worst of times. " * 8
    x = encode(text)
    logits, _ = model(x[None, :-1])
    expected = F.cross_entropy(logits[0].double(), x[1:]).item() / math.log(2)
    values = [bpc(model, text, slice_len=s) for s in (1, 7, 64, 10_000)]
    for v in values:
        assert abs(v - expected) < 1e-5


def test_bpc_needs_two_characters():
    with pytest.raises(ValueError, match="at least 2"):
        bpc(_zero_decoder_model(), "a")


def test_seeded_sampling_repeats_and_feeds_prefix_once():
    torch.manual_seed(0)
    model = CharRNN(hidden_size=16, n_layers=1)
    a = generate(model, "The ", 50, 0.8, seed=7)
    b = generate(model, "The ", 50, 0.8, seed=7)
    c = generate(model, "The ", 50, 0.8, seed=8)
    assert a == b and a != c and a.startswith("The ") and len(a) == 54
    assert generate(model, "The ", 20, greedy=True) == generate(model, "The ", 20, greedy=True)


def test_low_temperature_approaches_greedy():
    torch.manual_seed(0)
    model = CharRNN(hidden_size=16, n_layers=1)
    assert generate(model, "A", 30, 1e-4, seed=3) == generate(model, "A", 30, greedy=True)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "hot", None])
def test_temperature_validation(bad):
    model = CharRNN(hidden_size=8, n_layers=1)
    with pytest.raises(ConfigError, match="temperature must be a finite number > 0"):
        generate(model, "A", 5, bad)


@pytest.mark.parametrize("n", [-1, 10**9, 2.5])
def test_predict_len_validation(n):
    with pytest.raises(ConfigError, match="predict_len must be an integer from 0 to 100,000"):
        generate(CharRNN(hidden_size=8, n_layers=1), "A", n, 1.0)


def test_prime_validation():
    model = CharRNN(hidden_size=8, n_layers=1)
    with pytest.raises(ConfigError, match="non-empty"):
        generate(model, "", 5)
    with pytest.raises(ValueError, match=r"'\\x01'.*position 2"):
        generate(model, "ab\x01", 5)
    assert generate(model, "caf\u00e9", 3, seed=0).startswith("cafe")


def test_save_load_gives_identical_logits(tmp_path, tiny):
    result = train(tiny, encode("abcdefghij" * 30), verbose=False, progress=False)
    path = save_checkpoint(tmp_path / "m.pt", Checkpoint(result.model, tiny, result.history,
                                                         result.meta()))
    ckpt = load_checkpoint(path)
    x = encode("hello world")[None, :]
    assert torch.equal(result.model(x)[0], ckpt.model(x)[0])
    assert ckpt.config == tiny and ckpt.history == result.history
    assert ckpt.meta["torch_version"] == torch.__version__ and ckpt.meta["seed"] == tiny.seed
    assert not list(tmp_path.glob("*.tmp"))  # atomic write left no temporary file


def test_same_seed_same_losses(tiny):
    data = encode("It was the best of times, it was the worst of times. " * 20)
    a = train(tiny, data, verbose=False, progress=False)
    b = train(tiny, data, verbose=False, progress=False)
    c = train(tiny.replace(seed=99), data, verbose=False, progress=False)
    assert a.history == b.history and a.log == b.log
    assert a.history != c.history


def test_diverging_run_is_marked_with_history_kept():
    data = encode("It was the best of times, it was the worst of times. " * 20)
    cfg = TrainConfig(n_epochs=200, hidden_size=16, n_layers=1, lr=1e3, chunk_len=50,
                      plot_every=1, print_every=100)
    result = train(cfg, data, verbose=False, progress=False)
    assert result.status == "diverged" and result.diverged_at is not None
    assert result.iterations == result.diverged_at - 1 == len(result.history)
    assert "diverged" in result.log[-1]


def test_config_validation_names_the_field():
    for kw, pat in [({"n_epochs": 0}, "n_epochs"), ({"hidden_size": -3}, "hidden_size"),
                    ({"lr": 0}, "lr"), ({"lr": float("inf")}, "lr"), ({"cell": "tcn"}, "cell"),
                    ({"plot_every": 0}, "plot_every"), ({"dropout": 1.0}, "dropout")]:
        with pytest.raises(ConfigError, match=pat):
            TrainConfig(**kw)
    with pytest.raises(ConfigError, match="unknown key 'hiden_size'"):
        TrainConfig.from_dict({"hiden_size": 3})
    with pytest.raises(ConfigError, match="'n_layers' must be int"):
        TrainConfig.from_dict({"n_layers": "two"})
    # text that writes a number is that number (YAML 1.1 reads 1e-3 as text): one parser
    assert TrainConfig.from_dict({"n_layers": "2", "lr": "1e-3"}).n_layers == 2


def test_chunk_len_larger_than_corpus():
    with pytest.raises(ConfigError, match="chunk_len 500 is larger than the corpus"):
        train(TrainConfig(chunk_len=500), encode("tiny corpus"), verbose=False, progress=False)


def test_cuda_asked_for_without_one():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="no CUDA device"):
        train(TrainConfig(device="cuda", n_epochs=1), encode("abc" * 100), verbose=False)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_dropout_acts_on_the_output_in_training_only(n_layers):
    torch.manual_seed(0)
    model = CharRNN(hidden_size=16, n_layers=n_layers, dropout=0.5)
    plain = CharRNN(hidden_size=16, n_layers=n_layers)
    assert model.state_dict().keys() == plain.state_dict().keys()  # same checkpoint format
    x = torch.randint(0, VOCAB_SIZE, (2, 12))
    model.train()
    a, _ = model(x)
    b, _ = model(x)
    assert not torch.equal(a, b)  # dropped even with one layer: on the top layer's output
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])


def test_adam_steps_after_a_run_of_zero_gradients_match_the_formula_in_4_1():
    # 4.1 says: long after the start, the k-th of k equal gradients after zeros moves a weight by
    # about lr (1 - b1^k) / sqrt(1 - b2^k): 3.2 lr for k = 1, about 6.5 lr near k = 12, 4.5 at 50
    import torch

    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([w], lr=1.0)
    w.grad = torch.ones(1)
    opt.step()  # one early gradient, so the bias corrections have faded by the burst
    for _ in range(5000):
        w.grad = torch.zeros(1)
        opt.step()
    steps = []
    for _ in range(50):
        before = float(w.detach())
        w.grad = torch.ones(1)
        opt.step()
        steps.append(before - float(w.detach()))
    b1, b2 = 0.9, 0.999
    for k in (1, 12, 50):
        assert abs(steps[k - 1] - (1 - b1 ** k) / (1 - b2 ** k) ** 0.5) < 0.25, (k, steps[k - 1])
    assert 6.0 < max(steps) < 7.0 and 10 <= steps.index(max(steps)) + 1 <= 14
