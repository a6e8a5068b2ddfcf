"""Book from hand-built GMX v2 domain records, checked against GMX's liquidation rule in exact ints."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from defi_perps.book import from_snapshot
from defi_perps.domain import USD_SCALE, GlobalParams, Market, OraclePrice, Position, Snapshot, SnapshotMeta, Token
from defi_perps.engine import make_rules
from defi_perps.engine.inputs import prepare_positions
from defi_perps.exceptions import InputError

WETH, USDC = "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"
MKT = "0x70d95587d40A2caf56bd97485aB3Eec10Bee6336"
F30 = USD_SCALE


def pct(x: str) -> int:
    return int(Fraction(x) * F30 / 100)


def _market(**kw) -> Market:
    base = dict(market_token=MKT, index_token=WETH, long_token=WETH, short_token=USDC,
                pool_amount_long=10_000 * 10**18, pool_amount_short=30_000_000 * 10**6,
                reserve_factor_long=pct("95"), reserve_factor_short=pct("95"),
                open_interest_reserve_factor_long=pct("90"), open_interest_reserve_factor_short=pct("90"),
                max_pnl_factor_for_traders_long=pct("90"), max_pnl_factor_for_traders_short=pct("90"),
                max_pnl_factor_for_adl_long=pct("85"), max_pnl_factor_for_adl_short=pct("85"),
                min_pnl_factor_after_adl_long=pct("77"), min_pnl_factor_after_adl_short=pct("77"),
                is_adl_enabled_long=False, is_adl_enabled_short=False,
                min_collateral_factor=pct("0.5"), min_collateral_factor_for_liquidation=pct("0.5"),
                position_impact_factor_positive=0, position_impact_factor_negative=0,
                position_impact_exponent_factor_positive=F30, position_impact_exponent_factor_negative=2 * F30,
                max_position_impact_factor_positive=0, max_position_impact_factor_negative=0,
                max_position_impact_factor_for_liquidations=0,
                position_fee_factor_positive=pct("0.04"), position_fee_factor_negative=pct("0.06"),
                liquidation_fee_factor=pct("0.2"), borrowing_factor_long=0, borrowing_factor_short=0,
                borrowing_exponent_factor_long=F30, borrowing_exponent_factor_short=F30,
                cumulative_borrowing_factor_long=pct("0.1"), cumulative_borrowing_factor_short=0,
                funding_factor=0, funding_exponent_factor=F30, saved_funding_factor_per_second=0,
                position_impact_pool_amount=0, virtual_market_id="0x" + "00" * 32, virtual_token_id="0x" + "00" * 32,
                virtual_inventory_for_positions=0)
    base.update(kw)
    return Market(**base)


ETH_PX = 3000 * 10**12          # $3000 per ETH in GMX per-unit format (30 - 18 decimals)
USDC_PX = 10**24                # $1 per USDC (30 - 6 decimals)


def _pos(i: int, is_long: bool, size_usd: int, entry_usd: int, coll_token: str, coll_amount: int,
         borrowing_factor: int = 0) -> Position:
    size_tokens = size_usd * 10**18 // entry_usd
    return Position(key=f"0x{i:064x}", account=f"0x{i:040x}", market=MKT, collateral_token=coll_token,
                    is_long=is_long, size_in_usd=size_usd * F30, size_in_tokens=size_tokens,
                    collateral_amount=coll_amount, pending_impact_amount=0, borrowing_factor=borrowing_factor,
                    funding_fee_amount_per_size=0, long_token_claimable_funding_amount_per_size=0,
                    short_token_claimable_funding_amount_per_size=0, increased_at_time=0, decreased_at_time=0)


def snapshot(positions) -> Snapshot:
    meta = SnapshotMeta(chain_id=42161, block_number=123, block_timestamp=1_760_000_000, block_hash="0x" + "ab" * 32,
                        protocol="gmx_v2", data_store="0xFD70de6b91282D8017aA4E741e9Ae325CAb992d8",
                        price_source="chainlink", id=7)
    return Snapshot(meta=meta, tokens=(Token(WETH, "WETH", 18), Token(USDC, "USDC", 6)),
                    prices=(OraclePrice(WETH, ETH_PX - 10**12, ETH_PX + 10**12, "chainlink"),
                            OraclePrice(USDC, USDC_PX, USDC_PX, "chainlink")),
                    markets=(_market(),), positions=tuple(positions),
                    globals=GlobalParams(min_collateral_usd=F30, min_position_size_usd=F30,
                                         liquidation_fee_receiver_factor=0, borrowing_fee_receiver_factor=0))


POSITIONS = [
    _pos(1, True, 30_000, 2900, USDC, 3_000 * 10**6),                 # 10x long, USDC collateral
    _pos(2, False, 60_000, 3100, USDC, 2_000 * 10**6),                # 30x short
    _pos(3, True, 90_000, 3050, WETH, 2 * 10**18),                    # long, collateral in ETH
    _pos(4, True, 15_000, 2950, USDC, 1_000 * 10**6, borrowing_factor=pct("0.05")),
]


def gmx_liquidatable(p: Position, mk: Market, price_usd: Fraction, glob: GlobalParams) -> bool:
    """isPositionLiquidatable in exact arithmetic (protocols.md §1.2), impact and funding at 0."""
    index_px = price_usd * 10**30 / 10**18                          # per-unit price
    coll_px = index_px if p.collateral_token == WETH else Fraction(USDC_PX)
    collateral_usd = p.collateral_amount * coll_px
    pnl = p.size_in_tokens * index_px - p.size_in_usd
    if not p.is_long:
        pnl = -pnl
    cum = mk.cumulative_borrowing_factor_long if p.is_long else mk.cumulative_borrowing_factor_short
    fees = Fraction(p.size_in_usd * mk.position_fee_factor_negative, F30) \
        + Fraction(p.size_in_usd * (cum - p.borrowing_factor), F30)
    remaining = collateral_usd + pnl - fees
    return (remaining < glob.min_collateral_usd or remaining <= 0
            or remaining < Fraction(p.size_in_usd * mk.min_collateral_factor_for_liquidation, F30))


def test_conversion_of_exact_ints():
    book = from_snapshot(snapshot(POSITIONS))
    assert book.chain_id == 42161 and book.block_number == 123 and book.n_positions == 4
    assert book.price[0] == 3000.0
    assert book.entry_price[0] == pytest.approx(2900.0, rel=1e-12)
    assert book.size[0] == pytest.approx(30_000 / 2900, rel=1e-12)
    assert book.collateral_usd[0] == pytest.approx(3000.0 - 30_000 * 0.001)   # minus pending borrowing
    assert book.collateral_tokens[2] == 2.0 and book.collateral_usd[2] == pytest.approx(-90.0)
    assert book.collateral_usd[3] == pytest.approx(1000.0 - 15_000 * 0.0005)
    assert book.mm_rate[0] == 0.005 and book.close_fee_rate[0] == 0.0006 and book.liq_fee_rate[0] == 0.002
    assert book.max_pnl_factor_adl[0].tolist() == [0.85, 0.85] and book.min_collateral_usd[0] == 1.0
    assert book.pool_short_usd[0] == 30_000_000.0 and book.pool_long_tokens[0] == pytest.approx(10_000 * 2999 / 3000)


def test_thresholds_match_gmx_rule_in_exact_arithmetic():
    snap = snapshot(POSITIONS)
    book = from_snapshot(snap)
    rules = make_rules(mm_on_entry_notional=True, count_close_fee=True, exec_mode="oracle")
    pos, order = prepare_positions(book, rules)
    for k, i in enumerate(order):
        p = POSITIONS[i]
        thr = Fraction(pos.thr[k])
        worse = thr * Fraction(999_999, 1_000_000) if p.is_long else thr * Fraction(1_000_001, 1_000_000)
        better = thr * Fraction(1_000_001, 1_000_000) if p.is_long else thr * Fraction(999_999, 1_000_000)
        assert gmx_liquidatable(p, snap.markets[0], worse, snap.globals), i
        assert not gmx_liquidatable(p, snap.markets[0], better, snap.globals), i


def test_missing_price_is_an_input_error():
    snap = snapshot(POSITIONS)
    broken = Snapshot(meta=snap.meta, tokens=snap.tokens, prices=snap.prices[:1], markets=snap.markets,
                      positions=snap.positions)
    with pytest.raises(InputError, match="no oracle price .*index again with --prices"):
        from_snapshot(broken)
    assert np.all(from_snapshot(snapshot([])).size.size == 0)


def test_book_carries_the_exact_check_terms():
    """Funding owed comes off collateral; each position's exact threshold, remaining collateral,
    close costs and flag are the contract check's (protocols/gmx_v2/math.py), referral included."""
    from dataclasses import replace

    from defi_perps.domain import AccountFees, OpenInterest
    from defi_perps.protocols.gmx_v2 import math as gm

    # longs pay funding: latest USDC per-size 1e18 above the snapshot = $0.001 per $1 of size
    oi = (OpenInterest(MKT, USDC, True, 200_000 * F30, 60 * 10**18, 0, 10**18, 0),
          OpenInterest(MKT, WETH, True, 0, 0, 0, 10**18 * 10**24 // (3000 * 10**12), 0),
          OpenInterest(MKT, USDC, False, 100_000 * F30, 30 * 10**18, 0))
    snap = snapshot(POSITIONS)
    snap = replace(snap, markets=(_market(open_interest=oi),),
                   accounts=(AccountFees(POSITIONS[0].account, "0x" + "ab" * 32, "0x" + "2" * 40, 1000, 5000),))
    book = from_snapshot(snap)
    # position 1 (30k long, USDC): borrowing $30 and funding $30 are owed
    assert book.collateral_usd[0] == pytest.approx(3000.0 - 30.0 - 30.0)
    m = snap.markets[0]
    prices = gm.MarketPrices(gm.Price(ETH_PX - 10**12, ETH_PX + 10**12), gm.Price(ETH_PX - 10**12, ETH_PX + 10**12),
                             gm.Price(USDC_PX, USDC_PX))
    for k, p in enumerate(POSITIONS):
        acct = snap.accounts[0] if k == 0 else None
        c = gm.is_position_liquidatable(p, m, prices, snap.globals, account=acct)
        assert book.remaining_collateral_usd[k] == float(Fraction(c.remaining_collateral_usd, F30))
        assert book.liquidatable_now[k] == c.liquidatable
        lp = gm.liquidation_price(p, m, prices, snap.globals, acct)
        assert book.liquidation_price[k] == float(lp * 10**18 / F30)
    # the referral discount (5 % of the fee) shows in position 1's close costs: fee 0.04 % (closing
    # the larger long side improves balance) × $30k = $12 − $0.60, + $30 borrowing + $30 funding
    assert book.close_cost_usd[0] == pytest.approx(12.0 - 0.6 + 30.0 + 30.0)
    assert not book.liquidatable_now.any() and np.all(np.isfinite(book.liquidation_price))
