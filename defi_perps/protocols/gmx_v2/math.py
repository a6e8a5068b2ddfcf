"""Exact GMX v2.2 formulas on snapshot records (pure; Python ints, Solidity rounding step by step).

Every function reproduces the contract's integers for the values a snapshot holds. Sources
(gmx-io/gmx-synthetics @ a5c0c883, read for the facts they state; line numbers at that commit):

- ``contracts/utils/Precision.sol``: ``applyFactor`` = mulDiv(v, f, 1e30) rounded down (signed: the
  magnitude rounds down, sign kept); ``toFactor``; ``applyExponentFactor`` (0 below 1 USD, identity
  for exponent 1, else PRBMath ``pow`` on 18-decimal values: ``floatToWei`` truncates 12 digits).
- ``prb-math`` v2.4.3 (the version gmx-synthetics pins in package.json) ``PRBMathUD60x18.pow`` =
  ``exp2(mul(log2(x), y))``: ``log2`` by repeated squaring (60 fractional steps), ``mul`` rounds
  half up, ``exp2`` multiplies 64 magic factors round(2^(2^-k) · 2^64) in 192.64 fixed point.
- ``contracts/position/PositionUtils.sol`` L180-237 ``getPositionPnlUsd`` and L316-450
  ``isPositionLiquidatable`` (the check this module mirrors term by term).
- ``contracts/pricing/PositionPricingUtils.sol`` L161-199 ``getPriceImpactUsd`` (virtual inventory,
  ``USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE``), L201-244 ``_getPriceImpactUsd`` (same-side rule
  ``long <= short`` before and after; ``balanceWasImproved = nextDiff < initialDiff``), L246-384 next
  open interest, L386-467 ``getPositionFees``, L484-510 funding, L539-637 referral and pro discounts.
- ``contracts/pricing/PricingUtils.sol`` same-side / crossover impact and ``applyImpactFactor``.
- ``contracts/market/MarketUtils.sol``: L263-283 ``getPoolUsdWithoutPnl``, L298-401
  ``getPoolValueInfo``, L429-505 ``getCappedPnl``/``getPnl``, L859-897 adjusted impact factors and
  exponents (positive ≤ negative), L999-1018 ``capPositiveImpactUsdByMaxPositionImpact``, L1982-2012
  ``getFundingAmount``, L2014-2022 ``getBorrowingFees``, L2048-2076 ``getReservedUsd``, L2739-2882
  borrowing rate (kink model), L2910-2958 impact-pool distribution, L2960-2993 pending borrowing.
- ``contracts/referral/ReferralUtils.sol`` L74-112 ``getReferralInfo``.

What the liquidation check here still cannot see, and which way each omission errs:
- a UI fee: ``isPositionLiquidatable`` passes ``uiFeeReceiver = address(0)``, so there is none;
- nothing else of the check is omitted. The check uses the *stored* borrowing and funding
  per-size values, exactly as the contract's view does (it does not accrue to block time).
Where ``Reader.getPositionInfo`` differs (it accrues borrowing and funding to the block time),
that is a different function; this module does not claim to reproduce it.
``pool_value_info`` accrues pending borrowing to the snapshot's block time as the contract does.

``TOTAL_PENDING_IMPACT_AMOUNT`` is read and reported, but ``getPoolValueInfo`` does not add it
(MarketUtils.sol L298-401; it only limits impact-pool withdrawals, PositionImpactPoolUtils.sol L79),
so the pool value here does not either.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import lru_cache

from defi_perps.domain import USD_SCALE, AccountFees, GlobalParams, Market, OraclePrice, Position

FLOAT = USD_SCALE
FLOAT_PRECISION_SQRT = 10**15
WEI = 10**18
FLOAT_TO_WEI = 10**12
BASIS_POINTS = 10_000
ZERO32 = "0x" + "00" * 32


class ContractRevert(ArithmeticError):
    """The contract would revert on these values (e.g. an empty pool in the borrowing rate)."""


# ---- Precision.sol ---------------------------------------------------------------------------
def mul_div(value: int, numerator: int, denominator: int, round_up: bool = False) -> int:
    """OpenZeppelin ``Math.mulDiv`` on magnitudes (down, or up with ``round_up``), sign of the product kept."""
    neg = (value < 0) != (numerator < 0)
    q, r = divmod(abs(value) * abs(numerator), denominator)
    if round_up and r:
        q += 1
    return -q if neg and q else q


def apply_factor(value: int, factor: int) -> int:
    """``Precision.applyFactor``: value * factor / 1e30, magnitude rounded down, sign kept."""
    return mul_div(value, factor, FLOAT)


def to_factor(value: int, divisor: int) -> int:
    """``Precision.toFactor``: value * 1e30 / divisor, magnitude rounded down, sign kept."""
    if value == 0:
        return 0
    if divisor == 0:
        raise ContractRevert("division by zero in Precision.toFactor")
    return mul_div(value, FLOAT, divisor)


def div_trunc(a: int, b: int) -> int:
    """Solidity signed division (rounds toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def basis_points_to_float(bps: int) -> int:
    """``Precision.basisPointsToFloat``."""
    return bps * FLOAT // BASIS_POINTS


# ---- PRBMathUD60x18 v2.4.3 pow ---------------------------------------------------------------
def _exp2_factors() -> tuple[int, ...]:
    # root(2, 2^k) in 64.64 fixed point, rounded to nearest: the factor PRBMath.exp2 applies for
    # fractional bit 63-k+... (bit 2^-(k+1) of the exponent). Derived here, checked in the tests.
    with localcontext() as ctx:
        ctx.prec = 80
        return tuple(int((Decimal(2) ** (Decimal(1) / Decimal(2 ** (k + 1))) * Decimal(2**64))
                         .to_integral_value()) for k in range(64))


_EXP2 = _exp2_factors()


def prb_mul(x: int, y: int) -> int:
    """``PRBMath.mulDivFixedPoint``: x*y / 1e18 rounded half up (remainder > 0.499…)."""
    q, r = divmod(x * y, WEI)
    return q + (1 if r > 499_999_999_999_999_999 else 0)


def prb_log2(x: int) -> int:
    """``PRBMathUD60x18.log2`` for x ≥ 1e18: integer part from the MSB, then 60 squaring steps."""
    if x < WEI:
        raise ContractRevert(f"PRBMath log2 input {x} below 1")
    n = (x // WEI).bit_length() - 1
    result = n * WEI
    y = x >> n
    if y == WEI:
        return result
    delta = WEI // 2
    while delta > 0:
        y = y * y // WEI
        if y >= 2 * WEI:
            result += delta
            y >>= 1
        delta >>= 1
    return result


def prb_exp2(x: int) -> int:
    """``PRBMathUD60x18.exp2``: x (18 decimals) to 192.64, binary-fraction product, back to 18 decimals."""
    if x >= 192 * WEI:
        raise ContractRevert(f"PRBMath exp2 input {x} too big")
    x64 = (x << 64) // WEI
    result = 1 << 191
    frac = x64 & ((1 << 64) - 1)
    for k in range(64):
        if frac & (1 << (63 - k)):
            result = (result * _EXP2[k]) >> 64
    result *= WEI
    return result >> (191 - (x64 >> 64))


def prb_pow(x: int, y: int) -> int:
    """``PRBMathUD60x18.pow`` (v2.x): 0^0 = 1, 0^y = 0, else exp2(mul(log2(x), y))."""
    if x == 0:
        return WEI if y == 0 else 0
    return prb_exp2(prb_mul(prb_log2(x), y))


@lru_cache(maxsize=1 << 16)
def apply_exponent_factor(float_value: int, exponent_factor: int) -> int:
    """``Precision.applyExponentFactor``: 0 below 1e30, identity for exponent 1e30, else PRBMath pow
    on values truncated to 18 decimals and scaled back (so even exponent 2 is not an exact square)."""
    if float_value < FLOAT:
        return 0
    if exponent_factor == FLOAT:
        return float_value
    return prb_pow(float_value // FLOAT_TO_WEI, exponent_factor // FLOAT_TO_WEI) * FLOAT_TO_WEI


@dataclass(frozen=True)
class Price:
    """``Price.Props{min, max}``: GMX per-unit price (30 - token decimals)."""

    min: int
    max: int

    @classmethod
    def of(cls, p: OraclePrice) -> "Price":
        return cls(p.price_min, p.price_max)

    def pick_for_pnl(self, is_long: bool, maximize: bool) -> int:
        """``Price.pickPriceForPnl``: longs profit from high prices, shorts from low ones."""
        if is_long:
            return self.max if maximize else self.min
        return self.min if maximize else self.max

    def pick(self, maximize: bool) -> int:
        """``Price.pickPrice``."""
        return self.max if maximize else self.min

    @property
    def mid_price(self) -> int:
        """``Price.midPrice``: (max + min) / 2, rounded down."""
        return (self.max + self.min) // 2

    @property
    def mid(self) -> Fraction:
        return Fraction(self.min + self.max, 2)


@dataclass(frozen=True)
class MarketPrices:
    index: Price
    long: Price
    short: Price


def _g(g: GlobalParams | None) -> GlobalParams:
    return g if g is not None else GlobalParams(0, 0, 0, 0)


def _z(v: int | None) -> int:
    return 0 if v is None else v


# ---- MarketUtils.sol -------------------------------------------------------------------------
def pool_divisor(m: Market) -> int:
    return 2 if m.long_token.lower() == m.short_token.lower() else 1


def _oi_by_token(m: Market, is_long: bool, attr: str) -> int:
    d = pool_divisor(m)
    by = {o.collateral_token.lower(): getattr(o, attr) for o in m.open_interest if o.is_long == is_long}
    return by.get(m.long_token.lower(), 0) // d + by.get(m.short_token.lower(), 0) // d


def open_interest(m: Market, is_long: bool) -> int:
    """``getOpenInterest(dataStore, market, isLong)`` (USD, 1e30): per collateral token, each / divisor."""
    return _oi_by_token(m, is_long, "open_interest_usd")


def open_interest_in_tokens(m: Market, is_long: bool) -> int:
    """``getOpenInterestInTokens(dataStore, market, isLong)`` (index-token units)."""
    return _oi_by_token(m, is_long, "open_interest_in_tokens")


def open_interest_for_balance(m: Market, g: GlobalParams | None, index_mid: int, is_long: bool) -> int:
    """``getOpenInterestForBalance``: OI in tokens × mid price when USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE."""
    if _g(g).use_open_interest_in_tokens_for_balance:
        d = pool_divisor(m)
        by = {o.collateral_token.lower(): o.open_interest_in_tokens for o in m.open_interest if o.is_long == is_long}
        return (by.get(m.long_token.lower(), 0) // d) * index_mid + (by.get(m.short_token.lower(), 0) // d) * index_mid
    return open_interest(m, is_long)


def pool_amount(m: Market, is_long: bool) -> int:
    """``getPoolAmount(market, token)``: the side's token amount, halved for single-token markets."""
    return (m.pool_amount_long if is_long else m.pool_amount_short) // pool_divisor(m)


def get_pnl(m: Market, index_price: Price, is_long: bool, maximize: bool) -> int:
    """``MarketUtils.getPnl``: aggregate trader PnL of one side (USD, 1e30)."""
    oi, oit = open_interest(m, is_long), open_interest_in_tokens(m, is_long)
    if oi == 0 or oit == 0:
        return 0
    value = oit * index_price.pick_for_pnl(is_long, maximize)
    return value - oi if is_long else oi - value


def pool_usd_without_pnl(m: Market, prices: MarketPrices, is_long: bool, maximize: bool) -> int:
    """``MarketUtils.getPoolUsdWithoutPnl``: pool amount of the side's token × its min (max) price."""
    p = prices.long if is_long else prices.short
    return pool_amount(m, is_long) * p.pick(maximize)


def pnl_to_pool_factor(m: Market, prices: MarketPrices, is_long: bool, maximize: bool = True) -> int:
    """``MarketUtils.getPnlToPoolFactor`` (1e30). ADL uses maximize=true (AdlUtils.updateAdlState)."""
    pool = pool_usd_without_pnl(m, prices, is_long, not maximize)
    if pool == 0:
        return 0
    return to_factor(get_pnl(m, prices.index, is_long, maximize), pool)


def is_pnl_factor_exceeded_for_adl(m: Market, prices: MarketPrices, is_long: bool) -> bool:
    """``MarketUtils.isPnlFactorExceeded`` with ``MAX_PNL_FACTOR_FOR_ADL``: factor > 0 and > max."""
    f = pnl_to_pool_factor(m, prices, is_long, True)
    mx = m.max_pnl_factor_for_adl_long if is_long else m.max_pnl_factor_for_adl_short
    return f > 0 and f > mx


def capped_pnl(pnl: int, pool_usd: int, max_pnl_factor: int) -> int:
    """``MarketUtils.getCappedPnl``: positive PnL capped at poolUsd × maxPnlFactor."""
    if pnl < 0:
        return pnl
    return min(pnl, apply_factor(pool_usd, max_pnl_factor))


# ---- borrowing (MarketUtils L2048-2076, L2739-2882, L2960-2993) --------------------------------
def reserved_usd(m: Market, prices: MarketPrices, is_long: bool) -> int:
    """``getReservedUsd``: longs OI in tokens × index max price; shorts their OI in USD."""
    if is_long:
        return open_interest_in_tokens(m, True) * prices.index.max
    return open_interest(m, False)


def borrowing_factor_per_second(m: Market, prices: MarketPrices, g: GlobalParams | None, is_long: bool) -> int:
    """``getBorrowingFactorPerSecond``: 0 without reserve or for the smaller side when skipped;
    the kink model when OPTIMAL_USAGE_FACTOR is set, else factor × reserved^exponent / pool."""
    reserved = reserved_usd(m, prices, is_long)
    if reserved == 0:
        return 0
    gp = _g(g)
    if gp.skip_borrowing_fee_for_smaller_side:
        mid = prices.index.mid_price
        lo = open_interest_for_balance(m, g, mid, True)
        so = open_interest_for_balance(m, g, mid, False)
        if (is_long and lo < so) or (not is_long and so < lo):
            return 0
    pool = pool_usd_without_pnl(m, prices, is_long, False)
    if pool == 0:
        raise ContractRevert("UnableToGetBorrowingFactorEmptyPoolUsd")
    opt = _z(m.optimal_usage_factor_long if is_long else m.optimal_usage_factor_short)
    if opt != 0:
        reserve_factor = m.open_interest_reserve_factor_long if is_long else m.open_interest_reserve_factor_short
        usage = to_factor(reserved, apply_factor(pool, reserve_factor))
        base = _z(m.base_borrowing_factor_long if is_long else m.base_borrowing_factor_short)
        rate = apply_factor(usage, base)
        if usage > opt and FLOAT > opt:
            above = _z(m.above_optimal_usage_borrowing_factor_long if is_long
                       else m.above_optimal_usage_borrowing_factor_short)
            extra = above - base if above > base else 0
            rate += extra * (usage - opt) // (FLOAT - opt)
        return rate
    exp = m.borrowing_exponent_factor_long if is_long else m.borrowing_exponent_factor_short
    factor = m.borrowing_factor_long if is_long else m.borrowing_factor_short
    return apply_factor(to_factor(apply_exponent_factor(reserved, exp), pool), factor)


def next_cumulative_borrowing_factor(m: Market, prices: MarketPrices, g: GlobalParams | None, is_long: bool,
                                     block_timestamp: int) -> int:
    """``getNextCumulativeBorrowingFactor``: stored factor + seconds since its update × rate
    (no accrual when the updated-at key was never set, as ``getSecondsSince…`` returns 0)."""
    updated = _z(m.cumulative_borrowing_factor_updated_at_long if is_long
                 else m.cumulative_borrowing_factor_updated_at_short)
    cum = m.cumulative_borrowing_factor_long if is_long else m.cumulative_borrowing_factor_short
    if updated == 0:
        return cum
    if block_timestamp < updated:
        raise ContractRevert("block timestamp before CUMULATIVE_BORROWING_FACTOR_UPDATED_AT")
    return cum + (block_timestamp - updated) * borrowing_factor_per_second(m, prices, g, is_long)


def total_pending_borrowing_fees(m: Market, prices: MarketPrices, g: GlobalParams | None, is_long: bool,
                                 block_timestamp: int) -> int:
    """``getTotalPendingBorrowingFees``: OI × next cumulative factor − TOTAL_BORROWING (USD 1e30)."""
    nxt = next_cumulative_borrowing_factor(m, prices, g, is_long, block_timestamp)
    total = _z(m.total_borrowing_long if is_long else m.total_borrowing_short)
    v = apply_factor(open_interest(m, is_long), nxt) - total
    if v < 0:
        raise ContractRevert("pending borrowing fees below zero (TOTAL_BORROWING above OI × factor)")
    return v


def next_position_impact_pool_amount(m: Market, block_timestamp: int) -> int:
    """``getNextPositionImpactPoolAmount``: the impact pool less its pending distribution."""
    amount = m.position_impact_pool_amount
    rate = _z(m.position_impact_pool_distribution_rate)
    if amount == 0 or rate == 0:
        return amount
    floor = _z(m.min_position_impact_pool_amount)
    if amount <= floor:
        return amount
    at = _z(m.position_impact_pool_distributed_at)
    seconds = 0 if at == 0 else block_timestamp - at
    return amount - min(apply_factor(seconds, rate), amount - floor)


@dataclass(frozen=True)
class PoolValueInfo:
    """``MarketPoolValueInfo.Props`` (USD 1e30 unless named an amount)."""

    pool_value: int
    long_pnl: int
    short_pnl: int
    net_pnl: int
    long_token_amount: int
    short_token_amount: int
    long_token_usd: int
    short_token_usd: int
    total_borrowing_fees: int
    borrowing_fee_pool_factor: int
    impact_pool_amount: int
    lent_impact_pool_amount: int


def pool_value_info(m: Market, prices: MarketPrices, g: GlobalParams | None, block_timestamp: int,
                    maximize: bool = False, max_pnl_factor: tuple[int, int] | None = None) -> PoolValueInfo:
    """``MarketUtils.getPoolValueInfo`` (MarketUtils.sol L298-401) at ``block_timestamp``.

    ``max_pnl_factor`` = (long, short) factors of the pnlFactorType; default MAX_PNL_FACTOR_FOR_TRADERS.
    """
    mx_long, mx_short = max_pnl_factor or (m.max_pnl_factor_for_traders_long, m.max_pnl_factor_for_traders_short)
    la, sa = pool_amount(m, True), pool_amount(m, False)
    lu, su = la * prices.long.pick(maximize), sa * prices.short.pick(maximize)
    value = lu + su
    fees = (total_pending_borrowing_fees(m, prices, g, True, block_timestamp)
            + total_pending_borrowing_fees(m, prices, g, False, block_timestamp))
    pool_factor = FLOAT - _g(g).borrowing_fee_receiver_factor
    value += apply_factor(fees, pool_factor)
    long_pnl = capped_pnl(get_pnl(m, prices.index, True, not maximize), lu, mx_long)
    short_pnl = capped_pnl(get_pnl(m, prices.index, False, not maximize), su, mx_short)
    value -= long_pnl + short_pnl
    impact = next_position_impact_pool_amount(m, block_timestamp)
    value -= impact * prices.index.pick(not maximize)
    lent = _z(m.lent_position_impact_pool_amount)
    value += lent * prices.index.pick(maximize)
    return PoolValueInfo(value, long_pnl, short_pnl, long_pnl + short_pnl, la, sa, lu, su, fees, pool_factor,
                         impact, lent)


def pool_value_usd(m: Market, prices: MarketPrices, maximize: bool = False, g: GlobalParams | None = None,
                   block_timestamp: int = 0) -> int:
    """GM pool value (``getPoolValueInfo`` with MAX_PNL_FACTOR_FOR_TRADERS), USD 1e30."""
    return pool_value_info(m, prices, g, block_timestamp, maximize).pool_value


# ---- PositionPricingUtils.getPriceImpactUsd --------------------------------------------------
def adjusted_impact_factors(m: Market) -> tuple[int, int, int, int]:
    """``getAdjustedPositionImpactFactors`` / ``…ExponentFactors``: (fp, fn, ep, en) with the positive
    factor and exponent each capped at the negative one (no open-and-close profit)."""
    fp, fn = m.position_impact_factor_positive, m.position_impact_factor_negative
    ep, en = m.position_impact_exponent_factor_positive, m.position_impact_exponent_factor_negative
    return min(fp, fn), fn, min(ep, en), en


def apply_impact_factor(diff_usd: int, factor: int, exponent: int) -> int:
    """``PricingUtils.applyImpactFactor``: applyFactor(applyExponentFactor(diff, e), f)."""
    return apply_factor(apply_exponent_factor(diff_usd, exponent), factor)


def _impact_for(m: Market, lo: int, so: int, nlo: int, nso: int) -> tuple[int, bool]:
    """``_getPriceImpactUsd`` on (long, short, nextLong, nextShort) open interest."""
    d0, d1 = abs(lo - so), abs(nlo - nso)
    same_side = (lo <= so) == (nlo <= nso)
    improved = d1 < d0
    fp, fn, ep, en = adjusted_impact_factors(m)
    if same_side:
        f, e = (fp, ep) if improved else (fn, en)
        delta = abs(apply_impact_factor(d0, f, e) - apply_impact_factor(d1, f, e))
        return (delta if improved else -delta), improved
    pos = apply_impact_factor(d0, fp, ep)
    neg = apply_impact_factor(d1, fn, en)
    delta = abs(pos - neg)
    return (delta if pos > neg else -delta), improved


def _next_oi(is_long: bool, usd_delta: int, lo: int, so: int) -> tuple[int, int, int, int]:
    """``getNextOpenInterestParams``: a decrease past the side's OI floors it at 0."""
    nlo, nso = lo, so
    if is_long:
        nlo = 0 if usd_delta < 0 and -usd_delta > lo else lo + usd_delta
    else:
        nso = 0 if usd_delta < 0 and -usd_delta > so else so + usd_delta
    return lo, so, nlo, nso


def price_impact_usd_and_balance(m: Market, prices: MarketPrices, g: GlobalParams | None, usd_delta: int,
                                 token_delta: int, is_long: bool) -> tuple[int, bool]:
    """``PositionPricingUtils.getPriceImpactUsd``: (impact USD 1e30, balanceWasImproved).

    With USE_OPEN_INTEREST_IN_TOKENS_FOR_BALANCE, open interest and the delta are index tokens ×
    mid price. A negative impact is recomputed on the index token's virtual inventory and the
    more negative result (with its own balanceWasImproved) is taken.
    """
    use_tokens = _g(g).use_open_interest_in_tokens_for_balance
    mid = prices.index.mid_price
    if use_tokens:
        lo = open_interest_in_tokens(m, True) * mid
        so = open_interest_in_tokens(m, False) * mid
        usd_delta = token_delta * mid
    else:
        lo, so = open_interest(m, True), open_interest(m, False)
    impact, improved = _impact_for(m, *_next_oi(is_long, usd_delta, lo, so))
    if impact >= 0:
        return impact, improved
    if not m.virtual_token_id or m.virtual_token_id == ZERO32 or int(m.virtual_token_id, 16) == 0:
        return impact, improved
    if use_tokens:
        vinv = _z(m.virtual_inventory_for_positions_in_tokens) * mid
    else:
        vinv = m.virtual_inventory_for_positions
    vlo, vso = (0, vinv) if vinv > 0 else (-vinv, 0)
    if usd_delta < 0:
        vlo, vso = vlo - usd_delta, vso - usd_delta
    v_impact, v_improved = _impact_for(m, *_next_oi(is_long, usd_delta, vlo, vso))
    return (v_impact, v_improved) if v_impact < impact else (impact, improved)


def price_impact_usd(m: Market, size_delta_usd: int, is_long: bool, prices: MarketPrices | None = None,
                     g: GlobalParams | None = None, size_delta_in_tokens: int = 0) -> int:
    """Impact USD of changing one side's OI (negative delta = decrease); see ``price_impact_usd_and_balance``."""
    px = prices if prices is not None else MarketPrices(Price(0, 0), Price(0, 0), Price(0, 0))
    return price_impact_usd_and_balance(m, px, g, size_delta_usd, size_delta_in_tokens, is_long)[0]


# ---- PositionPricingUtils.getPositionFees ----------------------------------------------------
def funding_amount(latest_per_size: int, position_per_size: int, size_in_usd: int, round_up: bool) -> int:
    """``MarketUtils.getFundingAmount``: size × (latest − position) / (1e30 × 1e15), up for fees."""
    diff = latest_per_size - position_per_size
    if diff < 0:
        raise ContractRevert("funding amount per size below the position's snapshot")
    return mul_div(size_in_usd, diff, FLOAT * FLOAT_PRECISION_SQRT, round_up)


def trader_discount_factor(a: AccountFees | None) -> int:
    """``ReferralUtils.getReferralInfo`` traderDiscountFactor: bps(totalRebate × discountShare / 1e4)."""
    if a is None or not _has_code(a):
        return 0
    return basis_points_to_float(a.total_rebate_bps * a.discount_share_bps // BASIS_POINTS)


def _has_code(a: AccountFees) -> bool:
    return bool(a.referral_code) and int(a.referral_code, 16) != 0


@dataclass(frozen=True)
class PositionFees:
    """The parts of ``PositionPricingUtils.PositionFees`` the liquidation check uses (collateral-token units)."""

    balance_was_improved: bool
    position_fee_factor: int
    position_fee_amount: int
    referral_discount_amount: int
    pro_discount_amount: int
    total_discount_amount: int
    borrowing_fee_usd: int
    borrowing_fee_amount: int
    funding_fee_amount: int
    claimable_long_token_amount: int
    claimable_short_token_amount: int
    total_cost_amount: int


def _per_size(m: Market, token: str, is_long: bool) -> tuple[int, int]:
    for o in m.open_interest:
        if o.is_long == is_long and o.collateral_token.lower() == token.lower():
            return o.funding_fee_amount_per_size, o.claimable_funding_amount_per_size
    return 0, 0


def position_fees(p: Position, m: Market, coll: Price, balance_was_improved: bool, account: AccountFees | None,
                  size_delta_usd: int | None = None) -> PositionFees:
    """``getPositionFees`` with ``isLiquidation = false`` and no UI fee receiver (as the liquidation check)."""
    size = p.size_in_usd if size_delta_usd is None else size_delta_usd
    if coll.min <= 0:
        raise ContractRevert("collateral token price is zero")
    fee_factor = m.position_fee_factor_positive if balance_was_improved else m.position_fee_factor_negative
    fee_amount = apply_factor(size, fee_factor) // coll.min
    pro = 0
    if account is not None and account.pro_tier > 0 and account.pro_discount_factor > 0:
        pro = apply_factor(fee_amount, account.pro_discount_factor)
    ref = 0
    if account is not None and _has_code(account):
        ref = apply_factor(fee_amount, trader_discount_factor(account))
    discount = max(pro, ref)
    cum = m.cumulative_borrowing_factor_long if p.is_long else m.cumulative_borrowing_factor_short
    if p.borrowing_factor > cum:
        raise ContractRevert(f"UnexpectedBorrowingFactor({p.borrowing_factor}, {cum})")
    borrowing_usd = apply_factor(p.size_in_usd, cum - p.borrowing_factor)
    borrowing_amount = borrowing_usd // coll.min
    latest_fee, _ = _per_size(m, p.collateral_token, p.is_long)
    _, latest_long = _per_size(m, m.long_token, p.is_long)
    _, latest_short = _per_size(m, m.short_token, p.is_long)
    funding = funding_amount(latest_fee, p.funding_fee_amount_per_size, p.size_in_usd, True)
    claim_long = funding_amount(latest_long, p.long_token_claimable_funding_amount_per_size, p.size_in_usd, False)
    claim_short = funding_amount(latest_short, p.short_token_claimable_funding_amount_per_size, p.size_in_usd, False)
    total = fee_amount + borrowing_amount - discount + funding
    return PositionFees(balance_was_improved, fee_factor, fee_amount, ref, pro, discount, borrowing_usd,
                        borrowing_amount, funding, claim_long, claim_short, total)


# ---- PositionUtils.isPositionLiquidatable ------------------------------------------------------
@dataclass(frozen=True)
class LiquidationCheck:
    liquidatable: bool
    reason: str                       # "", "min collateral", "< 0", "min collateral for leverage"
    remaining_collateral_usd: int
    min_collateral_usd: int
    min_collateral_usd_for_leverage: int
    # the terms, for reports and the book (USD 1e30 unless an amount)
    pnl_usd: int = 0
    collateral_usd: int = 0
    price_impact_usd: int = 0
    fees: PositionFees | None = None


def collateral_price(p: Position, m: Market, prices: MarketPrices) -> Price:
    """``MarketUtils.getCachedTokenPrice``: the long or short token's price (index if it is the index)."""
    t = p.collateral_token.lower()
    if t == m.long_token.lower():
        return prices.long
    if t == m.short_token.lower():
        return prices.short
    return prices.index


def liquidation_impact(p: Position, m: Market, prices: MarketPrices, g: GlobalParams | None) -> tuple[int, bool]:
    """The impact term of the check and balanceWasImproved: the close impact, a positive one capped
    at MAX_POSITION_IMPACT_FACTOR[positive], plus the pending impact (index min if > 0, else max),
    then never positive and floored at −size × MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS
    (MarketUtils.sol L999-1018 ``capPositiveImpactUsdByMaxPositionImpact``, L2369-2378 positive cap
    ≤ negative cap)."""
    impact, improved = price_impact_usd_and_balance(m, prices, g, -p.size_in_usd, -p.size_in_tokens, p.is_long)
    if impact >= 0:
        # getMaxPositionImpactFactors: the positive cap is itself capped at the negative one
        cap = min(m.max_position_impact_factor_positive, m.max_position_impact_factor_negative)
        impact = min(impact, apply_factor(p.size_in_usd, cap))
    if p.pending_impact_amount > 0:
        impact += p.pending_impact_amount * prices.index.min
    else:
        impact += p.pending_impact_amount * prices.index.max
    if impact >= 0:
        return 0, improved
    return max(impact, -apply_factor(p.size_in_usd, m.max_position_impact_factor_for_liquidations)), improved


def liquidation_impact_usd(p: Position, m: Market, prices: MarketPrices, g: GlobalParams | None = None) -> int:
    return liquidation_impact(p, m, prices, g)[0]


def position_pnl_usd(p: Position, m: Market, prices: MarketPrices, index_price: int | None = None) -> int:
    """``PositionUtils.getPositionPnlUsd`` for a full close (sizeDeltaUsd = sizeInUsd): the worst
    price for the position; a profit scaled by cappedPoolPnl / poolPnl (pool PnL at the maximizing
    price of the index Price, capped by MAX_PNL_FACTOR_FOR_TRADERS of the side's pool at min price)."""
    px = prices.index.pick_for_pnl(p.is_long, False) if index_price is None else index_price
    value = p.size_in_tokens * px
    pnl = value - p.size_in_usd if p.is_long else p.size_in_usd - value
    if pnl > 0:
        pool_token_usd = pool_amount(m, p.is_long) * (prices.long.min if p.is_long else prices.short.min)
        pool_pnl = get_pnl(m, prices.index, p.is_long, True)
        mx = m.max_pnl_factor_for_traders_long if p.is_long else m.max_pnl_factor_for_traders_short
        capped = capped_pnl(pool_pnl, pool_token_usd, mx)
        if capped != pool_pnl and capped > 0 and pool_pnl > 0:
            pnl = pnl * capped // pool_pnl   # Precision.mulDiv, rounded down
    return pnl


def is_position_liquidatable(p: Position, m: Market, prices: MarketPrices, g: GlobalParams | None,
                             should_validate_min_collateral_usd: bool = True,
                             for_liquidation: bool = True, account: AccountFees | None = None) -> LiquidationCheck:
    """``PositionUtils.isPositionLiquidatable`` (PositionUtils.sol L316-450; liquidation fee excluded)."""
    pnl = position_pnl_usd(p, m, prices)
    coll = collateral_price(p, m, prices)
    collateral_usd = p.collateral_amount * coll.min
    impact, improved = liquidation_impact(p, m, prices, g)
    fees = position_fees(p, m, coll, improved, account)
    remaining = collateral_usd + pnl + impact - fees.total_cost_amount * coll.min
    mcf = m.min_collateral_factor_for_liquidation if for_liquidation else m.min_collateral_factor
    for_leverage = apply_factor(p.size_in_usd, mcf)
    min_usd = _g(g).min_collateral_usd if should_validate_min_collateral_usd else 0
    if should_validate_min_collateral_usd and remaining < min_usd:
        flag, reason = True, "min collateral"
    elif remaining <= 0:
        flag, reason = True, "< 0"
    elif remaining < for_leverage:
        flag, reason = True, "min collateral for leverage"
    else:
        flag, reason = False, ""
    return LiquidationCheck(flag, reason, remaining, min_usd, for_leverage, pnl_usd=pnl, collateral_usd=collateral_usd,
                            price_impact_usd=impact, fees=fees)


# ---- liquidation price ------------------------------------------------------------------------
def prices_at(m: Market, prices: MarketPrices, index_price: int) -> MarketPrices:
    """Prices with the index at ``index_price`` (min = max); a long/short token that *is* the index
    token (WETH backing ETH/USD) moves with it, every other price stays."""
    ip = Price(index_price, index_price)
    idx = m.index_token.lower()
    lp = ip if m.long_token.lower() == idx else prices.long
    sp = ip if m.short_token.lower() == idx else prices.short
    return MarketPrices(ip, lp, sp)


def _liq_at(p: Position, m: Market, prices: MarketPrices, g: GlobalParams | None, account: AccountFees | None,
            px: int) -> LiquidationCheck:
    return is_position_liquidatable(p, m, prices_at(m, prices, px), g, account=account)


def _margin(c: LiquidationCheck) -> int:
    """Distance to the flip: remaining − the binding threshold (liquidatable iff < 0, or == 0 at '< 0')."""
    need = max(c.min_collateral_usd, c.min_collateral_usd_for_leverage, 1)
    return c.remaining_collateral_usd - need


def liquidation_price(p: Position, m: Market, prices: MarketPrices, g: GlobalParams | None,
                      account: AccountFees | None = None, max_ratio: int = 10**6) -> Fraction | None:
    """Index price (GMX per unit) at which ``is_position_liquidatable`` flips, other prices fixed.

    The index price is set to min = max = P (``prices_at``; a pool/collateral token that is the index
    token moves with it) and the exact check is evaluated at integer P. Returned: for a long the
    highest integer P at which the position is liquidatable (P + 1 is not), for a short the lowest
    (P − 1 is not), so the answer *is* the contract's flip point. Found by secant steps on the
    exact remaining-collateral margin, then by walking/bisecting integers. None when no price in
    [P0 / max_ratio, P0 × max_ratio] liquidates it (e.g. a short backed by more index tokens than it
    is short) or when the check itself reverts.
    """
    p0 = prices.index.mid_price
    if p0 <= 0:
        return None
    down = p.is_long  # longs liquidate as the price falls
    lo_bound, hi_bound = max(1, p0 // max_ratio), p0 * max_ratio

    def liq(px: int) -> bool:
        return _liq_at(p, m, prices, g, account, px).liquidatable

    def margin(px: int) -> int:
        return _margin(_liq_at(p, m, prices, g, account, px))

    try:
        # secant on the margin from the current price and a 1% move toward liquidation
        a = p0
        b = p0 - p0 // 100 if down else p0 + p0 // 100
        fa, fb = margin(a), margin(b)
        x = b
        for _ in range(12):
            if fb == fa:
                break
            x = b - fb * (b - a) // (fb - fa) if fb != fa else b
            x = min(max(x, lo_bound), hi_bound)
            if abs(x - b) <= 1:
                break
            a, fa, b, fb = b, fb, x, margin(x)
        # bracket: `inside` liquidatable, `outside` not; the flip lies between them
        step = 1
        if liq(x):
            inside = x
            outside = x + step if down else x - step
            while liq(outside):
                inside, step = outside, step * 2
                outside = inside + step if down else inside - step
                if outside > hi_bound or outside < lo_bound:
                    return Fraction(inside)  # liquidatable across the whole range: at any price
        else:
            outside = x
            inside = x - step if down else x + step
            while not liq(inside):
                outside, step = inside, step * 2
                inside = outside - step if down else outside + step
                if inside < lo_bound or inside > hi_bound:
                    return None
        while abs(outside - inside) > 1:
            mid = (inside + outside) // 2
            if liq(mid):
                inside = mid
            else:
                outside = mid
        return Fraction(inside)
    except ContractRevert:
        return None
