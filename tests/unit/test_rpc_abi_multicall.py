"""ABI encoding from abis/*.json and Multicall3 aggregate3 encoding/decoding (no chain)."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from defi_perps.rpc.abi import contract_abi
from defi_perps.rpc.multicall import Call, _decode_results


def test_selectors_match_signatures() -> None:
    ds = contract_abi("gmx_v2", "DataStore")
    assert ds["getUint"].selector == keccak(text="getUint(bytes32)")[:4]
    assert ds["getBytes32ValuesAt"].signature == "getBytes32ValuesAt(bytes32,uint256,uint256)"
    mc = contract_abi("multicall3", "Multicall3")
    assert mc["aggregate3"].selector == bytes.fromhex("82ad56cb")  # canonical Multicall3 selector
    r = contract_abi("gmx_v2", "Reader")
    assert r["getPosition"].signature == "getPosition(address,bytes32)"


def test_aggregate3_round_trip_and_allow_failure() -> None:
    ds = contract_abi("gmx_v2", "DataStore")
    mc = contract_abi("multicall3", "Multicall3")["aggregate3"]
    calls = [Call("0x" + "aa" * 20, ds["getUint"], (b"\x00" * 32,)),
             Call("0x" + "aa" * 20, ds["getInt"], (b"\x00" * 32,)),
             Call("0x" + "aa" * 20, ds["getUint"], (b"\x00" * 32,), allow_failure=True)]
    payload = mc.encode([(c.target, True, c.calldata) for c in calls])
    assert payload[:4] == mc.selector
    answer = encode(["(bool,bytes)[]"], [[(True, encode(["uint256"], [2**256 - 1])),
                                          (True, encode(["int256"], [-(2**255)])),
                                          (False, b"")]])
    res = _decode_results(calls, mc.decode_one(answer))
    assert res[0].value == 2**256 - 1 and res[1].value == -(2**255)
    assert not res[2].success


def test_required_call_failure_raises() -> None:
    import pytest

    from defi_perps.exceptions import AbiMismatchError

    ds = contract_abi("gmx_v2", "DataStore")
    calls = [Call("0x" + "aa" * 20, ds["getUint"], (b"\x00" * 32,), allow_failure=False, label="count")]
    with pytest.raises(AbiMismatchError, match="count"):
        _decode_results(calls, [(True, b"")])  # no code at target: success with empty data
