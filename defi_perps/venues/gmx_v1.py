"""GMX v1 (GLP Vault): ``VaultUtils.validateLiquidation`` on exact 1e30 USD integers.

Source: gmx-io/gmx-contracts ``contracts/core/VaultUtils.sol`` validateLiquidation and
``contracts/core/Vault.sol`` getDelta (protocols.md §2): delta = size·|price − avg|/avg with the
min price for longs, max for shorts; marginFees = funding fee + position fee
(size − size·(1e4 − marginFeeBasisPoints)/1e4); state 1 = liquidate (losses exceed collateral, or remaining
< marginFees, or remaining < marginFees + liquidationFeeUsd); state 2 = over max leverage, closed
via decreasePosition; 0 = healthy.
"""

from __future__ import annotations

BASIS_POINTS_DIVISOR = 10_000
FUNDING_RATE_PRECISION = 1_000_000


def get_delta(size: int, average_price: int, price: int, is_long: bool) -> tuple[bool, int]:
    """``Vault.getDelta`` without the min-profit rule: (has_profit, delta) in 1e30 USD."""
    diff = average_price - price if average_price > price else price - average_price
    delta = size * diff // average_price
    has_profit = price > average_price if is_long else average_price > price
    return has_profit, delta


def validate_liquidation(*, size: int, collateral: int, average_price: int, price: int, is_long: bool,
                         margin_fee_basis_points: int, liquidation_fee_usd: int, max_leverage: int,
                         cumulative_funding_rate: int = 0, entry_funding_rate: int = 0) -> tuple[int, int]:
    """Returns ``(liquidationState, marginFees)`` as the contract does."""
    has_profit, delta = get_delta(size, average_price, price, is_long)
    funding_fee = size * (cumulative_funding_rate - entry_funding_rate) // FUNDING_RATE_PRECISION
    # Vault.getPositionFee: size − size·(10000 − bps)/10000 (rounds the fee up, not down)
    position_fee = size - size * (BASIS_POINTS_DIVISOR - margin_fee_basis_points) // BASIS_POINTS_DIVISOR
    margin_fees = funding_fee + position_fee
    if not has_profit and collateral < delta:
        return 1, margin_fees
    remaining = collateral
    if not has_profit:
        remaining = collateral - delta
    if remaining < margin_fees:
        return 1, remaining
    if remaining < margin_fees + liquidation_fee_usd:
        return 1, margin_fees
    if remaining * max_leverage < size * BASIS_POINTS_DIVISOR:
        return 2, margin_fees
    return 0, margin_fees


def liquidation_price(size: float, collateral: float, average_price: float, side: int,
                      margin_fee_rate: float, liquidation_fee_usd: float, max_leverage: float) -> float:
    """Float price where the first of the two triggers fires (fees or max leverage)."""
    fees = size * margin_fee_rate
    # remaining = collateral − size·|p − avg|/avg on the losing side
    need = max(fees + liquidation_fee_usd, size / max_leverage)
    move = (collateral - need) / size * average_price
    return average_price - side * move


def bankruptcy_price(size: float, collateral: float, average_price: float, side: int) -> float:
    return average_price - side * collateral / size * average_price
