"""GMX v2 formulas (protocols/gmx_v2/math.py): worked examples and consistency between the exact
liquidation predicate and the closed-form liquidation price."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from defi_perps.domain import AccountFees, GlobalParams, Market, OpenInterest, OraclePrice, Position, Snapshot, SnapshotMeta, Token
from defi_perps.indexer.summary import dec, summarize
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


G0 = GlobalParams(min_collateral_usd=F, min_position_size_usd=0, liquidation_fee_receiver_factor=0,
                  borrowing_fee_receiver_factor=0)
ACCOUNT = "0x" + "1" * 40


def position(**kw: object) -> Position:
    base = dict(key="0x" + "00" * 32, account=ACCOUNT, market=MKT, collateral_token=USDC, is_long=True,
                size_in_usd=10_000 * F, size_in_tokens=5 * 10**18, collateral_amount=1000 * 10**6,
                pending_impact_amount=0, borrowing_factor=0, funding_fee_amount_per_size=0,
                long_token_claimable_funding_amount_per_size=0, short_token_claimable_funding_amount_per_size=0,
                increased_at_time=0, decreased_at_time=0)
    base.update(kw)
    return Position(**base)  # type: ignore[arg-type]


# ---- PRBMath pow (Precision.applyExponentFactor) --------------------------------------------
def test_exp2_factors_are_prbmath_constants() -> None:
    # first, second and last factors of PRBMath v2.4.3 PRBMath.exp2: sqrt(2), 2^(1/4), 2^(2^-64) in 64.64
    assert gm._EXP2[0] == 0x16A09E667F3BCC909
    assert gm._EXP2[1] == 0x1306FE0A31B7152DF
    assert gm._EXP2[62] == gm._EXP2[63] == 0x10000000000000001
    assert len(gm._EXP2) == 64


def test_prb_pow_exact_powers_of_two_and_rounding() -> None:
    # log2(2) is exact (the y == 1 shortcut), exp2(2) is 4: powers of two come out exactly
    assert gm.prb_log2(2 * 10**18) == 10**18
    assert gm.prb_pow(2 * 10**18, 2 * 10**18) == 4 * 10**18
    assert gm.prb_pow(8 * 10**18, 10**18 // 3 + 1) == gm.prb_exp2(gm.prb_mul(3 * 10**18, 10**18 // 3 + 1))
    # mul rounds half up at the 18th decimal
    assert gm.prb_mul(15 * 10**17, 1) == 2 and gm.prb_mul(14 * 10**17, 1) == 1
    # a square through log2/exp2 is not the exact square: 3^2 misses 9 by a few units of 1e-18
    got = gm.prb_pow(3 * 10**18, 2 * 10**18)
    assert got != 9 * 10**18 and abs(got - 9 * 10**18) < 10**5


def test_apply_exponent_factor_semantics() -> None:
    assert gm.apply_exponent_factor(F - 1, 2 * F) == 0                  # below 1 USD: 0
    assert gm.apply_exponent_factor(12345 * F + 7, F) == 12345 * F + 7  # exponent 1: identity
    # other exponents go through 18 decimals: sub-1e-18 digits are dropped before pow
    assert gm.apply_exponent_factor(2 * F + 10**11, 2 * F) == 4 * F
    x = 500_000 * F
    sq = gm.apply_exponent_factor(x, 2 * F)
    assert sq % 10**12 == 0 and sq != x * x // F and abs(sq - x * x // F) < x * x // F // 10**14


@settings(max_examples=200, deadline=None)
@given(x=st.integers(10**18, 10**36), y=st.integers(10**17, 3 * 10**18))
def test_prb_pow_close_to_real_power(x: int, y: int) -> None:
    got = gm.prb_pow(x, y)
    want = (x / 1e18) ** (y / 1e18) * 1e18
    assert abs(got - want) <= want * 1e-12 + 2


# ---- the liquidation check, one term at a time ----------------------------------------------
def test_close_fee_factor_follows_balance_was_improved() -> None:
    m = market()   # longs $1M > shorts $500k
    # closing a long shrinks the imbalance: the balance-improved (positive) fee factor, 0.04 %
    c = gm.is_position_liquidatable(position(), m, prices(2000), G0)
    assert c.fees.balance_was_improved and c.fees.position_fee_amount == 4 * 10**6
    assert c.remaining_collateral_usd == 1000 * F - 4 * F
    # closing a short widens it: the worsened (negative) factor, 0.06 %
    s = gm.is_position_liquidatable(position(is_long=False), m, prices(2000), G0)
    assert not s.fees.balance_was_improved and s.fees.position_fee_amount == 6 * 10**6
    assert s.remaining_collateral_usd == 1000 * F - 6 * F


def test_liquidation_price_is_the_integer_flip() -> None:
    m, p = market(), position()
    # remaining = 1000 − 4 + 5·(P − 2000) < 100 (1 % of size) ⇔ P < 1820.8 (USD) = 18208e11 per unit
    lp = gm.liquidation_price(p, m, prices(2000), G0)
    assert lp == 18208 * 10**11 - 1
    at = gm.prices_at(m, prices(2000), int(lp))
    assert gm.is_position_liquidatable(p, m, at, G0).reason == "min collateral for leverage"
    assert not gm.is_position_liquidatable(p, m, gm.prices_at(m, prices(2000), int(lp) + 1), G0).liquidatable


def test_funding_fee_and_claimable_from_stored_per_size() -> None:
    # FUNDING_FEE_AMOUNT_PER_SIZE(market, USDC, long) = 1.5000003e17 above the position's snapshot:
    # $10,000 × 1.5000003e17 / 1e45 = 1,500,000.3 USDC units → rounded up to 1,500,001 (a fee)
    oi = (OpenInterest(MKT, USDC, True, 1_000_000 * F, 500 * 10**18, 0, 150_000_030_000_000_000 + 7, 10**20 + 9),
          OpenInterest(MKT, ETH, True, 0, 0, 0, 0, 3 * 10**29),
          OpenInterest(MKT, USDC, False, 500_000 * F, 250 * 10**18, 0))
    m = market(open_interest=oi)
    p = position(funding_fee_amount_per_size=7, short_token_claimable_funding_amount_per_size=9,
                 long_token_claimable_funding_amount_per_size=0)
    c = gm.is_position_liquidatable(p, m, prices(2000), G0)
    assert c.fees.funding_fee_amount == 1_500_001
    assert c.remaining_collateral_usd == 1000 * F - 4 * F - 1_500_001 * USDC_UNIT
    # claimable amounts round down: 1e34 × 1e20 / 1e45 = 1e9 USDC units; 1e34 × 3e29 / 1e45 = 3e18 wei
    assert c.fees.claimable_short_token_amount == 10**9
    assert c.fees.claimable_long_token_amount == 3 * 10**18
    # a snapshot above the latest value is impossible on GMX (the subtraction would revert)
    try:
        gm.funding_amount(1, 2, F, True)
    except gm.ContractRevert:
        pass
    else:
        raise AssertionError("expected a revert")


def test_pending_borrowing_fee_from_cumulative_factor() -> None:
    m = market(cumulative_borrowing_factor_long=3 * F // 100)
    p = position(borrowing_factor=F // 100)       # 2 % of $10,000 accrued: $200 = 200e6 USDC units
    c = gm.is_position_liquidatable(p, m, prices(2000), G0)
    assert c.fees.borrowing_fee_amount == 200 * 10**6
    assert c.remaining_collateral_usd == 1000 * F - 4 * F - 200 * F


def test_referral_discount_and_pro_discount_take_the_larger() -> None:
    m, p = market(), position()
    # tier: total rebate 10 %, discount share 50 % → trader discount 5 % of the $4 fee = 200,000 units
    ref = AccountFees(ACCOUNT, "0x" + "ab" * 32, "0x" + "2" * 40, 1000, 5000)
    assert gm.trader_discount_factor(ref) == 5 * F // 100
    c = gm.is_position_liquidatable(p, m, prices(2000), G0, account=ref)
    assert c.fees.total_discount_amount == 200_000
    assert c.remaining_collateral_usd == 1000 * F - 4 * F + 200_000 * USDC_UNIT
    # a pro tier with 10 % wins over the 5 % referral discount (totalDiscountAmount = max of the two)
    pro = replace(ref, pro_tier=2, pro_discount_factor=F // 10)
    assert gm.is_position_liquidatable(p, m, prices(2000), G0, account=pro).fees.total_discount_amount == 400_000
    # no code: no referral discount even with a tier in storage
    none = replace(ref, referral_code="0x" + "00" * 32)
    assert gm.is_position_liquidatable(p, m, prices(2000), G0, account=none).fees.total_discount_amount == 0


def test_positive_close_impact_capped_before_pending_impact_is_added() -> None:
    # exponent 1 keeps the arithmetic by hand: close a $10k long from longs $1M / shorts $500k:
    # diff 500k → 490k, improved; positive factor 2e-4 > negative 1e-4 is adjusted down to 1e-4:
    # impact = 1e-4 × (500k − 490k) = +$1 ; capped at 0.005 % × $10k = $0.50 ; pending impact
    # −0.001 ETH × $2000 (max price, negative) = −$2 ; sum −$1.50 ; floor −1 % × $10k = −$100
    m = market(position_impact_factor_positive=2 * F // 10**4, position_impact_factor_negative=F // 10**4,
               position_impact_exponent_factor_negative=F, max_position_impact_factor_positive=5 * F // 10**5,
               max_position_impact_factor_negative=F // 100, max_position_impact_factor_for_liquidations=F // 100)
    p = position(pending_impact_amount=-10**15)
    imp, improved = gm.price_impact_usd_and_balance(m, prices(2000), G0, -p.size_in_usd, -p.size_in_tokens, True)
    assert imp == F and improved
    c = gm.is_position_liquidatable(p, m, prices(2000), G0)
    assert c.price_impact_usd == -(3 * F // 2)
    assert c.remaining_collateral_usd == 1000 * F - 4 * F - 3 * F // 2
    # the positive cap is itself capped at MAX_POSITION_IMPACT_FACTOR[negative] (0.001 % → $0.10)
    c1 = gm.is_position_liquidatable(p, replace(m, max_position_impact_factor_negative=F // 10**5), prices(2000), G0)
    assert c1.price_impact_usd == -(19 * F // 10)
    # the liquidation floor binds when MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS is small (0.01 % = $1)
    c2 = gm.is_position_liquidatable(p, replace(m, max_position_impact_factor_for_liquidations=F // 10**4),
                                     prices(2000), G0)
    assert c2.price_impact_usd == -F
    # a pending impact > 0 uses the index min price; a positive sum is never counted
    spread = gm.MarketPrices(gm.Price(1999 * ETH_UNIT, 2001 * ETH_UNIT), prices(2000).long, prices(2000).short)
    c3 = gm.is_position_liquidatable(position(pending_impact_amount=10**15), m, spread, G0)
    assert c3.price_impact_usd == 0


def test_negative_impact_and_adjusted_exponent() -> None:
    # closing a short widens the imbalance: negative factor 1e-9 with exponent 2 (positive 3 → 2)
    m = market(position_impact_factor_positive=F // 10**9, position_impact_factor_negative=F // 10**9,
               position_impact_exponent_factor_positive=3 * F, position_impact_exponent_factor_negative=2 * F,
               max_position_impact_factor_for_liquidations=F)
    assert gm.adjusted_impact_factors(m)[2] == 2 * F
    p = position(is_long=False)
    imp, improved = gm.price_impact_usd_and_balance(m, prices(2000), G0, -p.size_in_usd, -p.size_in_tokens, False)
    d0, d1 = 500_000 * F, 510_000 * F
    want = -(gm.apply_factor(gm.apply_exponent_factor(d1, 2 * F), F // 10**9)
             - gm.apply_factor(gm.apply_exponent_factor(d0, 2 * F), F // 10**9))
    assert imp == want and not improved
    # ≈ −1e-9 × (510k² − 500k²) = −$10.1, but not exactly: PRBMath's pow is not an exact square
    assert abs(imp + 101 * F // 10) < F // 10**6 and imp != -(101 * F // 10)


def test_same_side_rule_uses_long_le_short_and_crossover() -> None:
    # shorts $500k, longs $505k; closing a $10k long crosses over to shorts-heavy ($495k vs $500k):
    # crossover: positive factor on the initial $5k diff minus negative factor on the next $5k
    m = market(position_impact_factor_positive=F // 10**5, position_impact_factor_negative=2 * F // 10**5,
               position_impact_exponent_factor_negative=F,
               open_interest=(OpenInterest(MKT, USDC, True, 505_000 * F, 0, 0),
                              OpenInterest(MKT, USDC, False, 500_000 * F, 0, 0)))
    imp, improved = gm.price_impact_usd_and_balance(m, prices(2000), G0, -10_000 * F, 0, True)
    assert imp == 5_000 * F // 10**5 - 2 * 5_000 * F // 10**5 and not improved   # −$0.05
    # equal OI before: `long <= short` holds before and after a long close → same side, worsened
    eq = replace(m, open_interest=(OpenInterest(MKT, USDC, True, 500_000 * F, 0, 0),
                                   OpenInterest(MKT, USDC, False, 500_000 * F, 0, 0)))
    imp2, improved2 = gm.price_impact_usd_and_balance(eq, prices(2000), G0, -10_000 * F, 0, True)
    assert imp2 == -(2 * 10_000 * F // 10**5) and not improved2


def test_virtual_inventory_takes_the_more_negative_impact() -> None:
    # market balanced (no local impact for a tiny close), but the token's virtual inventory says
    # $200k was virtually bought (−200k): a short close worsens that → a negative impact is taken
    base = market(position_impact_factor_positive=F // 10**5, position_impact_factor_negative=F // 10**5,
                  position_impact_exponent_factor_negative=F,
                  open_interest=(OpenInterest(MKT, USDC, True, 500_000 * F, 0, 0),
                                 OpenInterest(MKT, USDC, False, 510_000 * F, 0, 0)))
    plain, _ = gm.price_impact_usd_and_balance(base, prices(2000), G0, -10_000 * F, 0, False)
    assert plain == 10_000 * F // 10**5           # closing a short helps the local balance: +$0.10
    v = replace(base, virtual_token_id="0x" + "11" * 32, virtual_inventory_for_positions=200_000 * F,
                open_interest=(OpenInterest(MKT, USDC, True, 500_000 * F, 0, 0),
                               OpenInterest(MKT, USDC, False, 500_000 * F, 0, 0)))
    # local: balanced → closing a $10k short: same side worsened, −$0.10; virtual: short OI $200k +
    # offset $10k vs long $10k → diff 200k → 190k after... improved +$0.10 > local: local kept
    imp, _ = gm.price_impact_usd_and_balance(v, prices(2000), G0, -10_000 * F, 0, False)
    assert imp == -(10_000 * F // 10**5)
    # inventory the other way (−200k: longs virtually dominate): virtual diff 200k → 210k, −$0.10
    # equals local; deeper inventory with exponent 2 makes the virtual impact the more negative one
    v2 = replace(v, virtual_inventory_for_positions=-200_000 * F, position_impact_exponent_factor_negative=2 * F,
                 position_impact_factor_negative=F // 10**9, position_impact_factor_positive=F // 10**9)
    imp_v, _ = gm.price_impact_usd_and_balance(v2, prices(2000), G0, -10_000 * F, 0, False)
    local = replace(v2, virtual_token_id="0x" + "00" * 32)
    imp_l, _ = gm.price_impact_usd_and_balance(local, prices(2000), G0, -10_000 * F, 0, False)
    assert imp_v < imp_l < 0


def test_open_interest_in_tokens_for_balance() -> None:
    # USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE: OI = tokens × mid, delta = −sizeInTokens × mid
    g = replace(G0, use_open_interest_in_tokens_for_balance=True)
    m = market(position_impact_factor_positive=F // 10**5, position_impact_factor_negative=F // 10**5,
               position_impact_exponent_factor_negative=F)
    # tokens: longs 500 ETH, shorts 250 ETH at $3000 mid → $1.5M / $750k; close 5 ETH long = $15k
    imp, improved = gm.price_impact_usd_and_balance(m, prices(3000), g, -10_000 * F, -5 * 10**18, True)
    assert improved and imp == 15_000 * F // 10**5
    imp_usd, _ = gm.price_impact_usd_and_balance(m, prices(3000), G0, -10_000 * F, -5 * 10**18, True)
    assert imp_usd == 10_000 * F // 10**5


# ---- pool value (getPoolValueInfo) -----------------------------------------------------------
def test_pool_value_worked_example() -> None:
    T = 1_700_000_000
    m = market(pool_amount_long=1000 * 10**18, pool_amount_short=2_000_000 * 10**6,
               borrowing_factor_long=10**22, cumulative_borrowing_factor_long=F // 100,
               cumulative_borrowing_factor_updated_at_long=T - 100, total_borrowing_long=10**34,
               cumulative_borrowing_factor_short=0, total_borrowing_short=0,
               position_impact_pool_amount=10 * 10**18, position_impact_pool_distribution_rate=10**46,
               position_impact_pool_distributed_at=T - 50, min_position_impact_pool_amount=9 * 10**18,
               lent_position_impact_pool_amount=2 * 10**18, total_pending_impact_amount=-5 * 10**17)
    g = replace(G0, borrowing_fee_receiver_factor=37 * F // 100)
    pr = prices(2000)
    # longs' rate: reserved 500 ETH × $2000 = $1M over a $2M long pool → 0.5 × 1e-8/s = 5e21 per s;
    # 100 s → next factor 0.01 + 5e-7 ; pending = $1M × that − $10,000 total borrowing = $0.50
    assert gm.borrowing_factor_per_second(m, pr, g, True) == 5 * 10**21
    assert gm.total_pending_borrowing_fees(m, pr, g, True, T) == F // 2
    # impact pool distributes 0.01 ETH/s for 50 s = 0.5 ETH, but keeps its 9 ETH floor: 10 → 9.5 ETH
    assert gm.next_position_impact_pool_amount(m, T) == 95 * 10**17
    info = gm.pool_value_info(m, pr, g, T, maximize=False)
    # $2M ETH + $2M USDC + 63 % of $0.50 − longs' pnl $0 (500 ETH for $1M at $2000) − shorts' pnl
    # ($500k for 250 ETH → 0) − 9.5 ETH × $2000 + 2 ETH × $2000
    assert info.long_pnl == 0 and info.short_pnl == 0
    assert info.pool_value == 4_000_000 * F + 63 * F // 200 - 19_000 * F + 4_000 * F
    assert gm.pool_value_usd(m, pr, False, g, T) == info.pool_value


def test_kink_borrowing_rate() -> None:
    m = market(optimal_usage_factor_long=8 * F // 10, base_borrowing_factor_long=10**21,
               above_optimal_usage_borrowing_factor_long=3 * 10**21, open_interest_reserve_factor_long=F // 2,
               pool_amount_long=1100 * 10**18)
    # reserved $1M over max reserve 0.5 × $2.2M = $1.1M: usage 10/11 > 0.8 → base × usage + 2e21 × (u − 0.8)/0.2
    u = 10 * F // 11
    want = u * 10**21 // F + 2 * 10**21 * (u - 8 * F // 10) // (2 * F // 10)
    assert gm.borrowing_factor_per_second(m, prices(2000), G0, True) == want


def test_skip_borrowing_for_smaller_side() -> None:
    g = replace(G0, skip_borrowing_fee_for_smaller_side=True)
    m = market(borrowing_factor_short=10**22)
    assert gm.borrowing_factor_per_second(m, prices(2000), G0, False) > 0
    assert gm.borrowing_factor_per_second(m, prices(2000), g, False) == 0   # shorts are the smaller side


# ---- properties ------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(size_usd=st.integers(100, 1_000_000), lev=st.integers(2, 90), px=st.integers(100, 100_000),
       is_long=st.booleans(), coll_index=st.booleans(), cum=st.integers(0, 10**27),
       funding=st.integers(0, 10**20), pending=st.integers(-10**16, 10**16), tokens_bal=st.booleans(),
       rebate=st.integers(0, 2000), exp_neg=st.sampled_from([F, 2 * F, 22 * F // 10]))
def test_liquidation_price_is_where_the_exact_check_flips(size_usd: int, lev: int, px: int, is_long: bool,
                                                          coll_index: bool, cum: int, funding: int, pending: int,
                                                          tokens_bal: bool, rebate: int, exp_neg: int) -> None:
    coll_tok = ETH if coll_index else USDC
    oi = (OpenInterest(MKT, USDC, True, 1_000_000 * F, 500 * 10**18, 0, funding, 0),
          OpenInterest(MKT, ETH, True, 0, 0, 0, funding, 0),
          OpenInterest(MKT, USDC, False, 500_000 * F, 250 * 10**18, 0, funding, 0),
          OpenInterest(MKT, ETH, False, 0, 0, 0, funding, 0))
    m = market(cumulative_borrowing_factor_long=cum, cumulative_borrowing_factor_short=cum, open_interest=oi,
               position_impact_factor_positive=F // 10**9, position_impact_factor_negative=2 * F // 10**9,
               position_impact_exponent_factor_negative=exp_neg, max_position_impact_factor_positive=F // 200,
               max_position_impact_factor_for_liquidations=F // 100)
    g = replace(G0, use_open_interest_in_tokens_for_balance=tokens_bal)
    acct = AccountFees(ACCOUNT, "0x" + "ab" * 32, ACCOUNT, rebate, 5000)
    pr = prices(px)
    size_tokens = size_usd * 10**18 // px
    coll_usd = size_usd * F // lev
    amount = coll_usd // (px * ETH_UNIT) if coll_index else coll_usd // USDC_UNIT
    p = position(collateral_token=coll_tok, is_long=is_long, size_in_usd=size_usd * F, size_in_tokens=size_tokens,
                 collateral_amount=max(amount, 1), pending_impact_amount=pending * size_tokens // 10**18 // 100)
    lp = gm.liquidation_price(p, m, pr, g, acct)
    if lp is None:
        return
    x = int(lp)
    assert lp == x
    assert gm.is_position_liquidatable(p, m, gm.prices_at(m, pr, x), g, account=acct).liquidatable
    nxt = x + 1 if is_long else x - 1
    if nxt > 0 and x < pr.index.min * 10**6:
        assert not gm.is_position_liquidatable(p, m, gm.prices_at(m, pr, nxt), g, account=acct).liquidatable


# ---- the snapshot summary uses the exact math ------------------------------------------------
def test_summary_quantiles_and_pool_value_are_exact() -> None:
    T = 1_700_000_000
    m = market(cumulative_borrowing_factor_long=F // 200, cumulative_borrowing_factor_updated_at_long=T - 60,
               borrowing_factor_long=10**22, total_borrowing_long=0, lent_position_impact_pool_amount=10**18,
               total_pending_impact_amount=-3)
    ps = [position(key=f"0x{i:064x}", account=f"0x{i + 1:040x}", size_in_usd=(5_000 + 1_000 * i) * F,
                   size_in_tokens=(5 + i) * 10**18 // 2, collateral_amount=(400 + 50 * i) * 10**6,
                   borrowing_factor=F // 400) for i in range(6)]
    acct = AccountFees(ps[0].account, "0x" + "ab" * 32, "0x" + "2" * 40, 2000, 5000)
    meta = SnapshotMeta(1, 10, T, "0x" + "11" * 32, "gmx_v2", "0x" + "d" * 40, "chainlink")
    snap = Snapshot(meta=meta, tokens=(Token(ETH, "ETH", 18), Token(USDC, "USDC", 6)),
                    prices=(OraclePrice(ETH, 2000 * ETH_UNIT, 2000 * ETH_UNIT, "chainlink"),
                            OraclePrice(USDC, USDC_UNIT, USDC_UNIT, "chainlink")),
                    markets=(m,), positions=tuple(ps), globals=G0, accounts=(acct,))
    row = summarize(snap)["markets"][0]
    pr = gm.MarketPrices(gm.Price(2000 * ETH_UNIT, 2000 * ETH_UNIT), gm.Price(2000 * ETH_UNIT, 2000 * ETH_UNIT),
                         gm.Price(USDC_UNIT, USDC_UNIT))
    pv = gm.pool_value_info(m, pr, G0, T)
    assert pv.total_borrowing_fees > 0 and row["pool_value_usd"] == dec(Fraction(pv.pool_value, F))
    assert row["total_pending_impact_amount"] == "-3"
    moves = sorted((gm.liquidation_price(p, m, pr, G0, acct if p.account == acct.account else None)
                    / (2000 * ETH_UNIT) - 1, p.size_in_usd) for p in ps)
    moves = sorted(moves, key=lambda x: abs(x[0]))
    total = sum(p.size_in_usd for p in ps)
    for q, key in ((Fraction(1, 100), "1%"), (Fraction(1, 10), "10%"), (Fraction(1, 2), "50%")):
        cum = 0
        for mv, s in moves:
            cum += s
            if cum >= q * total:
                assert row["liquidation_move_long"][key] == dec(mv, 4)
                break
    # the referred account's discount moves its liquidation price (away from the market)
    lp_ref = gm.liquidation_price(ps[0], m, pr, G0, acct)
    lp_none = gm.liquidation_price(ps[0], m, pr, G0, None)
    assert lp_ref < lp_none
    assert replace(acct).account == ps[0].account
