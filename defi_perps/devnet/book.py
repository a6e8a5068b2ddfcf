"""Generate the devnet's seeded book: a realistic, reproducible set of GMX v2 positions.

Everything is drawn from ``numpy.random.default_rng(seed)`` and turned into exact ints before it
leaves this module, so the same seed gives the same book (and the same chain) every time.

Shape of the book (devnet choices, meant to look like a GMX v2 deployment, not to copy one):
- every account holds at least one position; the rest go to accounts drawn with a heavy skew, so
  a few accounts hold many positions (at most one per market/collateral/side, as on GMX);
- sizes are lognormal (median ≈ $1.5k) with a Pareto tail of whales, clipped to [$10, $25M];
- leverage mixes 1.1–5x, 5–20x, 20–50x and 50x–the market's max (≤ 100x);
- entry prices scatter around the current price (per-market sigma), so positions carry PnL;
- about 4% sit close to liquidation: opened at 10x–max leverage, the price has since moved
  against them until the remaining collateral, after the close fee and pending borrowing fee
  GMX's liquidation check counts, is 1.02–1.25× the market's ``minCollateralFactor`` × size;
- no position starts liquidatable at genesis prices under GMX's rule (fees included; the
  liquidation fee is excluded from the check, as on-chain).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from eth_utils import keccak, to_checksum_address

from defi_perps.devnet.universe import (FLOAT, FUNDING_BASE_PER_SIZE, FUNDING_PAID, POSITION_FEE_IMPROVED,
                                       POSITION_FEE_WORSENED, TOKENS, MarketSpec, claimable_accrual, funding_accrual)
from defi_perps.domain import Position
from defi_perps.exceptions import InputError

NEAR_LIQUIDATION_SHARE = 0.04
ONE_DAY = 86_400


def account_address(seed: int, i: int) -> str:
    """The i-th devnet trader: deterministic, no private key needed (nobody signs for them)."""
    return to_checksum_address(keccak(b"defi-perps devnet account" + seed.to_bytes(8, "big") + i.to_bytes(8, "big"))[12:])


@dataclass(frozen=True)
class Aggregate:
    """Per (market, collateral token, side): the sums GMX keeps in OPEN_INTEREST* / COLLATERAL_SUM."""

    open_interest_usd: int
    open_interest_in_tokens: int
    collateral_sum: int
    total_borrowing: int = 0          # Σ applyFactor(sizeInUsd, borrowingFactor) (MarketUtils TOTAL_BORROWING)
    pending_impact_amount: int = 0    # Σ pendingImpactAmount (TOTAL_PENDING_IMPACT_AMOUNT)


def aggregate(positions: Sequence[Position]) -> dict[tuple[str, str, bool], Aggregate]:
    acc: dict[tuple[str, str, bool], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for p in positions:
        a = acc[(p.market, p.collateral_token, p.is_long)]
        a[0] += p.size_in_usd
        a[1] += p.size_in_tokens
        a[2] += p.collateral_amount
        a[3] += p.size_in_usd * p.borrowing_factor // FLOAT
        a[4] += p.pending_impact_amount
    return {k: Aggregate(*v) for k, v in acc.items()}


def _leverage(rng: np.random.Generator, n: int, max_lev: np.ndarray) -> np.ndarray:
    bucket = rng.choice(4, size=n, p=[0.40, 0.35, 0.19, 0.06])
    lo = np.array([1.1, 5.0, 20.0, 50.0])[bucket]
    hi = np.minimum(np.array([5.0, 20.0, 50.0, 100.0])[bucket], max_lev)
    lo = np.minimum(lo, hi * 0.9)
    return np.exp(rng.uniform(np.log(lo), np.log(hi)))


def generate_positions(markets: Sequence[MarketSpec], token_addrs: Mapping[str, str],
                       market_addrs: Mapping[str, str], cumulative_borrowing: Mapping[tuple[str, bool], int],
                       n_positions: int, n_accounts: int, seed: int, now: int) -> list[Position]:
    """Draw ``n_positions`` positions over ``n_accounts`` accounts on ``markets``.

    ``cumulative_borrowing[(market_name, is_long)]`` is the market's current cumulative borrowing
    factor; each position's ``borrowingFactor`` (its value at open) is drawn below it.
    """
    if n_positions < 0 or n_accounts < 1:
        raise InputError("positions must be >= 0 and accounts >= 1")
    rng = np.random.default_rng(seed)
    n = n_positions
    weights = np.array([m.weight for m in markets], dtype=float)
    mk = rng.choice(len(markets), size=n, p=weights / weights.sum())
    is_long = rng.random(n) < 0.56
    use_long_token = rng.random(n) < np.where(is_long, 0.45, 0.2)  # shorts mostly post stablecoins
    size_scale = np.array([m.size_scale for m in markets])[mk]
    size = np.exp(rng.normal(np.log(1500.0), 1.5, n)) * size_scale
    whales = rng.random(n) < 0.01
    size = np.where(whales, 200_000.0 * (1.0 + rng.pareto(1.3, n)) * size_scale, size)
    size = np.clip(size, 10.0, 25_000_000.0)
    max_lev = np.array([min(m.max_leverage, 0.8 * FLOAT / m.min_collateral_factor) for m in markets])[mk]
    lev = _leverage(rng, n, max_lev)
    near_lev = np.exp(rng.uniform(np.log(10.0), np.log(max_lev)))
    sigma = np.array([m.move_sigma for m in markets])[mk]
    move = np.exp(rng.normal(0.0, 1.0, n) * sigma)          # entry = current / move
    near = rng.random(n) < NEAR_LIQUIDATION_SHARE
    near_ratio = rng.uniform(1.02, 1.25, n)
    age = rng.integers(ONE_DAY // 24, 90 * ONE_DAY, n)
    decreased = rng.random(n) < 0.3
    dec_frac = rng.random(n)
    # Borrowing accrued since open, as a share of the market's cumulative factor: most positions
    # are recent relative to the market's life (devnet choice).
    bf_frac = rng.uniform(0.85, 1.0, n)
    impact_frac = rng.uniform(0.0, 0.0015, n)
    impact_sign = np.where(rng.random(n) < 0.8, -1, 1)
    funding = rng.integers(0, 10**12, (n, 3))
    skew = rng.random(n)
    redraw = rng.integers(0, 2**62, n)

    account_list = [account_address(seed, a) for a in range(n_accounts)]
    # Position.getPositionKey = keccak256(abi.encode(account, market, collateral, isLong)): every
    # argument is one left-padded word, so precomputed words + keccak is the same hash, faster
    # than eth_abi per position (tests compare it with keys.position_key).
    pad = {a: bytes(12) + bytes.fromhex(a[2:]) for a in (*account_list, *market_addrs.values(), *token_addrs.values())}
    flag = {True: (1).to_bytes(32, "big"), False: bytes(32)}

    def position_key(account: str, market: str, collateral: str, long: bool) -> bytes:
        return keccak(pad[account] + pad[market] + pad[collateral] + flag[long])

    positions: list[Position] = []
    used: set[bytes] = set()
    # Every (market, collateral, side) slot holds at most one position per account.
    slots = [(mi, c, side) for mi, m in enumerate(markets) for c in dict.fromkeys((m.long, m.short))
             for side in (True, False)]
    if n > len(slots) * n_accounts:
        raise InputError(f"{n} positions do not fit {n_accounts} accounts ({len(slots)} market/collateral/side "
                         f"slots each); raise --accounts")
    filled: dict[tuple[int, str, bool], int] = defaultdict(int)
    for i in range(n):
        mi, long = int(mk[i]), bool(is_long[i])
        coll_sym = markets[mi].long if use_long_token[i] else markets[mi].short
        if filled[(mi, coll_sym, long)] >= n_accounts:  # slot full: take the next one with room
            start = slots.index((mi, coll_sym, long))
            mi, coll_sym, long = next(sl for j in range(1, len(slots) + 1)
                                      if filled[sl := slots[(start + j) % len(slots)]] < n_accounts)
        filled[(mi, coll_sym, long)] += 1
        m = markets[mi]
        index = TOKENS[m.index]
        coll = TOKENS[coll_sym]
        market_addr = market_addrs[m.name]
        coll_addr = token_addrs[coll_sym]
        # Account: each account once first, then a skewed draw (u^3 piles up on low indices).
        a = i if i < n_accounts else int(n_accounts * skew[i] ** 3)
        key = position_key(account_list[a], market_addr, coll_addr, long)
        tries = 0
        while key in used:  # one position per (account, market, collateral, side), as on GMX
            tries += 1
            a = int((redraw[i] + tries * 7919) % n_accounts) if tries < 50 else (a + 1) % n_accounts
            key = position_key(account_list[a], market_addr, coll_addr, long)
        used.add(key)
        account = account_list[a]

        px_now = index.price_per_unit()                       # 30 - decimals
        px_entry = max(1, int(px_now / float(move[i])))
        size_usd = int(round(float(size[i]) * 100)) * 10**28  # whole cents, 1e30-scaled
        size_tokens = size_usd // px_entry
        side = 1 if long else -1
        pnl = side * (size_tokens * px_now - size_usd)        # USD 1e30 at the current price
        mcf = m.min_collateral_factor
        cum_bf = cumulative_borrowing[(m.name, long)]
        borrowing_factor = cum_bf * int(bf_frac[i] * 1_000_000) // 1_000_000
        # GMX's liquidation check counts the close fee and the pending borrowing fee
        # (PositionUtils.isPositionLiquidatable, protocols.md §1.2), so the seeded distance to
        # liquidation is measured above size × MCF + those fees; the liquidation fee is excluded.
        # funding owed since the position's snapshot (a share of the slot's accrual, devnet choice)
        # is part of the check too (FUNDING_FEE_AMOUNT_PER_SIZE − the position's snapshot).
        fees_usd = (size_usd * max(POSITION_FEE_IMPROVED, POSITION_FEE_WORSENED) // FLOAT
                    + size_usd * (cum_bf - borrowing_factor) // FLOAT
                    + size_usd * FUNDING_PAID[long] // FLOAT + FLOAT)
        # MIN_COLLATERAL_USD ($1 on the devnet) is a floor of its own; $2 keeps a margin above it.
        floor_usd = max(size_usd * mcf // FLOAT, 2 * FLOAT) + fees_usd  # threshold incl. fees
        if near[i]:
            # Opened at 10x–max leverage, then the price moved against it until the remaining
            # collateral is just above the threshold: solve the entry (via size in tokens) for that.
            collateral_usd = int(size_usd / float(near_lev[i]))
            pnl_needed = floor_usd * int(near_ratio[i] * 10_000) // 10_000 - collateral_usd
            if pnl_needed < 0:
                size_tokens = (size_usd + side * pnl_needed) // px_now
            else:  # leverage already at the threshold: open at the current price
                size_tokens = size_usd // px_now
                collateral_usd += pnl_needed
        else:
            collateral_usd = int(size_usd / float(lev[i]))
            if collateral_usd + pnl < floor_usd * 13 // 10:
                # Entry drawn too far against the position: reopen at the current price.
                px_entry = px_now
                size_tokens = size_usd // px_entry
                pnl = side * (size_tokens * px_now - size_usd)
                collateral_usd = max(collateral_usd, floor_usd * 13 // 10 - pnl)
        collateral_usd = max(collateral_usd, 2 * FLOAT)      # keep above MIN_COLLATERAL_USD ($1)
        collateral_amount = max(1, collateral_usd // coll.price_per_unit())
        opened = now - int(age[i])
        decreased_at = opened + int((now - opened) * float(dec_frac[i])) if decreased[i] else 0
        pending_impact = int(impact_sign[i]) * (size_tokens * int(impact_frac[i] * 1_000_000) // 1_000_000)
        positions.append(Position(
            key="0x" + key.hex(), account=account, market=market_addr, collateral_token=coll_addr,
            is_long=long, size_in_usd=size_usd, size_in_tokens=size_tokens,
            collateral_amount=collateral_amount, pending_impact_amount=pending_impact,
            borrowing_factor=borrowing_factor,
            # snapshots below the slot's latest per-size values (deploy.funding_state) by a share
            # funding[i, k] / 1e12 of the slot's accrual
            funding_fee_amount_per_size=FUNDING_BASE_PER_SIZE + funding_accrual(long, coll.price_per_unit())
            * (10**12 - int(funding[i, 0])) // 10**12,
            long_token_claimable_funding_amount_per_size=FUNDING_BASE_PER_SIZE + claimable_accrual(
                long, TOKENS[m.long].price_per_unit()) * (10**12 - int(funding[i, 1])) // 10**12,
            short_token_claimable_funding_amount_per_size=FUNDING_BASE_PER_SIZE + claimable_accrual(
                long, TOKENS[m.short].price_per_unit()) * (10**12 - int(funding[i, 2])) // 10**12,
            increased_at_time=opened, decreased_at_time=decreased_at,
        ))
    return positions
