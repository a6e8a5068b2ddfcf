"""Mutation helpers: each change lands in one block, keeps lists and totals consistent, and the
seeded state stays readable at its block (what historical-read tests rely on)."""

from __future__ import annotations

import pytest

from defi_perps.exceptions import InputError
from defi_perps.protocols.gmx_v2 import keys as K
from defi_perps.resources import load_abi

pytestmark = pytest.mark.anvil


def test_mutations_keep_history_and_consistency(devnet_factory) -> None:
    h = devnet_factory(positions=120, accounts=30, seed=3)
    ds = h.w3.eth.contract(address=h.data_store, abi=load_abi("gmx_v2", "DataStore"))
    reader = h.w3.eth.contract(address=h.reader, abi=load_abi("gmx_v2", "Reader"))
    b0 = h.book.block_number
    n0 = len(h.book.positions)

    # price: new round in a new block, old block still answers the old price
    weth = h.addresses["tokens"]["WETH"]
    feed = h.w3.eth.contract(address=h.addresses["feeds"]["WETH"], abi=load_abi("chainlink", "AggregatorV3"))
    old = feed.functions.latestRoundData().call(block_identifier=b0)
    b1 = h.set_price(weth, "2500.5")
    assert b1 > b0
    new = feed.functions.latestRoundData().call(block_identifier=b1)
    assert new[1] == 250050000000 and new[0] == old[0] + 1
    assert feed.functions.latestRoundData().call(block_identifier=b0) == old

    # remove: lists, fields and totals change together, in one block
    victim = h.book.positions[0]
    vkey = bytes.fromhex(victim.key[2:])
    oi_key = K.open_interest_key(victim.market, victim.collateral_token, victim.is_long)
    oi0 = ds.functions.getUint(oi_key).call(block_identifier=b0)
    b2 = h.remove_position(victim.key)
    assert ds.functions.getBytes32Count(K.POSITION_LIST).call(block_identifier=b2) == n0 - 1
    assert not ds.functions.containsBytes32(K.POSITION_LIST, vkey).call(block_identifier=b2)
    assert not ds.functions.containsBytes32(K.account_position_list_key(victim.account), vkey).call(block_identifier=b2)
    assert ds.functions.getUint(K.field_key(vkey, "SIZE_IN_USD")).call(block_identifier=b2) == 0
    assert reader.functions.getPosition(h.data_store, vkey).call(block_identifier=b2)[1][0] == 0
    assert ds.functions.getUint(oi_key).call(block_identifier=b2) == oi0 - victim.size_in_usd
    # …and at the seeded block everything is as seeded
    assert reader.functions.getPosition(h.data_store, vkey).call(block_identifier=b0)[1][0] == victim.size_in_usd
    assert ds.functions.getBytes32Count(K.POSITION_LIST).call(block_identifier=b0) == n0

    # update: fields and totals follow
    p = h.book.positions[1]
    b3_before = h.block_number()
    q = h.update_position(p.key, size_in_usd=p.size_in_usd * 2, collateral_amount=p.collateral_amount + 1)
    b3 = h.block_number()
    assert b3 == b3_before + 1
    got = reader.functions.getPosition(h.data_store, bytes.fromhex(p.key[2:])).call(block_identifier=b3)
    assert got[1][0] == q.size_in_usd and got[1][2] == q.collateral_amount
    k = (p.market, p.collateral_token, p.is_long)
    want = sum(x.size_in_usd for x in h.positions.values() if (x.market, x.collateral_token, x.is_long) == k)
    assert ds.functions.getUint(K.open_interest_key(*k)).call(block_identifier=b3) == want
    assert ds.functions.getBytes32Count(K.POSITION_LIST).call(block_identifier=b3) == len(h.positions) == n0 - 1

    # put back the removed position: it returns at the end of POSITION_LIST
    b4 = h.put_position(victim)
    keys = ds.functions.getBytes32ValuesAt(K.POSITION_LIST, 0, 10**6).call(block_identifier=b4)
    assert keys[-1] == vkey and len(keys) == n0

    assert h.mine(3) == b4 + 3
    with pytest.raises(InputError):
        h.update_position(p.key, account=victim.account)
    with pytest.raises(InputError):
        h.remove_position("0x" + "ab" * 32)


def test_same_seed_same_chain_different_seed_different_book(devnet_factory) -> None:
    a = devnet_factory(positions=80, accounts=20, seed=11)
    b = devnet_factory(positions=80, accounts=20, seed=11)
    c = devnet_factory(positions=80, accounts=20, seed=12)
    assert a.addresses == b.addresses == c.addresses
    assert a.book.positions == b.book.positions
    assert a.book.markets == b.book.markets
    assert a.book.positions != c.book.positions
    # the book file round-trips exactly
    from defi_perps.devnet import DevnetBook

    assert DevnetBook.load(a.book_file) == a.book
