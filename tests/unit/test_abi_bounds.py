"""ABI decoding is bounded by the bytes received (issue 14 §1): absurd lengths and offsets are an
error naming the call at once, never a loop, a hang or a silent zero."""

from __future__ import annotations

import pytest
from eth_abi import encode

from defi_perps.exceptions import AbiMismatchError
from defi_perps.rpc.abi import contract_abi
from defi_perps.rpc.fastabi import decode_aggregate3


def w(x: int) -> bytes:
    return x.to_bytes(32, "big")


GOOD = encode(["(bool,bytes)[]"], [[(True, w(7)), (False, b"")]])


@pytest.mark.parametrize("data, needle", [
    (w(32) + w(2**64) + w(0) * 4, "array length 18446744073709551616"),
    (w(32) + w(2**256 - 1), "array length"),
    (w(2**255), "offset"),
    (w(32) + w(1) + w(2**200) + w(0) * 3, "element 0 offset"),
    (w(32) + w(1) + w(32) + w(2) + w(64) + w(0), "success flag 2"),
    (w(32) + w(1) + w(32) + w(1) + w(64) + w(2**64), "data length"),
    (w(32) + w(1) + w(32) + w(1) + w(2**70) + w(0), "data offset"),
    (b"", "offset"),
    (GOOD[:-40], "beyond the answer"),
], ids=["len-2^64", "len-max", "base-offset", "elem-offset", "flag", "bytes-len", "bytes-offset", "empty", "truncated"])
def test_malformed_aggregate3_answers(data: bytes, needle: str) -> None:
    with pytest.raises(AbiMismatchError, match="malformed Multicall3") as e:
        decode_aggregate3(data)
    assert needle in str(e.value)


def test_well_formed_aggregate3_answer() -> None:
    assert decode_aggregate3(GOOD) == [(True, w(7)), (False, b"")]


@pytest.mark.parametrize("contract, fn", [("gmx_v2/DataStore", "getBytes32ValuesAt"), ("gmx_v2/Reader", "getMarkets"),
                                          ("erc20/ERC20", "symbol")])
def test_dynamic_outputs_with_absurd_lengths(contract: str, fn: str) -> None:
    f = contract_abi(*contract.split("/"))[fn]
    for data in (w(32) + w(2**64), w(32) + w(2**256 - 1) + w(0), w(2**64)):
        with pytest.raises(AbiMismatchError, match=fn):
            f.decode(data)


@pytest.mark.parametrize("word, typ", [(w(2), "bool"), (w(1 << 160), "address"), (w(256), "uint8")])
def test_non_canonical_static_words_are_refused(word: bytes, typ: str) -> None:
    from defi_perps.rpc.fastabi import StaticDecoder

    with pytest.raises(AbiMismatchError, match=f"non-canonical {typ}"):
        StaticDecoder((typ,))(word, "f()")
