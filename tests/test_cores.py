"""charlm.cores: the machine's cores as tokens shared by every charlm process."""

from __future__ import annotations

import pytest

from charlm import cores


@pytest.fixture(autouse=True)
def own_tokens(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARLM_CORES_DIR", str(tmp_path / "cores"))
    monkeypatch.setenv("CHARLM_CORES", "3")
    monkeypatch.delenv(cores.HELD, raising=False)


def test_a_process_takes_only_the_free_cores_and_gives_them_back():
    a, b = cores.Cores(), cores.Cores()
    assert a.take(2) == 2
    assert b.take(3) == 1  # one left
    assert cores.Cores().take(3) == 0 and cores.Cores().usable() == 1  # none: it still works, on one
    a.release()
    assert b.take(3) == 3
    b.release()


def test_the_core_a_parent_took_counts(monkeypatch):
    monkeypatch.setenv(cores.HELD, "1")
    c = cores.Cores()
    assert c.held == 1 and c.take(2) == 2 and len(c._fds) == 1
    c.release()


def test_core_waits_for_a_free_token_or_yields_none():
    held = cores.Cores()
    held.take(3)
    with cores.core(wait=False) as index:
        assert index is None
    held.release()
    with cores.core() as first, cores.core() as second:
        assert {first, second} == {0, 1}
