"""Per-market risk parameters of a GMX v2 snapshot as floats, for the oracle-manipulation lab.

The attacker's perp leg needs what the position book (:mod:`.snapshot`) does not carry: price
impact factors and exponents, the impact pool, open-interest caps (reserve factors × pool) and
the open fee. Conversions follow protocols.md §1.3 / §1.6 (factors are 1e30-scaled; impact
factors apply to USD: ``impact = f · imbalance^e``). Markets come in the order of
:func:`defi_perps.book.snapshot.from_snapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from defi_perps.domain import USD_SCALE, Snapshot


def _f(num: int, den: int = USD_SCALE) -> float:
    return float(Fraction(num, den))


@dataclass(frozen=True)
class PerpMarketParams:
    impact_factor_negative: float
    impact_factor_positive: float
    impact_exponent_negative: float
    impact_exponent_positive: float
    max_impact_positive: float           # MAX_POSITION_IMPACT_FACTOR (positive), fraction of size
    max_impact_negative: float           # MAX_POSITION_IMPACT_FACTOR (negative): cap on a decrease
    impact_pool_tokens: float            # position impact pool, index tokens
    oi_reserve_factor_long: float        # OPEN_INTEREST_RESERVE_FACTOR: OI cap = pool USD × factor
    oi_reserve_factor_short: float
    open_fee: float                      # POSITION_FEE_FACTOR for a balance-worsening order
    min_collateral_factor: float         # 1 / max leverage


def gmx_v2_market_params(snapshot: Snapshot) -> list[PerpMarketParams]:
    if snapshot.meta.protocol != "gmx_v2":
        from defi_perps.exceptions import InputError

        raise InputError(f"the manipulation lab's perp leg reads GMX v2 market parameters; snapshot "
                         f"{snapshot.meta.id} is {snapshot.meta.protocol} (use --book or --synthetic)")
    tokens = {t.address.lower(): t for t in snapshot.tokens}
    out = []
    for mk in snapshot.markets:
        dec = tokens[mk.index_token.lower()].decimals if mk.index_token.lower() in tokens else 18
        out.append(PerpMarketParams(
            impact_factor_negative=_f(mk.position_impact_factor_negative),
            impact_factor_positive=_f(mk.position_impact_factor_positive),
            impact_exponent_negative=_f(mk.position_impact_exponent_factor_negative),
            impact_exponent_positive=_f(mk.position_impact_exponent_factor_positive),
            max_impact_positive=_f(mk.max_position_impact_factor_positive),
            max_impact_negative=_f(mk.max_position_impact_factor_negative),
            impact_pool_tokens=_f(mk.position_impact_pool_amount, 10**dec),
            oi_reserve_factor_long=_f(mk.open_interest_reserve_factor_long),
            oi_reserve_factor_short=_f(mk.open_interest_reserve_factor_short),
            open_fee=_f(mk.position_fee_factor_negative),
            min_collateral_factor=_f(mk.min_collateral_factor)))
    return out


__all__ = ["PerpMarketParams", "gmx_v2_market_params"]
