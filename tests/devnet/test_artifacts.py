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
    assert sorted(p.stem for p in build.glob("*.json")) == list(C.contracts())
    for name, art in fresh.items():
        assert (build / f"{name}.json").read_text() == C.render(art), f"{name}.json is stale: run python -m defi_perps.devnet.compile"


def test_settings_pin_bytecode_inputs() -> None:
    s = C.SETTINGS
    assert s["optimizer"] == {"enabled": True, "runs": 200}
    assert s["evmVersion"] == "cancun"
    assert s["metadata"] == {"bytecodeHash": "none", "appendCBOR": False}
    pkg = json.loads((ROOT / "package.json").read_text())
    assert pkg["dependencies"]["solc"] == C.SOLC_VERSION


def test_each_plugin_declares_its_contracts_from_its_own_folder() -> None:
    """compile.py names no protocol: the artifacts are the core's contracts plus what each registered
    plug-in declares, and every declared contract is defined in ``contracts/src/<key>/``."""
    import re

    from defi_perps.protocols import registry
    from defi_perps.protocols.base import devnet_contracts_of

    owners = C.owners()
    assert {k for k, v in owners.items() if v == ""} == set(C.CORE_CONTRACTS)
    src = ROOT / "contracts" / "src"
    for n in registry.names():
        plugin = registry.get(n)
        for name in devnet_contracts_of(plugin):
            assert owners[name] == plugin.key
            defined = [p for p in (src / plugin.key).glob("*.sol")
                       if re.search(rf"\bcontract\s+{name}\b", p.read_text())]
            assert defined, f"{name} ({plugin.name}) is not defined in contracts/src/{plugin.key}/"
    for name in C.CORE_CONTRACTS:
        assert any(re.search(rf"\bcontract\s+{name}\b", p.read_text()) for p in src.glob("*.sol")), name


def test_a_source_folder_of_no_plugin_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Token.sol").write_text("")
    (tmp_path / "not_a_protocol").mkdir()
    with pytest.raises(DevnetError, match="not_a_protocol"):
        C.standard_input(tmp_path, {"gmx_v2"})


def test_source_units_are_named_by_their_path_below_src() -> None:
    names = list(C.standard_input(ROOT / "contracts" / "src")["sources"])
    assert names == sorted(names)
    assert "Token.sol" in names and "gmx_v2/DataStore.sol" in names and "gmx_v1/GmxV1Vault.sol" in names
