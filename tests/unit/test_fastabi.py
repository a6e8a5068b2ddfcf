"""The fast ABI paths (rpc/fastabi.py) agree with eth-abi on every shape the indexer uses."""

from __future__ import annotations

from eth_abi import decode, encode
from hypothesis import given, settings
from hypothesis import strategies as st

from defi_perps.exceptions import AbiMismatchError
from defi_perps.rpc.abi import contract_abi
from defi_perps.rpc.fastabi import decode_aggregate3, encode_aggregate3

u256 = st.integers(0, 2**256 - 1)
i256 = st.integers(-(2**255), 2**255 - 1)
addr = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@settings(max_examples=50, deadline=None)
@given(a=addr, m=addr, c=addr, nums=st.tuples(u256, u256, u256, i256, u256, u256, u256, u256, u256, u256),
       long_=st.booleans())
def test_position_props_decode_matches_eth_abi(a: str, m: str, c: str, nums: tuple, long_: bool) -> None:  # type: ignore[type-arg]
    fn = contract_abi("gmx_v2", "Reader")["getPosition"]
    data = encode(list(fn.outputs), [((a, m, c), nums, (long_,))])
    ours = fn.decode(data)
    ref = decode(list(fn.outputs), data)
    assert ours[0][1] == ref[0][1] and ours[0][2] == ref[0][2]
    assert [x.lower() for x in ours[0][0]] == [x.lower() for x in ref[0][0]]


def test_wrong_layout_is_abi_mismatch() -> None:
    v21 = contract_abi("gmx_v2", "Reader_v2_1")["getPosition"]
    v22 = contract_abi("gmx_v2", "Reader")["getPosition"]
    data = encode(list(v22.outputs), [(("0x" + "1" * 40,) * 3, (1,) * 10, (True,))])
    try:
        v21.decode(data)
    except AbiMismatchError:
        return
    raise AssertionError("a v2.2 position decoded with the v2.1 ABI must fail")


@settings(max_examples=50, deadline=None)
@given(calls=st.lists(st.tuples(addr, st.booleans(), st.binary(max_size=100)), max_size=8))
def test_aggregate3_encoding_matches_eth_abi(calls: list) -> None:  # type: ignore[type-arg]
    agg = contract_abi("multicall3", "Multicall3")["aggregate3"]
    ref = agg.selector + encode(["(address,bool,bytes)[]"], [calls])
    assert encode_aggregate3(agg.selector, calls) == ref


@settings(max_examples=50, deadline=None)
@given(results=st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=8))
def test_aggregate3_decoding_matches_eth_abi(results: list) -> None:  # type: ignore[type-arg]
    data = encode(["(bool,bytes)[]"], [results])
    assert decode_aggregate3(data) == [tuple(r) for r in results]


def test_static_args_encoding_matches_eth_abi() -> None:
    ds = contract_abi("gmx_v2", "DataStore")
    fn = ds["getBytes32ValuesAt"]
    assert fn.encode(b"\x07" * 32, 5, 2**255) == fn.selector + encode(list(fn.inputs), [b"\x07" * 32, 5, 2**255])
    rd = contract_abi("gmx_v2", "Reader")["getPosition"]
    a = "0x" + "Ab" * 20
    assert rd.encode(a, b"\x01" * 32) == rd.selector + encode(list(rd.inputs), [a, b"\x01" * 32])
