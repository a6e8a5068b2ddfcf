"""The seeded devnet read back through the real GMX interfaces and keys.py derivations."""

from __future__ import annotations

import pytest
from eth_abi import decode
from eth_utils import keccak
from web3.exceptions import ContractLogicError

from defi_perps.config import load_chain_file
from defi_perps.devnet.deploy import MULTICALL3, DEPLOYER
from defi_perps.protocols.gmx_v2 import keys as K
from defi_perps.resources import load_abi

pytestmark = pytest.mark.anvil


def _ds(devnet):  # DataStore through the shipped GMX ABI, not the artifact's
    return devnet.w3.eth.contract(address=devnet.data_store, abi=load_abi("gmx_v2", "DataStore"))


def _reader(devnet, abi: str = "Reader"):
    return devnet.w3.eth.contract(address=devnet.reader, abi=load_abi("gmx_v2", abi))


def _props(p) -> tuple:
    return ((p.account, p.market, p.collateral_token),
            (p.size_in_usd, p.size_in_tokens, p.collateral_amount, p.pending_impact_amount, p.borrowing_factor,
             p.funding_fee_amount_per_size, p.long_token_claimable_funding_amount_per_size,
             p.short_token_claimable_funding_amount_per_size, p.increased_at_time, p.decreased_at_time),
            (p.is_long,))


def test_chain_file_loads_and_names_this_instance(devnet) -> None:
    cfg = load_chain_file(devnet.chain_file)
    assert cfg.chain_id == 31337 == devnet.w3.eth.chain_id
    assert cfg.resolve_rpc_url() == devnet.rpc_url
    assert cfg.gmx_v2.data_store == devnet.data_store and cfg.gmx_v2.reader == devnet.reader
    assert cfg.gmx_v2.position_layout == "v2.2"  # the instance file sets it; the bundled one detects it
    assert cfg.gmx_v2.referral_storage == devnet.addresses["referral_storage"]
    assert cfg.multicall3 == MULTICALL3
    assert cfg.extra["devnet"]["tokens"] == devnet.addresses["tokens"]
    # deterministic deployment: the bundled chains/devnet.toml names the same contracts
    from defi_perps.config import load_chain

    bundled = load_chain("devnet")
    assert (bundled.gmx_v2.data_store, bundled.gmx_v2.reader) == (devnet.data_store, devnet.reader)
    assert bundled.gmx_v2.referral_storage == devnet.addresses["referral_storage"]
    assert bundled.gmx_v2.position_layout is None


def test_position_fields_under_keys_py_derivations(devnet) -> None:
    ds, blk = _ds(devnet), devnet.book.block_number
    for p in devnet.book.positions[:5] + devnet.book.positions[-5:]:
        key = K.position_key(p.account, p.market, p.collateral_token, p.is_long)
        assert "0x" + key.hex() == p.key
        assert ds.functions.containsBytes32(K.POSITION_LIST, key).call(block_identifier=blk)
        assert ds.functions.containsBytes32(K.account_position_list_key(p.account), key).call(block_identifier=blk)
        def get(fn: str, field: str, key: bytes = key):
            return getattr(ds.functions, fn)(K.field_key(key, field)).call(block_identifier=blk)

        assert get("getAddress", "ACCOUNT") == p.account
        assert get("getAddress", "MARKET") == p.market
        assert get("getAddress", "COLLATERAL_TOKEN") == p.collateral_token
        assert get("getUint", "SIZE_IN_USD") == p.size_in_usd
        assert get("getUint", "SIZE_IN_TOKENS") == p.size_in_tokens
        assert get("getUint", "COLLATERAL_AMOUNT") == p.collateral_amount
        assert get("getInt", "PENDING_IMPACT_AMOUNT") == p.pending_impact_amount
        assert get("getUint", "BORROWING_FACTOR") == p.borrowing_factor
        assert get("getUint", "FUNDING_FEE_AMOUNT_PER_SIZE") == p.funding_fee_amount_per_size
        assert get("getUint", "LONG_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE") == p.long_token_claimable_funding_amount_per_size
        assert get("getUint", "SHORT_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE") == p.short_token_claimable_funding_amount_per_size
        assert get("getUint", "INCREASED_AT_TIME") == p.increased_at_time
        assert get("getUint", "DECREASED_AT_TIME") == p.decreased_at_time
        assert get("getBool", "IS_LONG") == p.is_long
        assert _reader(devnet).functions.getPosition(devnet.data_store, key).call(block_identifier=blk) == _props(p)


