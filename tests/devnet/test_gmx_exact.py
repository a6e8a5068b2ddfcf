"""The v2.2 state behind the exact liquidation check, read from the devnet the way the reader
reads mainnet (same keys.py derivations and ABIs): funding per size, referral storage, pro tiers,
lent / pending impact, borrowing-rate inputs; the Position layout probe; a synthetic index token
without a price skips only its market."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from defi_perps.config import load_chain_file
from defi_perps.indexer.gmx_v2 import index_gmx_v2
from defi_perps.protocols.gmx_v2 import math as gm
from defi_perps.protocols.gmx_v2.reader import detect_position_layout
from defi_perps.rpc.client import RpcClient

pytestmark = pytest.mark.anvil


def _read(devnet, chain_file: Path | str | None = None, block: int | None = None):  # type: ignore[no-untyped-def]
    cfg = load_chain_file(chain_file or devnet.chain_file)
    report, snap = index_gmx_v2(cfg, block=block if block is not None else devnet.book.block_number, store=False)
    return report, snap


def _variant(devnet, tmp_path: Path, replace: dict[str, str]) -> Path:  # type: ignore[no-untyped-def]
    text = Path(devnet.chain_file).read_text()
    for a, b in replace.items():
        assert a in text, a
        text = text.replace(a, b)
    f = tmp_path / "variant.toml"
    f.write_text(text)
    return f


def test_v22_state_reads_back_as_seeded(devnet) -> None:
    _r, snap = _read(devnet)
    book = devnet.book
    assert snap.globals.use_open_interest_in_tokens_for_balance and snap.globals.skip_borrowing_fee_for_smaller_side
    want = {m.market_token: m for m in book.markets}
    for m in snap.markets:
        assert m == want[m.market_token]      # every field, funding per size and v2.2 values included
    assert any(o.funding_fee_amount_per_size > 0 for m in snap.markets for o in m.open_interest)
    assert any(m.optimal_usage_factor_long for m in snap.markets)                   # the kink market
    assert any(m.position_impact_pool_distribution_rate for m in snap.markets)
    assert all(m.total_pending_impact_amount == sum(p.pending_impact_amount for p in book.positions
                                                    if p.market == m.market_token) for m in snap.markets)
    # referral codes → owners → tiers (one custom share), and pro tiers, as seeded
    assert sorted(snap.accounts, key=lambda a: a.account) == sorted(book.accounts, key=lambda a: a.account)
    assert len(snap.accounts) > 50 and {a.discount_share_bps for a in snap.accounts} >= {5000, 7500}
    assert any(a.pro_tier == 1 for a in snap.accounts)


def test_exact_check_on_the_devnet_book(devnet) -> None:
    _r, snap = _read(devnet)
    prices = {p.token: gm.Price.of(p) for p in snap.prices}
    fees_of = {a.account: a for a in snap.accounts}
    markets = {m.market_token: m for m in snap.markets}
    funded = discounted = 0
    for p in snap.positions:
        m = markets[p.market]
        mp = gm.MarketPrices(prices[m.index_token], prices[m.long_token], prices[m.short_token])
        c = gm.is_position_liquidatable(p, m, mp, snap.globals, account=fees_of.get(p.account))
        assert not c.liquidatable     # the generator keeps every seeded position above its threshold
        funded += c.fees.funding_fee_amount > 0
        discounted += c.fees.total_discount_amount > 0
    assert funded == len(snap.positions) and discounted > 0
    for m in snap.markets:
        mp = gm.MarketPrices(prices[m.index_token], prices[m.long_token], prices[m.short_token])
        info = gm.pool_value_info(m, mp, snap.globals, snap.meta.block_timestamp)
        assert info.total_borrowing_fees > 0 and info.lent_impact_pool_amount > 0


def test_layout_detected_with_one_probe_and_overridable(devnet, tmp_path: Path) -> None:
    client = RpcClient(devnet.rpc_url)
    blk = devnet.book.block_number
    assert detect_position_layout(client, devnet.reader, devnet.data_store, blk) == "v2.2"
    assert detect_position_layout(client, devnet.addresses["reader_v2_1"], devnet.data_store, blk) == "v2.1"
    # not a Reader (the DataStore has no getPosition; an EOA has no code): one clear error
    from defi_perps.exceptions import AbiMismatchError

    for addr in (devnet.data_store, "0x" + "12" * 20):
        with pytest.raises(AbiMismatchError, match="getPosition"):
            detect_position_layout(client, addr, devnet.data_store, blk)
    # no position_layout in the chain file: the v2.1 Reader is detected and read correctly
    f = _variant(devnet, tmp_path, {'position_layout = "v2.2"\n': "",
                                    f'reader = "{devnet.reader}"': f'reader = "{devnet.addresses["reader_v2_1"]}"'})
    assert load_chain_file(f).gmx_v2.position_layout is None
    _r, snap = _read(devnet, f)
    want = {p.key: dataclasses.replace(p, pending_impact_amount=0) for p in devnet.book.positions}
    assert {p.key: p for p in snap.positions} == want


def test_synthetic_index_without_price_skips_only_its_market(devnet_factory) -> None:
    h = devnet_factory(positions=200, accounts=60, seed=5)
    doge = h.addresses["tokens"]["DOGE"]
    from defi_perps.protocols.gmx_v2 import keys as K

    blk = h.set_address(K.price_feed_key(doge), "0x" + "00" * 20)   # DOGE loses its feed
    cfg = load_chain_file(h.chain_file)
    report, snap = index_gmx_v2(cfg, block=blk, store=False)
    doge_markets = [mt for name, mt in h.addresses["markets"].items() if name.startswith("DOGE")]
    assert doge_markets and not any(m.market_token in doge_markets for m in snap.markets)
    assert not any(p.market in doge_markets for p in snap.positions)
    assert len(snap.markets) == len(h.addresses["markets"]) - len(doge_markets)
    msg = [w for w in report.warnings if doge in w]
    assert msg and "--prices" in msg[0] and "synthetic" in msg[0]
