"""The step-wise predictor, code lengths and the compressed file format (tiny models)."""

from __future__ import annotations

import math
import string

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from charlm import codec, coding, machine
from charlm.codec import CodecError, compress, decompress, read_header
from charlm.coding import (CODER_DYNAMIC, FIRST_CHAR_BITS, FLOOR, CodingSettings, Predictor,
                           code_lengths)
from charlm.context_model import ContextSettings
from charlm.corpora import corpus
from charlm.data import decode
from charlm.dynamic import DynamicSettings, dynamic_char_bits, grad_rms
from charlm.errors import ConfigError, DataError
from charlm.evaluate import char_bits
from charlm.mix import MixSettings
from charlm.model import CharRNN, Ensemble
from charlm.stepwise import LSTMStepper, TorchStepper, stepper

TRAIN = corpus()[:20_000]  # the adaptive models' counts and the gradient statistics
TEXT = decode(corpus()[500_000:500_600])
DYN = DynamicSettings(step=1e-3, segment=7, stat_streams=4, stat_chars=200)
MIX = MixSettings(context=ContextSettings(max_order=4, match_min=5, low_order=2), lr=0.01,
                  weights_by="match+confidence+order", init=(1.0, 0.2, 0.1, 0.1))
MODES = {"static": CodingSettings(), "dynamic": CodingSettings(DYN),
         "mix": CodingSettings(mix=MIX), "dynamic+mix": CodingSettings(DYN, MIX)}


def tiny(cell: str = "lstm", layers: int = 1, seed: int = 0) -> CharRNN:
    torch.manual_seed(seed)
    model = CharRNN(16, layers, cell=cell).eval()
    with torch.no_grad():  # sharper than a fresh model's near-uniform guesses
        model.decoder.weight.mul_(8)
    return model


# ------------------------------------------------------------------ the network, step by step


@pytest.mark.parametrize("model", [tiny(), tiny(layers=2), tiny("gru"), Ensemble([tiny(), tiny(seed=1)])],
                         ids=["lstm", "lstm2", "gru", "ensemble"])
def test_static_steps_give_the_batched_scores(model):
    net = stepper(model)
    assert isinstance(net, LSTMStepper if isinstance(model, CharRNN) and model.cell == "lstm"
                      else TorchStepper)
    data = corpus()[1000:1300]
    net.push(int(data[0]))
    bits = []
    for s in data[1:].tolist():
        bits.append(-net.log_probs()[s] / math.log(2))
        net.push(s)
    np.testing.assert_allclose(bits, char_bits(model, data), atol=2e-5)


def test_the_hand_written_backward_is_autograd():
    model = tiny(layers=2)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3)  # away from the linear regime, where mistakes would hide
    net = LSTMStepper(model, DYN, rms=[torch.ones_like(p) for p in model.parameters()])
    data = corpus()[3000:3010].tolist()
    net._segment_start()
    for s in data[:9]:
        net._step(s)
    grads = net._gradient(data[:9], data[1:10])
    logits, _ = model(torch.tensor([data[:9]]), None)
    loss = F.cross_entropy(logits[0], torch.tensor(data[1:10]))
    want = dict(zip([n for n, _ in model.named_parameters()],
                    torch.autograd.grad(loss, list(model.parameters()))))
    assert len(grads) == len(net._names) == len(want) - model.n_layers
    for name, g in zip(net._names, grads):  # each layer's two matrices side by side
        w = torch.cat([want[name], want[name.replace("ih", "hh")]], 1) if "weight_ih" in name \
            else want[name]
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_dynamic_steps_give_dynamic_evaluation(cell):
    model = tiny(cell, layers=2)
    data = corpus()[1000:1400]
    rms = grad_rms(model, TRAIN, DYN.segment, DYN.stat_streams, DYN.stat_chars)
    want = dynamic_char_bits(model, data, TRAIN, DYN, rms=rms)
    got = code_lengths(model, data, TRAIN, CodingSettings(DYN), rms=rms)
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert abs(got.mean() - char_bits(model, data).mean()) > 0.01  # it did adapt


def test_the_model_is_never_changed():
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    code_lengths(model, TEXT[:300], TRAIN, MODES["dynamic+mix"])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# ------------------------------------------------------------------ code lengths


@pytest.mark.parametrize("mode", MODES)
def test_each_bit_depends_only_on_the_characters_before_it(mode):
    a = TEXT[:400]
    b = a[:300] + ("X" if a[300] != "X" else "Y") + a[301:]
    assert a != b
    bits_a = code_lengths(tiny(), a, TRAIN, MODES[mode])
    bits_b = code_lengths(tiny(), b, TRAIN, MODES[mode])
    # bits[t] is character t + 1's: the first 299 do not see character 300
    assert np.array_equal(bits_a[:299], bits_b[:299])
    assert bits_a[299] != bits_b[299]


def test_mixing_learns_what_the_network_does_not_know():
    text = "abracadabra, said the magician; abracadabra! " * 8
    static = code_lengths(tiny(), text, TRAIN)
    mixed = code_lengths(tiny(), text, TRAIN, MODES["mix"])
    assert mixed.mean() < static.mean() - 1.0


def test_probabilities_are_floored_and_sum_to_one():
    predictor = Predictor(tiny(), TRAIN, MODES["dynamic+mix"])
    predictor.start(5)
    for s in (5, 5, 5, 17, 5):
        p = predictor.distribution()
        assert p.dtype == np.float64 and abs(p.sum() - 1) < 1e-12 and p.min() >= FLOOR * 0.99
        assert np.array_equal(p, predictor.distribution())  # asking twice changes nothing
        predictor.update(s)


