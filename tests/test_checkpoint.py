import os
import pickle

import pytest
import torch

from charlm import CheckpointError, TrainConfig, build_model, load_checkpoint, save_checkpoint
from charlm.checkpoint import Checkpoint


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
