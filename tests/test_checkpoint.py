import os
import pickle

import pytest
import torch

from charlm import CheckpointError, TrainConfig, build_model, generate, load_checkpoint, save_checkpoint
from charlm.checkpoint import Checkpoint, weights_sha256


@pytest.fixture
def good(tmp_path):
    cfg = TrainConfig(hidden_size=8, n_layers=1)
    return save_checkpoint(tmp_path / "good.pt", Checkpoint(build_model(cfg), cfg, [4.6], {}))


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned_by_pickle",))


def test_each_bad_file_gives_one_clear_error(tmp_path, good, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "random.pt").write_bytes(os.urandom(4096))
    (tmp_path / "text.pt").write_text("this is not a checkpoint\n")
    (tmp_path / "trunc.pt").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with open(tmp_path / "evil.pt", "wb") as fh:
        pickle.dump({"format": "charlm.checkpoint", "x": _Evil()}, fh)
    torch.save({"evil": _Evil()}, tmp_path / "evil_zip.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    cases = {
        "missing.pt": "does not exist",
        ".": "is a directory",
        "empty.pt": "is empty",
        "random.pt": "not a charlm checkpoint \\(not a torch file\\)",
        "text.pt": "not a charlm checkpoint \\(not a torch file\\)",
        "trunc.pt": "truncated or corrupt",
        "evil.pt": "not a charlm checkpoint",
        "evil_zip.pt": "refused",
        "foreign.pt": "not a charlm checkpoint",
    }
    for name, pattern in cases.items():
        with pytest.raises(CheckpointError, match=pattern) as err:
            load_checkpoint(tmp_path / name)
        assert "\n" not in str(err.value)
    assert not (tmp_path / "pwned_by_pickle").exists()


def test_vocabulary_and_architecture_mismatch(tmp_path, good):
    payload = torch.load(good, weights_only=True)
    torch.save(payload | {"vocab": "abc"}, tmp_path / "vocab.pt")
    with pytest.raises(CheckpointError, match="different vocabulary"):
        load_checkpoint(tmp_path / "vocab.pt")
    payload["config"]["hidden_size"] = 16  # weights are 8 wide
    torch.save(payload, tmp_path / "arch.pt")
    with pytest.raises(CheckpointError, match="do not match its architecture"):
        load_checkpoint(tmp_path / "arch.pt")
    with pytest.raises(CheckpointError, match="has n_layers=1, but 2 was asked for"):
        load_checkpoint(good, expect={"n_layers": 2})


def test_a_checkpoint_saved_on_a_gpu_loads_and_samples_on_a_machine_without_one(tmp_path,
                                                                                 monkeypatch):
    """Issue 29: a file whose tensors were saved on CUDA (torch records each storage's device,
    its "location", in the file) loads onto the CPU, weights and resume state alike."""
    cfg = TrainConfig(hidden_size=8, n_layers=1, device="cuda:0")
    state = {"config": cfg.to_dict(), "members": [],
             "loop": {"torch_rng": torch.get_rng_state(), "carried": (torch.ones(1, 1, 8),) * 2}}
    # torch.save asks torch.serialization.location_tag where each storage lives: claim CUDA
    monkeypatch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
    path = save_checkpoint(tmp_path / "gpu.pt", Checkpoint(build_model(cfg), cfg, [4.6], {},
                                                           state))
    monkeypatch.undo()
    if not torch.cuda.is_available():  # the file really asks for CUDA: plain torch.load fails
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    ckpt = load_checkpoint(path)
    assert {p.device.type for p in ckpt.model.parameters()} == {"cpu"}
    assert ckpt.resume["loop"]["torch_rng"].device.type == "cpu"
    assert ckpt.resume["loop"]["carried"][0].device.type == "cpu"
    assert len(generate(ckpt.model, "The ", 20, seed=1)) == 24


def test_format_versions_1_and_2_load_and_others_are_refused(tmp_path, good):
    payload = torch.load(good, weights_only=True)
    assert payload["version"] == 2
    torch.save(payload | {"version": 1}, tmp_path / "v1.pt")  # before resume states existed
    assert load_checkpoint(tmp_path / "v1.pt").resume is None
    torch.save(payload | {"version": 3}, tmp_path / "v3.pt")
    with pytest.raises(CheckpointError, match="format version 3; this charlm reads 1 and 2"):
        load_checkpoint(tmp_path / "v3.pt")
    torch.save(payload | {"resume": {"loop": {}}}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="damaged resume state"):
        load_checkpoint(tmp_path / "bad.pt")


def test_the_weights_digest_survives_a_save_and_a_load(good):
    ckpt = load_checkpoint(good)
    again = save_checkpoint(good.parent / "again.pt", ckpt)
    assert weights_sha256(load_checkpoint(again).model) == weights_sha256(ckpt.model)
    with torch.no_grad():
        next(ckpt.model.parameters())[0, 0] += 1e-6
    assert weights_sha256(load_checkpoint(again).model) != weights_sha256(ckpt.model)