def test_mixing_and_dynamic_evaluation_need_the_training_text():
    with pytest.raises(ConfigError, match="training text"):
        code_lengths(tiny(), TEXT[:50], None, MODES["mix"])
    with pytest.raises(DataError, match="at least 2"):
        code_lengths(tiny(), "a", TRAIN)


# ------------------------------------------------------------------ the compressed file

ODD_TEXTS = {
    "empty": "", "one": "Q", "two": "ab", "spaces": " " * 50, "repeat": "a" * 300,
    "vocabulary": string.printable * 2, "unseen": "\x0b\x0c~`|" * 5,
    "crlf": "line one\r\nline two\r\n\tend\r\n", "prose": TEXT,
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ODD_TEXTS)
def test_round_trip_is_exact(mode, name):
    text, model = ODD_TEXTS[name], tiny()
    packed = compress(model, text, TRAIN, MODES[mode])
    assert decompress(model, packed.data, TRAIN) == text
    assert read_header(packed.data).settings == MODES[mode]


@pytest.mark.parametrize("threads", [1, 2])
def test_the_decoder_takes_the_thread_count_the_file_records(threads, monkeypatch):
    model = tiny()
    packed = compress(model, TEXT[:200], TRAIN, MODES["dynamic+mix"], threads=threads)
    assert read_header(packed.data).threads == threads
    used = []
    real = coding.torch_threads
    monkeypatch.setattr(codec, "torch_threads", lambda n: used.append(n) or real(n))
    assert decompress(model, packed.data, TRAIN) == TEXT[:200]
    assert used == [threads]


def test_coding_takes_a_second_thread_only_when_two_cores_are_free(monkeypatch):
    monkeypatch.setattr(machine, "usable_cores", lambda: 2)
    monkeypatch.setattr(machine.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert coding.coding_threads() == 2
    monkeypatch.setattr(machine.os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # one core busy
    assert coding.coding_threads() == 1
    monkeypatch.setattr(machine, "usable_cores", lambda: 1)
    monkeypatch.setattr(machine.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert coding.coding_threads() == 1


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_round_trip_with_other_cells(cell):
    model = tiny(cell, layers=2)
    packed = compress(model, TEXT[:300], TRAIN, MODES["dynamic+mix"])
    assert decompress(model, packed.data, TRAIN) == TEXT[:300]


@pytest.mark.parametrize("mode", MODES)
def test_the_coder_codes_the_code_lengths(mode):
    model = tiny()
    packed = compress(model, TEXT, TRAIN, MODES[mode])
    assert np.array_equal(packed.bits, code_lengths(model, TEXT, TRAIN, MODES[mode]))
    predicted = (FIRST_CHAR_BITS + packed.bits.sum()) / 8
    assert packed.predicted_bytes == pytest.approx(predicted)
    head = read_header(packed.data)
    payload = len(head.payload)
    assert predicted - 1 <= payload <= predicted + 8  # the coder adds a word at most
    # besides the payload: the header and the settings changed from their defaults
    assert len(packed.data) == payload + codec.OVERHEAD + head.changes


def test_default_settings_cost_the_fixed_header_only():
    packed = compress(tiny(), "", TRAIN, CodingSettings(CODER_DYNAMIC, MixSettings()))
    assert len(packed.data) == codec.OVERHEAD


def test_another_checkpoint_is_refused_naming_both_digests():
    packed = compress(tiny(), TEXT[:100])
    other = tiny(seed=5)
    with pytest.raises(CodecError, match="digest") as info:
        decompress(other, packed.data)
    message = str(info.value)
    assert codec.weights_digest(tiny()).hex() in message and codec.weights_digest(other).hex() in message


def test_another_training_text_is_refused():
    packed = compress(tiny(), TEXT[:100], TRAIN, MODES["mix"])
    with pytest.raises(CodecError, match="training text"):
        decompress(tiny(), packed.data, corpus()[:20_001])
    with pytest.raises(CodecError, match="needs the training text"):
        decompress(tiny(), packed.data, None)


def test_damaged_files_are_refused():
    data = compress(tiny(), TEXT[:200], TRAIN, MODES["mix"]).data
    cases = {
        b"": "empty", b"CL": "truncated", b"PK\x03\x04 whatever": "not a charlm compressed file",
        data[:30]: "truncated", data[:-1]: "truncated", data + b"\0": "after its end",
        data[:3] + b"\x07" + data[4:]: "format version 7",
    }
    for i in (6, 20, len(data) // 2, len(data) - 6):  # header and payload, each byte matters
        cases[data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1:]] = "damaged|truncated|after its end"
    for blob, message in cases.items():
        with pytest.raises(CodecError, match=message):
            decompress(tiny(), blob, TRAIN)


def test_a_decoder_whose_arithmetic_differs_fails_the_crc(monkeypatch):
    model = tiny()
    packed = compress(model, TEXT[:300])
    nudged = tiny()
    with torch.no_grad():
        nudged.decoder.bias.add_(1e-3)  # another machine's rounding, writ large
    monkeypatch.setattr(codec, "weights_digest", lambda m: read_header(packed.data).weights)
    with pytest.raises(CodecError, match="arithmetic differs"):
        decompress(nudged, packed.data)


def test_settings_this_version_does_not_reproduce_are_refused(monkeypatch):
    packed = compress(tiny(), TEXT[:50], TRAIN, CodingSettings(CODER_DYNAMIC))
    monkeypatch.setattr(codec, "CODER_DYNAMIC", CODER_DYNAMIC.replace(step=1e-4))
    with pytest.raises(CodecError, match="another version"):
        read_header(packed.data)


def test_text_outside_the_vocabulary_is_refused_not_transliterated():
    with pytest.raises(DataError, match="position 3"):
        compress(tiny(), "caf\u00e9")
