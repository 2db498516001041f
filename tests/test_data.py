import hashlib
import string

import pytest
import torch

from charlm import VOCAB, DataError, decode, encode, read_text
from charlm.data import normalise, random_chunks
from charlm.fetch import CORPUS_FILES, expected_sums, fetch, verify


def test_vocab_is_string_printable():
    assert VOCAB == string.printable and len(VOCAB) == 100


def test_encode_decode_round_trip():
    text = "It was the best of times,\n\tit was the worst of times! 0-9 ~{}"
    idx = encode(text)
    assert idx.dtype == torch.long and idx.shape == (len(text),)
    assert decode(idx) == text
    assert [VOCAB[i] for i in idx.tolist()] == list(text)  # index in string.printable


def test_unidecode_maps_accents():
    assert normalise("caf\u00e9 na\u00efve \u201cquoted\u201d") == 'cafe naive "quoted"'


def test_out_of_vocabulary_character_is_named_with_position():
    with pytest.raises(DataError, match=r"'\\x01'.*position 3"):
        encode("abc\x01def")


def test_chunks_are_aligned_inputs_and_shifted_targets():
    data = encode("abcdefghijklmnopqrstuvwxyz")
    gen = torch.Generator().manual_seed(0)
    inputs, targets = random_chunks(data, chunk_len=5, batch_size=4, generator=gen)
    assert inputs.shape == targets.shape == (4, 5)
    for x, y in zip(inputs, targets):
        sx, sy = decode(x), decode(y)
        assert sx[1:] == sy[:-1]  # target is input shifted by one
        assert ord(sy[-1]) == ord(sx[-1]) + 1  # consecutive letters: one chunk of 6 characters


def test_chunk_longer_than_corpus_is_an_error():
    with pytest.raises(DataError, match="chunk_len 30"):
        random_chunks(encode("short text"), 30, 1, torch.Generator())


def test_read_text_rejects_binary_and_short(tmp_path):
    (tmp_path / "bin").write_bytes(b"\x00\x01\x02abc")
    (tmp_path / "one").write_text("a")
    (tmp_path / "latin1").write_bytes("caf\u00e9".encode("latin-1"))
    with pytest.raises(DataError, match="not a text file"):
        read_text(tmp_path / "bin")
    with pytest.raises(DataError, match="at least 2"):
        read_text(tmp_path / "one")
    with pytest.raises(DataError, match="not UTF-8"):
        read_text(tmp_path / "latin1")
    with pytest.raises(DataError, match="does not exist"):
        read_text(tmp_path / "missing.txt")


def test_committed_sums_match_the_corpus():
    sums = expected_sums()
    assert set(sums) == set(CORPUS_FILES)
    for name in CORPUS_FILES:
        assert hashlib.sha256(verify(name).read_bytes()).hexdigest() == sums[name]


def test_checksum_mismatch_is_reported_and_good_file_kept(tmp_path):
    mirror, data = tmp_path / "mirror", tmp_path / "data"
    mirror.mkdir()
    for name in CORPUS_FILES:
        (mirror / name).write_bytes(verify(name).read_bytes())
    fetch(data_dir=data, mirror=mirror, quiet=True)
    good = (data / "dickens_test.txt").read_bytes()
    # a corrupted local copy and a corrupted mirror: refused, local bad file not replaced by bad
    (mirror / "dickens_test.txt").write_text("tampered")
    (data / "dickens_test.txt").write_text("also tampered")
    with pytest.raises(DataError) as err:
        fetch(data_dir=data, mirror=mirror, quiet=True)
    msg = str(err.value)
    assert "dickens_test.txt" in msg and expected_sums()["dickens_test.txt"] in msg
    assert hashlib.sha256(b"tampered").hexdigest() in msg and "CHARLM_DATA_MIRROR" in msg
    assert (data / "dickens_test.txt").read_text() == "also tampered"
    # a good mirror repairs it
    (mirror / "dickens_test.txt").write_bytes(good)
    fetch(data_dir=data, mirror=mirror, quiet=True)
    assert (data / "dickens_test.txt").read_bytes() == good


def test_missing_file_without_mirror_says_how_to_supply(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARLM_DATA_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="missing.*CHARLM_DATA_MIRROR"):
        fetch(data_dir=tmp_path / "data", quiet=True)