def test_every_seeded_position_reads_back_through_reader(devnet) -> None:
    """All positions, paged from POSITION_LIST and decoded through Multicall3.aggregate3."""
    ds, reader, blk = _ds(devnet), _reader(devnet), devnet.book.block_number
    n = ds.functions.getBytes32Count(K.POSITION_LIST).call(block_identifier=blk)
    assert n == len(devnet.book.positions)
    keys = []
    for start in range(0, n, 500):
        keys += ds.functions.getBytes32ValuesAt(K.POSITION_LIST, start, start + 500).call(block_identifier=blk)
    assert len(keys) == n == len(set(keys))
    mc = devnet.w3.eth.contract(address=MULTICALL3, abi=load_abi("multicall3", "Multicall3"))
    tuple_type = ("((address,address,address),(uint256,uint256,uint256,int256,uint256,uint256,uint256,uint256,"
                  "uint256,uint256),(bool))")
    got = {}
    for start in range(0, n, 300):
        calls = [(devnet.reader, False, reader.encode_abi("getPosition", args=[devnet.data_store, k]))
                 for k in keys[start:start + 300]]
        for k, (ok, ret) in zip(keys[start:start + 300], mc.functions.aggregate3(calls).call(block_identifier=blk)):
            assert ok
            (props,) = decode([tuple_type], ret)
            got["0x" + k.hex()] = props
    for p in devnet.book.positions:
        a, nums, flags = got[p.key]
        assert (tuple(x.lower() for x in a), nums, flags) == (
            tuple(x.lower() for x in _props(p)[0]), _props(p)[1], _props(p)[2])


def test_v2_1_reader_layout(devnet) -> None:
    """The same DataStore through a Reader answering in the older layout (no pendingImpactAmount)."""
    r21 = devnet.w3.eth.contract(address=devnet.addresses["reader_v2_1"], abi=load_abi("gmx_v2", "Reader_v2_1"))
    blk = devnet.book.block_number
    for p in devnet.book.positions[:20]:
        a, nums, flags = _props(p)
        want = (a, nums[:3] + nums[4:], flags)
        assert r21.functions.getPosition(devnet.data_store, bytes.fromhex(p.key[2:])).call(block_identifier=blk) == want
    p = devnet.book.positions[0]
    got = r21.functions.getAccountPositions(devnet.data_store, p.account, 0, 100).call(block_identifier=blk)
    assert len(got) == sum(1 for q in devnet.book.positions if q.account == p.account)
    assert load_chain_file(devnet.chain_file).extra["devnet"]["reader_v2_1"] == devnet.addresses["reader_v2_1"]


def test_account_positions_and_markets_through_reader(devnet) -> None:
    reader, blk = _reader(devnet), devnet.book.block_number
    acct = max({p.account for p in devnet.book.positions},
               key=lambda a: sum(1 for p in devnet.book.positions if p.account == a))
    mine = {p.key: p for p in devnet.book.positions if p.account == acct}
    assert len(mine) > 1
    got = reader.functions.getAccountPositions(devnet.data_store, acct, 0, 10_000).call(block_identifier=blk)
    assert len(got) == len(mine)
    for props in got:
        a, _nums, (is_long,) = props
        p = mine["0x" + K.position_key(a[0], a[1], a[2], is_long).hex()]
        assert props == _props(p)
    markets = reader.functions.getMarkets(devnet.data_store, 0, 1000).call(block_identifier=blk)
    assert [tuple(m) for m in markets] == [(m.market_token, m.index_token, m.long_token, m.short_token)
                                           for m in devnet.book.markets]
    # MarketStoreUtils.getMarketSaltHash → market, readable by salt
    from defi_perps.devnet.deploy import market_salt

    m = devnet.book.markets[0]
    salt = market_salt(m.index_token, m.long_token, m.short_token)
    assert _ds(devnet).functions.getAddress(K.market_salt_hash(salt)).call(block_identifier=blk) == m.market_token
    assert reader.functions.getMarketBySalt(devnet.data_store, salt).call(block_identifier=blk)[0] == m.market_token
    # unknown keys give zeroed records, as on GMX
    zero = "0x" + "00" * 20
    assert reader.functions.getMarket(devnet.data_store, DEPLOYER).call() == (zero,) * 4
    assert reader.functions.getPosition(devnet.data_store, b"\x01" * 32).call()[1][0] == 0


