"""``charlm compress``, ``decompress`` and ``bpc --mix`` from the command line (tiny models)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch
from conftest import one_line, run_cli, run_main

from charlm.checkpoint import Checkpoint, save_checkpoint
from charlm.coding import CodingSettings, code_lengths
from charlm.config import TrainConfig
from charlm.corpora import corpus_text, stdlib_files, stdlib_dir
from charlm.data import encode
from charlm.mix import MixSettings
from charlm.model import build_model

TEXT = corpus_text("dickens_test.txt")[:700]


@pytest.fixture
def ckpt(tmp_path) -> Path:
    """A tiny checkpoint whose training corpus is a small file (fast context models)."""
    train = tmp_path / "train.txt"
    train.write_text(corpus_text("dickens_train.txt")[:30_000])
    cfg = TrainConfig(hidden_size=16, n_layers=1, corpus=str(train), valid_frac=0.0)
    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "tiny.pt", Checkpoint(build_model(cfg), cfg, [], {}))


@pytest.fixture
def text_file(tmp_path) -> Path:
    path = tmp_path / "text.txt"
    path.write_bytes(TEXT.encode())
    return path


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("flags", [[], ["--dynamic", "--segment", "7"], ["--mix"],
                                   ["--dynamic", "--mix"]],
                         ids=["static", "dynamic", "mix", "dynamic+mix"])
def test_round_trip_through_the_command_line(flags, ckpt, text_file, tmp_path, capsys):
    status, out, _ = run_main(["compress", "--checkpoint", ckpt, text_file, *flags], capsys)
    packed = Path(f"{text_file}.clm")
    assert status == 0 and packed.exists()
    assert f"{len(TEXT):,} characters in {packed.stat().st_size:,} bytes" in out
    name = "+".join(f[2:] for f in flags if f in ("--dynamic", "--mix")) or "static"
    assert f", {name}, " in out
    text_file.rename(tmp_path / "original.txt")
    status, out, _ = run_main(["decompress", "--checkpoint", ckpt, packed], capsys)
    assert status == 0 and f"-> {text_file}:" in out  # FILE.clm gives back FILE
    assert text_file.read_bytes() == (tmp_path / "original.txt").read_bytes()


def test_bpc_mix_prints_the_code_length(ckpt, text_file, capsys):
    status, out, _ = run_main(["bpc", "--checkpoint", ckpt, text_file, "--mix"], capsys)
    assert status == 0
    from charlm.checkpoint import load_checkpoint
    model = load_checkpoint(ckpt).model
    train = encode(corpus_text(str(ckpt.parent / "train.txt")))
    want = code_lengths(model, TEXT, train, CodingSettings(mix=MixSettings())).mean()
    assert out.strip() == f"{want:.4f}"


def bad(argv, capsys) -> str:
    status, out, err = run_main(argv, capsys)
    assert status == 2
    return one_line(err)


def test_compress_refuses_bad_input_and_writes_nothing(ckpt, text_file, tmp_path, capsys):
    before = files(tmp_path)
    accented = tmp_path / "cafe.txt"
    accented.write_text("caf\u00e9 au lait")
    before = files(tmp_path)
    cases = [
        (["compress", "--checkpoint", ckpt, tmp_path / "none.txt"], "does not exist"),
        (["compress", "--checkpoint", ckpt, accented], "'\u00e9' (code 233) at position 3"),
        (["compress", "--checkpoint", ckpt, text_file, "-o", text_file], "input file itself"),
        (["compress", "--checkpoint", ckpt, text_file, "-o", accented], "exists; add --force"),
        (["compress", "--checkpoint", ckpt, text_file, "-o", text_file / "x.clm"], "not a folder"),
        (["compress", "--checkpoint", ckpt, text_file, "-o", "/proc/x.clm"], "not writable"),
        (["compress", "--checkpoint", tmp_path / "none.pt", text_file], "does not exist"),
        (["compress", "--checkpoint", ckpt, text_file, "--segment", "50"], "add --dynamic"),
        (["compress", "--checkpoint", ckpt, text_file, "--dynamic", "--segment", "0"], "segment"),
    ]
    for argv, message in cases:
        assert message in bad(argv, capsys)
        assert files(tmp_path) == before


def test_force_replaces_an_existing_output(ckpt, text_file, tmp_path, capsys):
    out = tmp_path / "old.clm"
    out.write_text("old")
    assert run_main(["compress", "--checkpoint", ckpt, text_file, "-o", out, "--force"], capsys)[0] == 0
    assert out.read_bytes()[:3] == b"CLM"


def test_decompress_refuses_bad_files_and_writes_nothing(ckpt, text_file, tmp_path, capsys):
    assert run_main(["compress", "--checkpoint", ckpt, text_file, "--mix"], capsys)[0] == 0
    data = Path(f"{text_file}.clm").read_bytes()
    other = tmp_path / "other.pt"
    cfg = TrainConfig(hidden_size=16, n_layers=1)
    torch.manual_seed(1)
    save_checkpoint(other, Checkpoint(build_model(cfg), cfg, [], {}))
    cases = {"empty.clm": (b"", "is empty"), "short.clm": (data[:40], "truncated"),
             "cut.clm": (data[:-9], "truncated"),
             "flip.clm": (data[:60] + bytes([data[60] ^ 1]) + data[61:], "damaged"),
             "text.clm": (b"hello world", "not a charlm compressed file")}
    for name, (blob, _) in cases.items():
        (tmp_path / name).write_bytes(blob)
    out = tmp_path / "out.txt"
    before = files(tmp_path)
    for name, (_, message) in cases.items():
        assert message in bad(["decompress", "--checkpoint", ckpt, tmp_path / name, "-o", out], capsys)
    assert "does not exist" in bad(["decompress", "--checkpoint", ckpt, tmp_path / "no.clm"], capsys)
    line = bad(["decompress", "--checkpoint", other, f"{text_file}.clm", "-o", out], capsys)
    digests = set(re.findall(r"\b[0-9a-f]{16}\b", line))
    assert "digest" in line and len(digests) == 2
    assert "exists; add --force" in bad(["decompress", "--checkpoint", ckpt, f"{text_file}.clm"],
                                        capsys)
    assert files(tmp_path) == before and not out.exists()


@pytest.mark.slow
def test_python_source_round_trip_in_a_real_process(ckpt, tmp_path):
    """A file of the standard library, byte for byte, through ``python -m charlm``."""
    for rel in stdlib_files():
        raw = (stdlib_dir() / rel).read_bytes()
        if 3000 < len(raw) < 8000 and all(32 <= b < 127 or b in b"\t\n" for b in raw):
            break
    source = tmp_path / "source.py"
    source.write_bytes(raw)
    env = {"OMP_NUM_THREADS": "1", "CHARLM_PROGRESS": "0"}
    r = run_cli("compress", "--checkpoint", str(ckpt), str(source), "--dynamic", "--mix", env=env)
    assert r.returncode == 0, r.stderr
    os.rename(source, tmp_path / "kept.py")
    r = run_cli("decompress", "--checkpoint", str(ckpt), f"{source}.clm", env=env)
    assert r.returncode == 0, r.stderr
    assert source.read_bytes() == raw
