"""Exact GMX v2 formulas on snapshot records (pure; Python ints and Fractions, Solidity rounding).

Sources (gmx-io/gmx-synthetics; see ../shared/reference/protocols.md §1.2, §1.5, §1.6):
- ``contracts/utils/Precision.sol``: ``applyFactor(v, f) = v * f / 1e30`` (mulDiv, rounds down),
  ``toFactor(v, d) = v * 1e30 / d`` (signed: sign kept, magnitude rounded down).
- ``contracts/market/MarketUtils.sol``: ``getPoolDivisor`` (2 for single-token markets),
  ``getOpenInterest`` / ``getOpenInterestInTokens`` (sum over collateral tokens, each / divisor),
  ``getPnl`` (``pickPriceForPnl``), ``getPoolUsdWithoutPnl``, ``getPnlToPoolFactor``,
  ``getCappedPnl``, ``getPoolValueInfo``.
- ``contracts/position/PositionUtils.sol``: ``getPositionPnlUsd``, ``isPositionLiquidatable``.
- ``contracts/pricing/PositionPricingUtils.sol``: ``getPriceImpactUsd``, position/borrowing fees.

What a snapshot cannot hold, and is therefore left out (each only makes a position look *safer*
by the omitted amount, so liquidation distances are upper bounds where they apply):
- borrowing accrued since the last ``CUMULATIVE_BORROWING_FACTOR`` update and all pending funding
  fees (they need the latest funding-per-size state and the time since the last update);
- referral and UI-fee discounts (no referral data is indexed);
- pending borrowing fees and lent impact-pool amounts in the pool value.
Price impact uses integer exponent factors exactly; a non-integer exponent (GMX evaluates it with
PRBMath's pow) is evaluated here with a rational approximation — see ``_apply_exponent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from defi_perps.domain import USD_SCALE, GlobalParams, Market, OraclePrice, Position

FLOAT = USD_SCALE


# ---- Precision.sol ---------------------------------------------------------------------------
def apply_factor(value: int, factor: int) -> int:
    """``Precision.applyFactor``: value * factor / 1e30, rounded toward zero (signed value allowed)."""
    q = abs(value) * factor // FLOAT
    return -q if value < 0 else q


def to_factor(value: int, divisor: int) -> int:
    """``Precision.toFactor``: value * 1e30 / divisor, magnitude rounded down, sign kept."""
    if divisor == 0:
        return 0
    q = abs(value) * FLOAT // divisor
    return -q if value < 0 else q


def div_trunc(a: int, b: int) -> int:
    """Solidity signed division (rounds toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


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

    @property
    def mid(self) -> Fraction:
        return Fraction(self.min + self.max, 2)


@dataclass(frozen=True)
class MarketPrices:
    index: Price
    long: Price
    short: Price


# ---- MarketUtils.sol -------------------------------------------------------------------------
def pool_divisor(m: Market) -> int:
    return 2 if m.long_token.lower() == m.short_token.lower() else 1


def open_interest(m: Market, is_long: bool) -> int:
    """``getOpenInterest(dataStore, market, isLong)`` (USD, 1e30)."""
    d = pool_divisor(m)
    by_token = {o.collateral_token.lower(): o.open_interest_usd for o in m.open_interest if o.is_long == is_long}
    return by_token.get(m.long_token.lower(), 0) // d + by_token.get(m.short_token.lower(), 0) // d


def open_interest_in_tokens(m: Market, is_long: bool) -> int:
    """``getOpenInterestInTokens(dataStore, market, isLong)`` (index-token units)."""
    d = pool_divisor(m)
    by_token = {o.collateral_token.lower(): o.open_interest_in_tokens for o in m.open_interest if o.is_long == is_long}
    return by_token.get(m.long_token.lower(), 0) // d + by_token.get(m.short_token.lower(), 0) // d


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
    return pool_amount(m, is_long) * (p.max if maximize else p.min)


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


def pool_value_usd(m: Market, prices: MarketPrices, maximize: bool = False) -> int:
    """GM pool value (``getPoolValueInfo`` with MAX_PNL_FACTOR_FOR_TRADERS), USD 1e30.

    long/short token USD − capped trader PnL − impact pool × index price. Pending borrowing fees and
    the lent impact pool are not in the snapshot and are left out (see module docstring).
    """
    long_usd = pool_amount(m, True) * (prices.long.max if maximize else prices.long.min)
    short_usd = pool_amount(m, False) * (prices.short.max if maximize else prices.short.min)
    value = long_usd + short_usd
    value -= m.position_impact_pool_amount * (prices.index.min if maximize else prices.index.max)
    long_pnl = capped_pnl(get_pnl(m, prices.index, True, not maximize), long_usd, m.max_pnl_factor_for_traders_long)
    short_pnl = capped_pnl(get_pnl(m, prices.index, False, not maximize), short_usd,
                           m.max_pnl_factor_for_traders_short)
    return value - (long_pnl + short_pnl)


# ---- PositionPricingUtils.getPriceImpactUsd --------------------------------------------------
def _apply_exponent(diff_usd: int, exponent_factor: int) -> Fraction:
    """``Precision.applyExponentFactor``: (diff/1e30)^(e/1e30) × 1e30; 0 below 1 USD (as GMX).

    Exact for integer exponents (the GMX defaults 1 and 2); other exponents fall back to a float
    power, whose relative error (~1e-15) is far below PRBMath's own rounding.
    """
    if diff_usd < FLOAT:
        return Fraction(0)
    if exponent_factor % FLOAT == 0:
        e = exponent_factor // FLOAT
        return Fraction(diff_usd ** e, FLOAT ** (e - 1))
    x = Fraction(diff_usd, FLOAT)
    return Fraction(float(x) ** (exponent_factor / FLOAT)) * FLOAT


def _impact(diff_usd: int, factor: int, exponent: int) -> Fraction:
    return _apply_exponent(diff_usd, exponent) * factor / FLOAT


def price_impact_usd(m: Market, size_delta_usd: int, is_long: bool) -> int:
    """Price impact of changing one side's OI by ``size_delta_usd`` (negative = decrease), USD 1e30.

    Same-side rule: ``f·D0^e − f·D1^e`` with the positive factor when imbalance shrinks, the negative
    one when it grows; crossover: ``f_pos·D0^e_pos − f_neg·D1^e_neg`` (PricingUtils /
    PositionPricingUtils.getPriceImpactUsdForSameSideRebalance / ForCrossoverRebalance). Virtual
    inventory is not applied.
    """
    lo, so = open_interest(m, True), open_interest(m, False)
    nlo = lo + size_delta_usd if is_long else lo
    nso = so if is_long else so + size_delta_usd
    nlo, nso = max(nlo, 0), max(nso, 0)
    d0, d1 = abs(lo - so), abs(nlo - nso)
    same_side = (lo >= so) == (nlo >= nso)
    fp, fn = m.position_impact_factor_positive, m.position_impact_factor_negative
    ep, en = m.position_impact_exponent_factor_positive, m.position_impact_exponent_factor_negative
    if same_side:
        if d1 < d0:
            v = _impact(d0, fp, ep) - _impact(d1, fp, ep)
        else:
            v = -(_impact(d1, fn, en) - _impact(d0, fn, en))
    else:
        v = _impact(d0, fp, ep) - _impact(d1, fn, en)
    return int(v)  # toward zero, as Solidity's int conversion of the difference


# ---- PositionUtils.isPositionLiquidatable ------------------------------------------------------
@dataclass(frozen=True)
class LiquidationCheck:
    liquidatable: bool
    reason: str                       # "", "min collateral", "< 0", "min collateral for leverage"
    remaining_collateral_usd: int
    min_collateral_usd: int
    min_collateral_usd_for_leverage: int


def collateral_price(p: Position, m: Market, prices: MarketPrices) -> Price:
    """``MarketUtils.getCachedTokenPrice``: the long or short token's price."""
    return prices.long if p.collateral_token.lower() == m.long_token.lower() else prices.short


def close_costs_usd(p: Position, m: Market, coll: Price, price_impact: int) -> int:
    """Position (close) fee + borrowing fee in USD as ``getPositionFees`` charges them, through the
    collateral token at its min price (amount = usd / price, then × price: GMX's rounding)."""
    fee_factor = m.position_fee_factor_positive if price_impact > 0 else m.position_fee_factor_negative
    position_fee_amount = apply_factor(p.size_in_usd, fee_factor) // coll.min if coll.min else 0
    cum = m.cumulative_borrowing_factor_long if p.is_long else m.cumulative_borrowing_factor_short
    borrowing_usd = apply_factor(p.size_in_usd, max(cum - p.borrowing_factor, 0))
    borrowing_amount = borrowing_usd // coll.min if coll.min else 0
    return (position_fee_amount + borrowing_amount) * coll.min


def liquidation_impact_usd(p: Position, m: Market, prices: MarketPrices) -> int:
    """Impact counted in the liquidation check: close impact + pending impact (v2.2), never positive,
    floored at −size × MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS."""
    impact = price_impact_usd(m, -p.size_in_usd, p.is_long)
    if p.pending_impact_amount:
        px = prices.index.min if p.pending_impact_amount > 0 else prices.index.max
        impact += p.pending_impact_amount * px
    if impact >= 0:
        return 0
    return max(impact, -apply_factor(p.size_in_usd, m.max_position_impact_factor_for_liquidations))


def position_pnl_usd(p: Position, m: Market, prices: MarketPrices, index_price: int) -> int:
    """``PositionUtils.getPositionPnlUsd`` for a full close (sizeDeltaUsd = sizeInUsd)."""
    value = p.size_in_tokens * index_price
    pnl = value - p.size_in_usd if p.is_long else p.size_in_usd - value
    if pnl > 0:
        pool_token_usd = pool_amount(m, p.is_long) * (prices.long.min if p.is_long else prices.short.min)
        pool_pnl = get_pnl(m, Price(index_price, index_price), p.is_long, True)
        mx = m.max_pnl_factor_for_traders_long if p.is_long else m.max_pnl_factor_for_traders_short
        capped = capped_pnl(pool_pnl, pool_token_usd, mx)
        if capped != pool_pnl and capped > 0 and pool_pnl > 0:
            pnl = pnl * capped // pool_pnl   # Precision.applyFraction
    return pnl


def is_position_liquidatable(p: Position, m: Market, prices: MarketPrices, g: GlobalParams | None,
                             should_validate_min_collateral_usd: bool = True,
                             for_liquidation: bool = True) -> LiquidationCheck:
    """``PositionUtils.isPositionLiquidatable`` (liquidation fee excluded, as GMX does)."""
    pnl = position_pnl_usd(p, m, prices, prices.index.pick_for_pnl(p.is_long, False))
    coll = collateral_price(p, m, prices)
    impact = liquidation_impact_usd(p, m, prices)
    remaining = p.collateral_amount * coll.min + pnl + impact - close_costs_usd(p, m, coll, impact)
    min_usd = g.min_collateral_usd if g is not None else 0
    mcf = m.min_collateral_factor_for_liquidation if for_liquidation else m.min_collateral_factor
    for_leverage = apply_factor(p.size_in_usd, mcf)
    if should_validate_min_collateral_usd and remaining < min_usd:
        return LiquidationCheck(True, "min collateral", remaining, min_usd, for_leverage)
    if remaining <= 0:
        return LiquidationCheck(True, "< 0", remaining, min_usd, for_leverage)
    if remaining < for_leverage:
        return LiquidationCheck(True, "min collateral for leverage", remaining, min_usd, for_leverage)
    return LiquidationCheck(False, "", remaining, min_usd, for_leverage)


def liquidation_price(p: Position, m: Market, prices: MarketPrices, g: GlobalParams | None) -> Fraction | None:
    """Index price (per unit) at which ``is_position_liquidatable`` turns true, other prices fixed.

    remaining(P) is linear in the index price P: PnL moves with P, and so does the collateral when
    it is the index token (e.g. WETH backing a long ETH position). Costs and close impact are held at
    their current value (exact when MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS is 0, GMX's default).
    Returns None when no price liquidates the position (e.g. fully collateralised in the index token).
    """
    coll = collateral_price(p, m, prices)
    coll_is_index = p.collateral_token.lower() == m.index_token.lower()
    impact = liquidation_impact_usd(p, m, prices)
    costs = close_costs_usd(p, m, coll, impact)
    sign = 1 if p.is_long else -1
    a = sign * p.size_in_tokens + (p.collateral_amount if coll_is_index else 0)
    b = -sign * p.size_in_usd + impact - costs + (0 if coll_is_index else p.collateral_amount * coll.min)
    threshold = max(g.min_collateral_usd if g is not None else 0, apply_factor(p.size_in_usd, m.min_collateral_factor_for_liquidation), 1)
    if a == 0:
        return Fraction(0) if b < threshold else None
    px = Fraction(threshold - b, a)
    return px if px > 0 else None