def test_market_values_equal_position_sums_and_book(devnet) -> None:
    ds, blk = _ds(devnet), devnet.book.block_number
    sums: dict = {}
    for p in devnet.book.positions:
        s = sums.setdefault((p.market, p.collateral_token, p.is_long), [0, 0, 0])
        s[0] += p.size_in_usd
        s[1] += p.size_in_tokens
        s[2] += p.collateral_amount
    for m in devnet.book.markets:
        for oi in m.open_interest:
            want = sums.get((oi.market, oi.collateral_token, oi.is_long), [0, 0, 0])
            assert [oi.open_interest_usd, oi.open_interest_in_tokens, oi.collateral_sum] == want
            k = (oi.market, oi.collateral_token, oi.is_long)
            assert ds.functions.getUint(K.open_interest_key(*k)).call(block_identifier=blk) == want[0]
            assert ds.functions.getUint(K.open_interest_in_tokens_key(*k)).call(block_identifier=blk) == want[1]
            assert ds.functions.getUint(K.collateral_sum_key(*k)).call(block_identifier=blk) == want[2]
        mt = m.market_token

        def u(key: bytes) -> int:
            return ds.functions.getUint(key).call(block_identifier=blk)

        assert u(K.pool_amount_key(mt, m.long_token)) == m.pool_amount_long > 0
        assert u(K.min_collateral_factor_key(mt)) == m.min_collateral_factor
        assert u(K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_ADL, mt, True)) == m.max_pnl_factor_for_adl_long
        assert u(K.max_pnl_factor_key(K.MAX_PNL_FACTOR_FOR_TRADERS, mt, False)) == m.max_pnl_factor_for_traders_short
        assert u(K.min_pnl_factor_after_adl_key(mt, True)) == m.min_pnl_factor_after_adl_long
        assert u(K.reserve_factor_key(mt, True)) == m.reserve_factor_long
        assert u(K.position_impact_factor_key(mt, False)) == m.position_impact_factor_negative
        assert u(K.liquidation_fee_factor_key(mt)) == m.liquidation_fee_factor
        assert u(K.cumulative_borrowing_factor_key(mt, True)) == m.cumulative_borrowing_factor_long
        assert ds.functions.getBool(K.is_adl_enabled_key(mt, True)).call(block_identifier=blk) is False
        assert ds.functions.getInt(K.saved_funding_factor_per_second_key(mt)).call(
            block_identifier=blk) == m.saved_funding_factor_per_second
    assert ds.functions.getUint(K.MIN_COLLATERAL_USD).call() == 10**30


def test_oracle_feeds_registered_like_gmx(devnet) -> None:
    ds = _ds(devnet)
    agg = load_abi("chainlink", "AggregatorV3")
    for price in devnet.book.prices:
        feed = ds.functions.getAddress(K.price_feed_key(price.token)).call(block_identifier=devnet.book.block_number)
        assert feed == price.feed
        mult = ds.functions.getUint(K.price_feed_multiplier_key(price.token)).call()
        assert mult == price.feed_multiplier
        f = devnet.w3.eth.contract(address=feed, abi=agg)
        rnd = f.functions.latestRoundData().call(block_identifier=devnet.book.block_number)
        assert rnd[1] == price.answer and rnd[0] == price.round_id == rnd[4]
        dec = f.functions.decimals().call()
        token = next(t for t in devnet.book.tokens if t.address == price.token)
        assert mult == 10 ** (60 - dec - token.decimals)
        assert price.answer * mult // 10**30 == price.price_min  # GMX per-unit price
        assert f.functions.getRoundData(rnd[0]).call()[1] == rnd[1]


