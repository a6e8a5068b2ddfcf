"""GMX v1 liquidation math in the Vault's exact integers (pure functions, no I/O).

Each function follows one contract function of gmx-io/gmx-contracts @ fe55c4ba, rounding included
(Solidity integer division truncates toward zero; all operands here are non-negative):

- ``position_key``: ``Vault.getPositionKey`` = keccak256(abi.encodePacked(account, collateralToken,
  indexToken, isLong)) — packed, 20+20+20+1 bytes (protocols.md §2);
- ``get_delta``: ``Vault.getDelta`` with the min-profit rule (a profit of at most
  ``minProfitBasisPoints`` of the size counts as 0 until ``minProfitTime`` has passed since the last
  increase); the price is the min price for longs, the max price for shorts;
- ``funding_fee`` / ``position_fee``: ``VaultUtils.getFundingFee`` (size × Δrate / 1e6, truncated)
  and ``getPositionFee`` (size − size × (1e4 − bps) / 1e4: the fee rounds UP);
- ``next_funding_rate`` / ``funding_rate_at_liquidation``: ``Vault.getNextFundingRate`` and what
  ``updateCumulativeFundingRate`` adds before ``liquidatePosition`` checks (nothing while
  ``lastFundingTimes`` is 0, which only starts the clock);
- ``validate_liquidation``: ``VaultUtils.validateLiquidation(…, _raise=false)``, the call
  ``liquidatePosition`` makes: 1 = liquidate (losses exceed collateral, or fees, or fees + the
  liquidation fee exceed what remains — a profit counts toward paying fees here), 2 = over max
  leverage (closed by ``_decreasePosition``, the trader keeps the rest), 0 = healthy; the second
  value is the margin fees charged (capped at the remaining collateral in the "fees exceed" case).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

BASIS_POINTS_DIVISOR = 10_000
FUNDING_RATE_PRECISION = 1_000_000
PRICE_PRECISION = 10**30


def position_key(account: str, collateral_token: str, index_token: str, is_long: bool) -> str:
    packed = (bytes.fromhex(account[2:]) + bytes.fromhex(collateral_token[2:]) + bytes.fromhex(index_token[2:])
              + (b"\x01" if is_long else b"\x00"))
    return "0x" + keccak(packed).hex()


def get_delta(size: int, average_price: int, price: int, is_long: bool, *, now: int = 0,
              last_increased_time: int = 0, min_profit_time: int = 0, min_profit_bps: int = 0) -> tuple[bool, int]:
    """``Vault.getDelta``: (has_profit, |PnL| in 1e30 USD). ``price`` is the min price for a long, the
    max price for a short (the side's worse price)."""
    if average_price <= 0:
        raise ValueError("Vault: invalid _averagePrice")        # the contract reverts (error 38)
    diff = average_price - price if average_price > price else price - average_price
    delta = size * diff // average_price
    has_profit = price > average_price if is_long else average_price > price
    min_bps = 0 if now > last_increased_time + min_profit_time else min_profit_bps
    if has_profit and delta * BASIS_POINTS_DIVISOR <= size * min_bps:
        delta = 0
    return has_profit, delta


def funding_fee(size: int, cumulative_funding_rate: int, entry_funding_rate: int) -> int:
    if size == 0:
        return 0
    rate = cumulative_funding_rate - entry_funding_rate
    if rate < 0:
        raise ValueError("funding rate below the entry rate (the contract's SafeMath sub reverts)")
    return size * rate // FUNDING_RATE_PRECISION


def position_fee(size_delta: int, margin_fee_basis_points: int) -> int:
    if size_delta == 0:
        return 0
    after = size_delta * (BASIS_POINTS_DIVISOR - margin_fee_basis_points) // BASIS_POINTS_DIVISOR
    return size_delta - after


def next_funding_rate(now: int, last_funding_time: int, funding_interval: int, pool_amount: int,
                      reserved_amount: int, factor: int) -> int:
    """``Vault.getNextFundingRate``; ``factor`` is stableFundingRateFactor for stable tokens, else
    fundingRateFactor."""
    if last_funding_time + funding_interval > now:
        return 0
    intervals = (now - last_funding_time) // funding_interval
    if pool_amount == 0:
        return 0
    return factor * reserved_amount * intervals // pool_amount


def funding_rate_at_liquidation(cumulative: int, last_funding_time: int, next_rate: int) -> int:
    """The collateral token's cumulative rate ``liquidatePosition`` uses: it calls
    ``updateCumulativeFundingRate`` first, which only sets the clock while ``lastFundingTimes`` is 0."""
    return cumulative if last_funding_time == 0 else cumulative + next_rate


@dataclass(frozen=True, slots=True)
class LiquidationCheck:
    state: int                        # 0 healthy, 1 liquidate, 2 max leverage exceeded (closed)
    margin_fees: int                  # as returned by the contract (capped in the "fees exceed" case)
    has_profit: bool
    delta: int
    remaining: int                    # collateral after PnL (profit counted, as with _raise=false)
    funding_fee: int
    position_fee: int
    reason: str

    @property
    def liquidatable(self) -> bool:
        return self.state != 0


@dataclass(frozen=True, slots=True)
class Terms:
    """What ``validate_liquidation`` needs besides the position (Vault state at the block)."""

    margin_fee_basis_points: int
    liquidation_fee_usd: int
    max_leverage: int
    cumulative_funding_rate: int      # of the collateral token, as the check sees it
    now: int = 0
    min_profit_time: int = 0
    min_profit_bps: int = 0           # of the index token


def validate_liquidation(*, size: int, collateral: int, average_price: int, entry_funding_rate: int,
                         last_increased_time: int, is_long: bool, price: int, terms: Terms) -> LiquidationCheck:
    """``VaultUtils.validateLiquidation(…, _raise=false)`` at the side's price (min for longs, max for
    shorts)."""
    has_profit, delta = get_delta(size, average_price, price, is_long, now=terms.now,
                                  last_increased_time=last_increased_time, min_profit_time=terms.min_profit_time,
                                  min_profit_bps=terms.min_profit_bps)
    ff = funding_fee(size, terms.cumulative_funding_rate, entry_funding_rate)
    pf = position_fee(size, terms.margin_fee_basis_points)
    fees = ff + pf

    def out(state: int, fee: int, remaining: int, reason: str) -> LiquidationCheck:
        return LiquidationCheck(state, fee, has_profit, delta, remaining, ff, pf, reason)

    if not has_profit and collateral < delta:
        return out(1, fees, collateral - delta, "losses exceed collateral")
    remaining = collateral - delta if not has_profit else collateral + delta
    if remaining < fees:
        return out(1, remaining, remaining, "fees exceed collateral")
    if remaining < fees + terms.liquidation_fee_usd:
        return out(1, fees, remaining, "liquidation fees exceed collateral")
    if remaining * terms.max_leverage < size * BASIS_POINTS_DIVISOR:
        return out(2, fees, remaining, "maxLeverage exceeded")
    return out(0, fees, remaining, "")


def liquidation_price(*, size: int, collateral: int, average_price: int, entry_funding_rate: int,
                      last_increased_time: int, is_long: bool, terms: Terms) -> int | None:
    """The exact price where the check first stops being healthy: the highest integer min price at
    which a long is liquidatable (state ≠ 0), or the lowest max price for a short; None when no
    positive price liquidates it. On the losing side the remaining collateral falls monotonically
    with the price move and the fees do not depend on the price, so a bisection finds the flip."""
    if size <= 0 or average_price <= 0:
        return None

    def bad(p: int) -> bool:
        return validate_liquidation(size=size, collateral=collateral, average_price=average_price,
                                    entry_funding_rate=entry_funding_rate, last_increased_time=last_increased_time,
                                    is_long=is_long, price=p, terms=terms).state != 0

    if is_long:
        if bad(average_price):
            # liquidatable without any loss (fees or leverage): at the entry price already; a profit
            # may still rescue it above, so report the highest bad price up to a doubling of the entry
            lo, hi = average_price, 2 * average_price
            if bad(hi):
                return hi
            while hi - lo > 1:                      # invariant: bad(lo), not bad(hi)
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if bad(mid) else (lo, mid)
            return lo
        lo, hi = 1, average_price                   # find the highest bad price below the entry
        if not bad(lo):
            return None
        while hi - lo > 1:                          # invariant: bad(lo), not bad(hi)
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if bad(mid) else (lo, mid)
        return lo
    if bad(average_price):
        lo, hi = max(1, average_price // 2), average_price
        if bad(lo):
            return lo
        while hi - lo > 1:                          # invariant: not bad(lo), bad(hi)
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if bad(mid) else (mid, hi)
        return hi
    lo = average_price
    hi = average_price + average_price * (collateral + 1) // size + 2   # delta ≥ collateral there
    while not bad(hi):
        hi *= 2
    while hi - lo > 1:                              # invariant: not bad(lo), bad(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if bad(mid) else (mid, hi)
    return hi


def glp_aum(tokens: list[tuple[bool, int, int, int, int, int, int, int]], maximise: bool,
            aum_addition: int = 0, aum_deduction: int = 0) -> int:
    """``GlpManager.getAum``. ``tokens``: (is_stable, decimals, pool, reserved, guaranteed_usd,
    global_short_size, global_short_average_price, price) per whitelisted token, ``price`` the max
    price when maximising, else the min price."""
    aum, short_profits = aum_addition, 0
    for is_stable, dec, pool, reserved, guaranteed, short_size, short_avg, price in tokens:
        if is_stable:
            aum += pool * price // 10**dec
            continue
        if short_size > 0:
            diff = short_avg - price if short_avg > price else price - short_avg
            delta = short_size * diff // short_avg
            if short_avg > price:
                short_profits += delta
            else:
                aum += delta
        aum += guaranteed
        aum += (pool - reserved) * price // 10**dec
    aum = 0 if short_profits > aum else aum - short_profits
    return 0 if aum_deduction > aum else aum - aum_deduction
