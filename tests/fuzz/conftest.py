"""Fixtures shared by the fuzz tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private DEFI_PERPS_HOME whose default store is ``fuzz.db``, with a fresh engine cache."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("DEFI_PERPS_HOME", str(h))
    monkeypatch.setenv("DEFI_PERPS_DB", f"sqlite:///{h / 'fuzz.db'}")
    monkeypatch.chdir(tmp_path)
    from defi_perps.store.db import get_engine

    get_engine.cache_clear()   # engines are cached per URL argument (None = $DEFI_PERPS_DB) in-process
    return h