def test_book_shape(devnet) -> None:
    book = devnet.book
    assert len(book.markets) >= 6
    synth = [t for t in book.tokens if t.synthetic]
    assert synth and devnet.w3.eth.get_code(synth[0].address) == b""
    assert any(m.index_token == synth[0].address for m in book.markets)
    assert {p.is_long for p in book.positions} == {True, False}
    m = next(m for m in book.markets if m.long_token != m.short_token)
    colls = {p.collateral_token for p in book.positions if p.market == m.market_token}
    assert colls == {m.long_token, m.short_token}
    assert len({p.account for p in book.positions}) == 400
    # leverage at open within 1.1x–100x; under GMX's exact liquidation rule (close fee and pending
    # borrowing fee included, PositionUtils.isPositionLiquidatable) none is liquidatable at the
    # genesis prices, and some are close to it.
    from defi_perps.domain import GlobalParams
    from defi_perps.protocols.gmx_v2 import math as gm

    price = {pr.token: pr.price_min for pr in book.prices}
    market = {m.market_token: m for m in book.markets}
    g = GlobalParams(min_collateral_usd=10**30, min_position_size_usd=0,
                     liquidation_fee_receiver_factor=0, borrowing_fee_receiver_factor=0)
    levs, near = [], 0
    for p in book.positions:
        m = market[p.market]
        prices = gm.MarketPrices(*(gm.Price(price[t], price[t]) for t in (m.index_token, m.long_token, m.short_token)))
        check = gm.is_position_liquidatable(p, m, prices, g)
        assert not check.liquidatable, (check, p)
        near += check.remaining_collateral_usd < check.min_collateral_usd_for_leverage * 13 // 10
        levs.append(p.size_in_usd / (p.collateral_amount * price[p.collateral_token]))
    assert 1.0 < min(levs) < 1.5 and 50 < max(levs) <= 100.01
    assert 0.01 * len(levs) < near < 0.1 * len(levs)
    sizes = sorted(p.size_in_usd for p in book.positions)
    assert sizes[-1] > 50 * sizes[len(sizes) // 2]  # heavy tail


def test_multicall3_at_canonical_address(devnet) -> None:
    w3 = devnet.w3
    assert w3.eth.get_code(MULTICALL3) != b""
    mc = w3.eth.contract(address=MULTICALL3, abi=load_abi("multicall3", "Multicall3"))
    ds = _ds(devnet)
    blk = w3.eth.block_number
    assert mc.functions.getBlockNumber().call(block_identifier=blk) == blk
    assert mc.functions.getChainId().call() == 31337
    assert mc.functions.getEthBalance(DEPLOYER).call() == w3.eth.get_balance(DEPLOYER)
    assert mc.functions.getCurrentBlockTimestamp().call(block_identifier=blk) == w3.eth.get_block(blk)["timestamp"]
    good = (devnet.data_store, False, ds.encode_abi("getBytes32Count", args=[K.POSITION_LIST]))
    bad = (devnet.data_store, True, bytes.fromhex("deadbeef"))
    res = mc.functions.aggregate3([good, bad]).call()
    assert res[0][0] is True and int.from_bytes(res[0][1], "big") >= 1
    assert res[1][0] is False
    number, datas = mc.functions.aggregate([(good[0], good[2])]).call(block_identifier=blk)
    assert number == blk and datas[0] == res[0][1]
    assert [r[0] for r in mc.functions.tryAggregate(False, [(good[0], good[2]), (bad[0], bad[2])]).call()] == [True, False]
    with pytest.raises(ContractLogicError):
        mc.functions.aggregate3([(devnet.data_store, False, bytes.fromhex("deadbeef"))]).call()


def test_set_index_semantics_match_gmx(devnet) -> None:
    """ValuesAt clamps `end`, reverts when start > end, and removal swaps the last item in."""
    ds = devnet.contract("DataStore")
    set_key = keccak(text="defi-perps test set")  # a set GMX never uses: the book is untouched
    vals = [bytes([i]) * 32 for i in range(1, 6)]

    def tx(fn, *args):
        h = devnet.w3.eth.send_transaction({"from": DEPLOYER, "to": ds.address, "data": ds.encode_abi(fn, args=list(args))})
        assert devnet.w3.eth.wait_for_transaction_receipt(h)["status"] == 1

    for v in vals:
        tx("addBytes32", set_key, v)
    tx("addBytes32", set_key, vals[0])  # adding twice is a no-op

    def get(start: int, end: int) -> list[bytes]:
        return ds.functions.getBytes32ValuesAt(set_key, start, end).call()

    assert ds.functions.getBytes32Count(set_key).call() == 5
    assert get(0, 100) == vals and get(3, 5) == vals[3:] and get(5, 9) == []
    with pytest.raises(ContractLogicError):
        get(7, 9)  # start beyond the clamped end
    tx("removeBytes32", set_key, vals[1])
    assert get(0, 10) == [vals[0], vals[4], vals[2], vals[3]]  # OpenZeppelin swap-and-pop order
    assert not ds.functions.containsBytes32(set_key, vals[1]).call()
    # non-controllers cannot write
    with pytest.raises(ContractLogicError):
        devnet.w3.eth.call({"from": "0x000000000000000000000000000000000000dEaD", "to": ds.address,
                            "data": ds.encode_abi("setUint", args=[set_key, 1])})
