"""Funding-rate rules of each venue, as pure formulas with their sources.

Conventions: rates are plain fractions *per funding interval* (0.0001 = 0.01 % per 8 h) unless a
name says ``_apr`` (annualised, simple: rate × intervals per year) or ``_per_second``. A positive
rate means longs pay shorts, so a delta-neutral spot-long / perp-short hedger *receives* it.

Sources (facts only; see ``../shared/reference/venues.md`` §0, §1.1–1.6):

* Binance USDⓈ-M: ``F = P̄ + clamp(I − P̄, −0.05 %, +0.05 %)`` per 8 h (scaled by ``interval/8h``
  where the symbol settles every 4 h or 1 h), ``I = 0.01 %/8 h``; "as long as the premium index is
  between −0.04 % and 0.06 %, the funding rate will equal 0.01 %"; premium
  ``P = [max(0, impact bid − index) − max(0, index − impact ask)] / index``; P̄ a time-weighted mean
  with linearly increasing weights. https://www.binance.com/en/support/faq/360033525031 . Each
  symbol is also capped (``fundingRateCap`` / ``fundingRateFloor`` of ``GET /fapi/v1/fundingInfo``,
  ±0.75 %/interval for BTCUSDT, venues.md: values change) — the cap is a parameter here.
* Hyperliquid: the same 8 h formula, paid every hour at 1/8; premium sampled every 5 s and averaged
  over the hour; capped at 4 %/hour; payment = size × oracle price × F.
  https://hyperliquid.gitbook.io/hyperliquid-docs/trading/funding
* Bybit: ``F = P̄ + clamp(I − P̄, −0.05 %, +0.05 %)``, ``I = 0.01 %/8 h`` (8 h default; per-symbol
  upper/lower limits). https://www.bybit.com/en/help-center/article/Introduction-to-Funding-Rate
* OKX: ``F = clamp(P̄ + clamp(I − P̄, −0.05 %, +0.05 %), floor, cap)``, ``I = 0.01 %/8 h``; the cap
  and floor depend on the instrument's tier (±0.375 % for BTC-USDT-SWAP is the documented level, a
  parameter here). https://www.okx.com/help/iv-funding-rate-calculation-rules (venues.md §1.3).
* GMX v2 (gmx-synthetics ``contracts/market/MarketUtils.sol`` ``getNextFundingFactorPerSecond``):
  the larger side pays the smaller one. Static mode (``fundingIncreaseFactorPerSecond == 0``):
  ``f = min(fundingFactor × (|L − S|^e / (L + S)), maxFundingFactorPerSecond)``. Adaptive mode: a
  saved signed factor moves each update by ``(|L − S|^e / (L + S)) × fundingIncreaseFactorPerSecond
  × dt`` toward the heavier side when the skew is above ``thresholdForStableFunding`` (or flipped
  against the saved sign), decays by ``fundingDecreaseFactorPerSecond × dt`` (not past magnitude 1
  wei-of-factor, keeping its sign) when the skew is below ``thresholdForDecreaseFunding``, is then
  bounded by ``maxFundingFactorPerSecond`` and the returned rate by ``[minFundingFactorPerSecond,
  max]``. Factors are 1e30-scaled integers; ``|x|^e`` with ``x < 1`` (below one 1e-30 unit) is 0.
  This module keeps the contract's integers and rounding (floor division) for ``e = 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from defi_perps.exceptions import InputError

HOURS_PER_YEAR = 24 * 365
SECONDS_PER_YEAR = 3600 * HOURS_PER_YEAR
FLOAT_PRECISION = 10 ** 30   # GMX factors

DEFAULT_INTEREST_8H = 0.0001   # 0.01 % per 8 h (Binance, Bybit, OKX, Hyperliquid)
DEFAULT_CLAMP = 0.0005         # ±0.05 %


@dataclass(frozen=True)
class FundingRule:
    """One venue's premium-index funding rule (CEX family and Hyperliquid)."""

    venue: str
    interval_hours: float                 # how often funding settles
    interest_8h: float = DEFAULT_INTEREST_8H
    clamp: float = DEFAULT_CLAMP          # on (I − P̄), in 8 h units
    cap: float = math.inf                 # |F| per interval after the formula
    formula_hours: float = 8.0            # the 8 h formula is scaled to the interval
    source: str = ""

    @property
    def intervals_per_year(self) -> float:
        return HOURS_PER_YEAR / self.interval_hours

    def rate(self, premium: float) -> float:
        """Funding per interval for an (interval-averaged) premium index ``premium`` (8 h units)."""
        if not math.isfinite(premium):
            raise InputError(f"premium index {premium!r} is not a finite number")
        f8 = premium + min(max(self.interest_8h - premium, -self.clamp), self.clamp)
        f = f8 * self.interval_hours / self.formula_hours
        return min(max(f, -self.cap), self.cap)

    def apr(self, rate_per_interval: float) -> float:
        """Simple annualised rate of a per-interval funding rate."""
        return rate_per_interval * self.intervals_per_year


