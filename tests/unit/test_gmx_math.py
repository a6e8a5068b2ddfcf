"""GMX v2 formulas (protocols/gmx_v2/math.py): worked examples and consistency between the exact
liquidation predicate and the closed-form liquidation price."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from defi_perps.domain import GlobalParams, Market, OpenInterest, Position
from defi_perps.protocols.gmx_v2 import math as gm

F = 10**30
ETH, USDC, MKT = "0x" + "e" * 40, "0x" + "c" * 40, "0x" + "a" * 40
ETH_UNIT = 10**12      # $1 per 1e-18 ETH in GMX per-unit form: usd * 10**(30-18)
USDC_UNIT = 10**24     # $1 in per-unit form for a 6-decimal token


def market(**kw: object) -> Market:
    base = dict(
        market_token=MKT, index_token=ETH, long_token=ETH, short_token=USDC,
        pool_amount_long=1000 * 10**18, pool_amount_short=3_000_000 * 10**6,
        reserve_factor_long=F, reserve_factor_short=F, open_interest_reserve_factor_long=F,
        open_interest_reserve_factor_short=F, max_pnl_factor_for_traders_long=9 * F // 10,
        max_pnl_factor_for_traders_short=9 * F // 10, max_pnl_factor_for_adl_long=85 * F // 100,
        max_pnl_factor_for_adl_short=85 * F // 100, min_pnl_factor_after_adl_long=77 * F // 100,
        min_pnl_factor_after_adl_short=77 * F // 100, is_adl_enabled_long=False, is_adl_enabled_short=False,
        min_collateral_factor=F // 100, min_collateral_factor_for_liquidation=F // 100,
        position_impact_factor_positive=0, position_impact_factor_negative=0,
        position_impact_exponent_factor_positive=F, position_impact_exponent_factor_negative=2 * F,
        max_position_impact_factor_positive=0, max_position_impact_factor_negative=0,
        max_position_impact_factor_for_liquidations=0, position_fee_factor_positive=4 * F // 10000,
        position_fee_factor_negative=6 * F // 10000, liquidation_fee_factor=2 * F // 1000,
        borrowing_factor_long=0, borrowing_factor_short=0, borrowing_exponent_factor_long=F,
        borrowing_exponent_factor_short=F, cumulative_borrowing_factor_long=0,
        cumulative_borrowing_factor_short=0, funding_factor=0, funding_exponent_factor=F,
        saved_funding_factor_per_second=0, position_impact_pool_amount=0,
        virtual_market_id="0x" + "00" * 32, virtual_token_id="0x" + "00" * 32, virtual_inventory_for_positions=0,
        open_interest=(OpenInterest(MKT, USDC, True, 1_000_000 * F, 500 * 10**18, 0),
                       OpenInterest(MKT, USDC, False, 500_000 * F, 250 * 10**18, 0)),
    )
    base.update(kw)
    return Market(**base)  # type: ignore[arg-type]


def prices(eth_usd: int) -> gm.MarketPrices:
    p = gm.Price(eth_usd * ETH_UNIT, eth_usd * ETH_UNIT)
    return gm.MarketPrices(p, p, gm.Price(USDC_UNIT, USDC_UNIT))


def test_pnl_to_pool_factor_worked_example() -> None:
    m = market()
    # longs hold 500 ETH bought for $1M; at $3000 they are worth $1.5M → pnl +$500k.
    # pool for longs: 1000 ETH × $3000 = $3M → factor 1/6.
    assert gm.get_pnl(m, prices(3000).index, True, True) == 500_000 * F
    assert gm.pnl_to_pool_factor(m, prices(3000), True) == F // 6
    # shorts sold 250 ETH for $500k; at $3000 they owe $750k → pnl −$250k over a $3M USDC pool.
    assert gm.pnl_to_pool_factor(m, prices(3000), False) == -(F // 12)
    assert not gm.is_pnl_factor_exceeded_for_adl(m, prices(3000), True)
    # at $9000: pnl $3.5M over a $9M long pool = 0.389, still below the 0.85 threshold
    assert not gm.is_pnl_factor_exceeded_for_adl(m, prices(9000), True)


def test_adl_threshold_crossing() -> None:
    m = market(pool_amount_long=200 * 10**18)
    # 500 ETH long OI against a 200 ETH pool: pnl/pool = (500P − 1M) / (200P) > 0.85 ⇔ P > 3030.3
    assert not gm.is_pnl_factor_exceeded_for_adl(m, prices(3030), True)
    assert gm.is_pnl_factor_exceeded_for_adl(m, prices(3031), True)


def test_single_token_market_divisor() -> None:
    m = market(short_token=ETH, pool_amount_short=1000 * 10**18,
               open_interest=(OpenInterest(MKT, ETH, True, 1_000_000 * F, 500 * 10**18, 0),))
    assert gm.pool_divisor(m) == 2
    assert gm.open_interest(m, True) == 1_000_000 * F    # two halves of the one stored value
    assert gm.pool_amount(m, True) == 500 * 10**18


def test_liquidation_check_worked_example() -> None:
    m = market()
    g = GlobalParams(min_collateral_usd=F, min_position_size_usd=0, liquidation_fee_receiver_factor=0,
                     borrowing_fee_receiver_factor=0)
    # 10x long: $10,000 of ETH at $2000 (5 ETH) with $1,000 USDC collateral.
    p = Position("0x" + "00" * 32, "0x" + "1" * 40, MKT, USDC, True, 10_000 * F, 5 * 10**18, 1000 * 10**6, 0,
                 0, 0, 0, 0, 0, 0)
    ok = gm.is_position_liquidatable(p, m, prices(2000), g)
    assert not ok.liquidatable and ok.remaining_collateral_usd == 1000 * F - 6 * F  # close fee 0.06 %
    lp = gm.liquidation_price(p, m, prices(2000), g)
    # remaining = 1000 − 6 + 5·(P − 2000) < 100 (1 % of size) ⇔ P < 1821.2
    assert lp == Fraction(18212, 10) * ETH_UNIT
    assert not gm.is_position_liquidatable(p, m, prices(1822), g).liquidatable
    assert gm.is_position_liquidatable(p, m, prices(1821), g).reason == "min collateral for leverage"


@settings(max_examples=60, deadline=None)
@given(size_usd=st.integers(100, 1_000_000), lev=st.integers(2, 90), px=st.integers(100, 100_000),
       is_long=st.booleans(), coll_index=st.booleans(), cum=st.integers(0, 10**27))
def test_closed_form_price_matches_exact_predicate(size_usd: int, lev: int, px: int, is_long: bool,
                                                   coll_index: bool, cum: int) -> None:
    m = market(cumulative_borrowing_factor_long=cum, cumulative_borrowing_factor_short=cum)
    g = GlobalParams(F, 0, 0, 0)
    pr = prices(px)
    size_tokens = size_usd * 10**18 // px
    coll_usd = size_usd * F // lev
    coll_tok = ETH if coll_index else USDC
    amount = coll_usd // (px * ETH_UNIT) if coll_index else coll_usd // USDC_UNIT
    p = Position("0x" + "00" * 32, "0x" + "1" * 40, MKT, coll_tok, is_long, size_usd * F, size_tokens, amount, 0,
                 0, 0, 0, 0, 0, 0)
    lp = gm.liquidation_price(p, m, pr, g)
    if lp is None or lp <= 2:
        return
    below, above = int(lp) - 1, int(lp) + 2
    lo_p = replace(pr, index=gm.Price(below, below), long=gm.Price(below, below))
    hi_p = replace(pr, index=gm.Price(above, above), long=gm.Price(above, above))
    # costs are held at the current price in the closed form; move costs back to that basis for the
    # predicate by pricing fees with the snapshot's collateral price (USDC) — exact when coll is USDC.
    if coll_index:
        return
    worse, better = (lo_p, hi_p) if is_long else (hi_p, lo_p)
    assert gm.is_position_liquidatable(p, m, worse, g).liquidatable
    assert not gm.is_position_liquidatable(p, m, better, g).liquidatable
