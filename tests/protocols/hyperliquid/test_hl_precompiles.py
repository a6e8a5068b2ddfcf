"""The precompile table against the published constants and hand-written bytes (no selector!)."""

from __future__ import annotations

from eth_abi import encode

from defi_perps.protocols.hyperliquid import mappers as M
from defi_perps.protocols.hyperliquid.precompiles import precompile, precompiles

# hyperliquid-dev/hyper-evm-lib src/common/HLConstants.sol @ 6abf28fc
PUBLISHED = {"position": 0x800, "spotBalance": 0x801, "userVaultEquity": 0x802, "withdrawable": 0x803,
             "markPx": 0x806, "oraclePx": 0x807, "l1BlockNumber": 0x809, "perpAssetInfo": 0x80A, "bbo": 0x80E,
             "accountMarginSummary": 0x80F, "coreUserExists": 0x810, "position2": 0x813}
USER = "0x00000000000000000000000000000000000000a1"


def test_addresses_match_hlconstants() -> None:
    assert {n: int(p.address, 16) for n, p in precompiles().items()} == PUBLISHED


def test_calldata_is_the_bare_encoding() -> None:
    # docs: `cast call 0x…0807 0x…03` reads perp 3's oracle price: one 32-byte word, no selector
    assert precompile("oraclePx").encode(3) == (3).to_bytes(32, "big")
    assert precompile("l1BlockNumber").encode() == b""
    word_user = bytes(12) + bytes.fromhex(USER[2:])
    assert precompile("position2").encode(USER, 159) == word_user + (159).to_bytes(32, "big")
    assert precompile("accountMarginSummary").encode(0, USER) == bytes(32) + word_user


def test_answers_decode_from_fixed_bytes() -> None:
    # Position{int64 szi; uint64 entryNtl; int64 isolatedRawUsd; uint32 leverage; bool isIsolated}: 5 words,
    # negative ints two's complement over the whole word
    raw = ((-20_000) % 2**256).to_bytes(32, "big") + (7_000_000_000).to_bytes(32, "big") \
        + (7_700_000_000).to_bytes(32, "big") + (10).to_bytes(32, "big") + (1).to_bytes(32, "big")
    pos = M.position(USER, 1, precompile("position2").decode_one(raw))
    assert pos is not None and (pos.szi, pos.entry_ntl, pos.isolated_raw_usd, pos.leverage, pos.is_isolated) == \
        (-20_000, 7_000_000_000, 7_700_000_000, 10, True)
    assert M.position(USER, 1, precompile("position2").decode_one(bytes(160))) is None
    # PerpAssetInfo has a string: one dynamic tuple (offset word 0x20, then head and tail)
    info = (0x20).to_bytes(32, "big") + (0xA0).to_bytes(32, "big") + (56).to_bytes(32, "big") \
        + (5).to_bytes(32, "big") + (40).to_bytes(32, "big") + bytes(32) \
        + (3).to_bytes(32, "big") + b"BTC".ljust(32, b"\0")
    assert info == encode(["(string,uint32,uint8,uint8,bool)"], [("BTC", 56, 5, 40, False)])
    a = M.perp_asset(0, precompile("perpAssetInfo").decode_one(info), 972_500, 972_400, (972_300, 972_700))
    assert (a.coin, a.margin_table_id, a.sz_decimals, a.max_leverage, a.bid_px) == ("BTC", 56, 5, 40, 972_300)