RULES: dict[str, FundingRule] = {
    "binance": FundingRule("binance", 8.0, cap=0.0075,
                           source="https://www.binance.com/en/support/faq/360033525031 ; cap: GET /fapi/v1/fundingInfo "
                                  "(BTCUSDT ±0.75 %)"),
    "hyperliquid": FundingRule("hyperliquid", 1.0, cap=0.04,
                               source="https://hyperliquid.gitbook.io/hyperliquid-docs/trading/funding (1/8 of the 8 h "
                                      "rate hourly, cap 4 %/h)"),
    "bybit": FundingRule("bybit", 8.0, cap=0.0075,
                         source="https://www.bybit.com/en/help-center/article/Introduction-to-Funding-Rate (8 h; "
                                "per-symbol limits)"),
    "okx": FundingRule("okx", 8.0, cap=0.00375,
                       source="https://www.okx.com/help/iv-funding-rate-calculation-rules (8 h; tiered cap)"),
    "bitmex": FundingRule("bitmex", 8.0,
                          source="BitMEX documentation: F = P + clamp(I − P, ±0.05 %), 8 h (venues.md §0)"),
}


def rule_for(venue: str) -> FundingRule:
    key = venue.strip().lower()
    if key not in RULES:
        raise InputError(f"no premium-index funding rule for venue {venue!r}; choose from {', '.join(RULES)} "
                         "(GMX v2: gmx_funding_factor_per_second)")
    return RULES[key]


def premium_index(impact_bid: float, impact_ask: float, index: float) -> float:
    """``[max(0, impact bid − index) − max(0, index − impact ask)] / index`` (Binance, Hyperliquid)."""
    if not (index > 0 and math.isfinite(impact_bid) and math.isfinite(impact_ask)):
        raise InputError("premium index needs a positive index price and finite impact prices")
    return (max(0.0, impact_bid - index) - max(0.0, index - impact_ask)) / index


def time_weighted_premium(samples: list[float]) -> float:
    """Binance's average premium: sample ``i`` (1-based) weighted ``i`` (linearly increasing)."""
    if not samples:
        raise InputError("no premium samples")
    n = len(samples)
    return sum((i + 1) * p for i, p in enumerate(samples)) / (n * (n + 1) / 2)


# -- GMX v2 (1e30-scaled integers, the contract's rounding) ---------------------------------------

@dataclass(frozen=True)
class GmxFundingConfig:
    """A market's funding keys (1e30-scaled factors; ``exponent`` 1e30 = linear)."""

    funding_factor: int = 0
    exponent: int = FLOAT_PRECISION
    increase_factor_per_second: int = 0
    decrease_factor_per_second: int = 0
    threshold_stable: int = 0
    threshold_decrease: int = 0
    min_factor_per_second: int = 0
    max_factor_per_second: int = 0


def _apply_exponent(value: int, exponent: int) -> int:
    if value < FLOAT_PRECISION:
        return 0
    if exponent == FLOAT_PRECISION:
        return value
    # the contract uses PRBMath pow on 18-decimal values; float pow is within its own rounding for
    # the exponents markets use (1–2), not bit-exact
    return int((value / FLOAT_PRECISION) ** (exponent / FLOAT_PRECISION) * FLOAT_PRECISION)


def _bound_magnitude(value: int, lo: int, hi: int) -> int:
    mag = min(max(abs(value), lo), hi)
    return -mag if value < 0 else mag


def gmx_funding_factor_per_second(long_oi: int, short_oi: int, cfg: GmxFundingConfig,
                                  saved_factor: int = 0, duration_s: int = 0) -> tuple[int, bool, int]:
    """``(factor per second, longs pay shorts, next saved factor)`` as ``getNextFundingFactorPerSecond``
    returns them; open interest in 1e30 USD."""
    if long_oi < 0 or short_oi < 0 or duration_s < 0:
        raise InputError("open interest and duration must be >= 0")
    diff = abs(long_oi - short_oi)
    total = long_oi + short_oi
    if diff == 0 and cfg.increase_factor_per_second == 0:
        return 0, True, 0
    if total == 0:
        raise InputError("GMX funding is undefined with no open interest (UnableToGetFundingFactorEmptyOpenInterest)")
    skew = _apply_exponent(diff, cfg.exponent) * FLOAT_PRECISION // total   # Precision.toFactor
    if cfg.increase_factor_per_second == 0:
        f = min(skew * cfg.funding_factor // FLOAT_PRECISION, cfg.max_factor_per_second)
        return f, long_oi > short_oi, 0
    same_direction = (saved_factor > 0 and long_oi > short_oi) or (saved_factor < 0 and short_oi > long_oi)
    change = "none"
    if same_direction:
        if skew > cfg.threshold_stable:
            change = "increase"
        elif skew < cfg.threshold_decrease:
            change = "decrease"
    else:
        change = "increase"
    nxt = saved_factor
    if change == "increase":
        inc = skew * cfg.increase_factor_per_second // FLOAT_PRECISION * duration_s
        nxt = saved_factor + (-inc if long_oi < short_oi else inc)
    if change == "decrease" and saved_factor != 0:
        dec = cfg.decrease_factor_per_second * duration_s
        sign = 1 if saved_factor > 0 else -1
        nxt = sign if abs(saved_factor) <= dec else (abs(saved_factor) - dec) * sign
    nxt = _bound_magnitude(nxt, 0, cfg.max_factor_per_second)
    bounded = _bound_magnitude(nxt, cfg.min_factor_per_second, cfg.max_factor_per_second)
    return abs(bounded), bounded > 0, nxt


def gmx_apr(factor_per_second: int) -> float:
    """A GMX funding factor per second (1e30) as a simple annual fraction of position size."""
    return factor_per_second / FLOAT_PRECISION * SECONDS_PER_YEAR


__all__ = [
    "FLOAT_PRECISION",
    "RULES",
    "FundingRule",
    "GmxFundingConfig",
    "gmx_apr",
    "gmx_funding_factor_per_second",
    "premium_index",
    "rule_for",
    "time_weighted_premium",
]
