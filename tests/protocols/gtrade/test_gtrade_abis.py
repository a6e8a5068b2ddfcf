"""gTrade ABI files: the selectors abis/gtrade/SOURCES.md lists are the files' (keccak of the
signature), a few are spelled out from the deployed Diamond, and the devnet contracts expose every
signature with the same outputs (so the reader that reads the devnet reads Arbitrum unchanged)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from defi_perps.devnet.artifacts import artifact
from defi_perps.resources import load_abi

ROOT = Path(__file__).resolve().parents[3]


def _canon(p: dict[str, Any]) -> str:
    if p["type"].startswith("tuple"):
        return "(" + ",".join(_canon(c) for c in p["components"]) + ")" + p["type"][5:]
    return str(p["type"])


def _sigs(abi: list[dict[str, Any]]) -> dict[str, str]:
    return {f"{f['name']}({','.join(_canon(i) for i in f['inputs'])})": "(" + ",".join(_canon(o) for o in f["outputs"]) + ")"
            for f in abi if f["type"] == "function"}


@pytest.mark.parametrize("abi_name, devnet", [("GNSMultiCollatDiamond", "GTradeDiamond"), ("GToken", "GTokenVault")])
def test_devnet_contract_exposes_the_real_signatures(abi_name: str, devnet: str) -> None:
    real = _sigs(load_abi("gtrade", abi_name))
    ours = _sigs(artifact(devnet)["abi"])
    missing = sorted(set(real) - set(ours))
    assert not missing, missing
    assert {s: ours[s] for s in real} == real


def test_sources_table_lists_every_selector() -> None:
    text = (ROOT / "abis" / "gtrade" / "SOURCES.md").read_text()
    rows = re.findall(r"\| (\w+) \| `([^`]+)` \| `(0x[0-9a-f]{8})` \|", text)
    listed = {(c, s): sel for c, s, sel in rows}
    for name in ("GNSMultiCollatDiamond", "GToken"):
        for sig in _sigs(load_abi("gtrade", name)):
            assert listed[(name, sig)] == "0x" + keccak(text=sig)[:4].hex()


def test_well_known_selectors() -> None:
    # ERC-4626 / ERC-20 views of the gToken, and the v10 Trade tuple of getAllTrades
    assert "0x" + keccak(text="totalAssets()")[:4].hex() == "0x01e1d114"
    assert "0x" + keccak(text="totalSupply()")[:4].hex() == "0x18160ddd"
    trade = _sigs(load_abi("gtrade", "GNSMultiCollatDiamond"))["getAllTrades(uint256,uint256)"]
    assert trade == ("((address,uint32,uint16,uint24,bool,bool,uint8,uint8,uint120,uint64,uint64,uint64,bool,"
                     "uint160,uint24)[])")
