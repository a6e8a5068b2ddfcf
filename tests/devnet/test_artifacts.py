"""The committed contract artifacts are exactly what the pinned solc makes of the sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from defi_perps.devnet import compile as C
from defi_perps.exceptions import DevnetError

ROOT = Path(__file__).resolve().parents[2]


def test_recompiling_reproduces_committed_artifacts() -> None:
    try:
        solc = C.find_solcjs(ROOT)
    except DevnetError as err:
        pytest.skip(str(err))
    fresh = C.compile_sources(ROOT / "contracts" / "src", solc)
    build = ROOT / "contracts" / "build"
    assert sorted(p.stem for p in build.glob("*.json")) == sorted(C.CONTRACTS)
    for name, art in fresh.items():
        assert (build / f"{name}.json").read_text() == C.render(art), f"{name}.json is stale: run python -m defi_perps.devnet.compile"


def test_settings_pin_bytecode_inputs() -> None:
    s = C.SETTINGS
    assert s["optimizer"] == {"enabled": True, "runs": 200}
    assert s["evmVersion"] == "cancun"
    assert s["metadata"] == {"bytecodeHash": "none", "appendCBOR": False}
    pkg = json.loads((ROOT / "package.json").read_text())
    assert pkg["dependencies"]["solc"] == C.SOLC_VERSION
