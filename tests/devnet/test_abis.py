"""ABI files: selectors equal the real contracts', and the devnet contracts expose them.

Expected signatures are the ones cited in abis/*/SOURCES.md (GMX deployments/arbitrum JSON,
mds1/multicall, Chainlink AggregatorV3Interface, EIP-20); well-known selectors are spelled out.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from defi_perps.devnet.artifacts import artifact
from defi_perps.resources import load_abi


def _canon(p: dict[str, Any]) -> str:
    if p["type"].startswith("tuple"):
        return "(" + ",".join(_canon(c) for c in p["components"]) + ")" + p["type"][5:]
    return str(p["type"])


def signatures(abi: list[dict[str, Any]]) -> set[str]:
    return {f"{f['name']}({','.join(_canon(i) for i in f['inputs'])})" for f in abi if f["type"] == "function"}


def selector(sig: str) -> str:
    return "0x" + keccak(text=sig)[:4].hex()


def outputs(abi: list[dict[str, Any]], name: str) -> list[str]:
    (f,) = [f for f in abi if f.get("name") == name and f["type"] == "function"]
    return [_canon(o) for o in f["outputs"]]


DATASTORE = {
    *(f"get{t}(bytes32)" for t in ("Uint", "Int", "Address", "Bool", "String", "Bytes32")),
    "setUint(bytes32,uint256)", "setInt(bytes32,int256)", "setAddress(bytes32,address)", "setBool(bytes32,bool)",
    "setString(bytes32,string)", "setBytes32(bytes32,bytes32)",
    *(f"remove{t}(bytes32)" for t in ("Uint", "Int", "Address", "Bool", "String", "Bytes32")),
    "applyDeltaToUint(bytes32,int256,string)", "applyDeltaToUint(bytes32,uint256)",
    "applyBoundedDeltaToUint(bytes32,int256)", "incrementUint(bytes32,uint256)", "decrementUint(bytes32,uint256)",
    "applyDeltaToInt(bytes32,int256)", "incrementInt(bytes32,int256)", "decrementInt(bytes32,int256)",
    *(s for t, v in (("Bytes32", "bytes32"), ("Address", "address"), ("Uint", "uint256")) for s in (
        f"contains{t}(bytes32,{v})", f"get{t}Count(bytes32)", f"get{t}ValuesAt(bytes32,uint256,uint256)",
        f"add{t}(bytes32,{v})", f"remove{t}(bytes32,{v})")),
}
READER = {"getMarket(address,address)", "getMarketBySalt(address,bytes32)", "getMarkets(address,uint256,uint256)",
          "getPosition(address,bytes32)", "getAccountPositions(address,address,uint256,uint256)"}
POSITION_V22 = ("((address,address,address),(uint256,uint256,uint256,int256,uint256,uint256,uint256,uint256,"
                "uint256,uint256),(bool))")
POSITION_V21 = ("((address,address,address),(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,"
                "uint256),(bool))")
MARKET = "(address,address,address,address)"

WELL_KNOWN = {  # selector facts published with the contracts (Multicall3 README/etherscan, Chainlink, EIP-20)
    "aggregate((address,bytes)[])": "0x252dba42",
    "aggregate3((address,bool,bytes)[])": "0x82ad56cb",
    "aggregate3Value((address,bool,uint256,bytes)[])": "0x174dea71",
    "blockAndAggregate((address,bytes)[])": "0xc3077fa9",
    "tryAggregate(bool,(address,bytes)[])": "0xbce38bd7",
    "tryBlockAndAggregate(bool,(address,bytes)[])": "0x399542e9",
    "getBlockNumber()": "0x42cbb15c",
    "getEthBalance(address)": "0x4d2301cc",
    "latestRoundData()": "0xfeaf968c",
    "getRoundData(uint80)": "0x9a6fc8f5",
    "decimals()": "0x313ce567",
    "balanceOf(address)": "0x70a08231",
    "transfer(address,uint256)": "0xa9059cbb",
}


def test_datastore_abi_matches_gmx() -> None:
    assert signatures(load_abi("gmx_v2", "DataStore")) == DATASTORE


def test_reader_abis_match_gmx_layouts() -> None:
    v22, v21 = load_abi("gmx_v2", "Reader"), load_abi("gmx_v2", "Reader_v2_1")
    assert signatures(v22) == READER == signatures(v21)
    assert outputs(v22, "getPosition") == [POSITION_V22]
    assert outputs(v21, "getPosition") == [POSITION_V21]
    assert outputs(v22, "getAccountPositions") == [POSITION_V22 + "[]"]
    assert outputs(v22, "getMarkets") == [MARKET + "[]"]
    assert outputs(v22, "getMarket") == [MARKET]
    # the v2.2 field sits right after collateralAmount
    nums = [f for f in load_abi("gmx_v2", "Reader") if f.get("name") == "getPosition"][0]["outputs"][0]["components"][1]
    assert [c["name"] for c in nums["components"]][2:5] == ["collateralAmount", "pendingImpactAmount", "borrowingFactor"]


def test_well_known_selectors() -> None:
    have = set()
    for proto, name in (("multicall3", "Multicall3"), ("chainlink", "AggregatorV3"), ("erc20", "ERC20")):
        have |= signatures(load_abi(proto, name))
    for sig, sel in WELL_KNOWN.items():
        assert sig in have, sig
        assert selector(sig) == sel, sig


@pytest.mark.parametrize("proto,abi_name,contract", [
    ("gmx_v2", "DataStore", "DataStore"), ("gmx_v2", "Reader", "Reader"), ("gmx_v2", "Reader_v2_1", "ReaderV21"),
    ("multicall3", "Multicall3", "Multicall3"),
    ("chainlink", "AggregatorV3", "PriceFeed"), ("erc20", "ERC20", "Token"),
])
def test_devnet_contracts_expose_the_real_interfaces(proto: str, abi_name: str, contract: str) -> None:
    real = load_abi(proto, abi_name)
    ours = artifact(contract)["abi"]
    missing = signatures(real) - signatures(ours)
    assert not missing, f"{contract} lacks {sorted(missing)}"
    for sig in signatures(real):  # same return layout, not only the same selector
        name = sig.split("(")[0]
        real_fns = [f for f in real if f.get("name") == name and f["type"] == "function"
                    and signatures([f]) == {sig}]
        our_fns = [f for f in ours if f.get("name") == name and f["type"] == "function" and signatures([f]) == {sig}]
        assert [_canon(o) for o in real_fns[0]["outputs"]] == [_canon(o) for o in our_fns[0]["outputs"]], sig


def test_seeding_calldata_equals_eth_abi() -> None:
    """The hand-written writePositions encoder and position keys equal eth_abi / keys.py."""
    from eth_utils import keccak, to_checksum_address

    from defi_perps.devnet import universe as U
    from defi_perps.devnet.book import generate_positions
    from defi_perps.devnet.deploy import encode_write_positions, encode_write_positions_reference
    from defi_perps.protocols.gmx_v2 import keys as K

    toks = {s: to_checksum_address(keccak(text=s)[12:]) for s in U.TOKENS}
    mks = {m.name: to_checksum_address(keccak(text=m.name)[12:]) for m in U.MARKETS}
    cum = {(m.name, side): 10**28 for m in U.MARKETS for side in (True, False)}
    ps = generate_positions(U.MARKETS, toks, mks, cum, 300, 40, seed=1, now=1_767_225_600)
    assert any(p.pending_impact_amount < 0 for p in ps)  # exercises signed words
    assert encode_write_positions(ps) == encode_write_positions_reference(ps)
    assert all(p.key == "0x" + K.position_key(p.account, p.market, p.collateral_token, p.is_long).hex() for p in ps)
    assert ps == generate_positions(U.MARKETS, toks, mks, cum, 300, 40, seed=1, now=1_767_225_600)


def test_cli_state_file_name_matches_handle() -> None:
    from defi_perps.commands import devnet as cmd
    from defi_perps.devnet import handle

    assert cmd.STATE_FILE == handle.STATE_FILE


REFERRAL_STORAGE = {"traderReferralCodes(address)", "codeOwners(bytes32)", "referrerTiers(address)",
                    "referrerDiscountShares(address)", "tiers(uint256)"}


def test_referral_storage_abi_matches_gmx_and_the_devnet_contract() -> None:
    """The five IReferralStorage views ReferralUtils.getReferralInfo calls (gmx-synthetics
    contracts/referral/IReferralStorage.sol), with the same outputs on the devnet contract."""
    shipped = load_abi("gmx_v2", "ReferralStorage")
    assert signatures(shipped) == REFERRAL_STORAGE
    devnet = artifact("ReferralStorage")["abi"]
    assert REFERRAL_STORAGE <= signatures(devnet)
    for name in ("traderReferralCodes", "codeOwners", "referrerTiers", "referrerDiscountShares", "tiers"):
        assert outputs(shipped, name) == outputs(devnet, name)
    assert outputs(shipped, "tiers") == ["uint256", "uint256"]
