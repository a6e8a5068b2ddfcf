"""Seeded synthetic books: heavy-tailed sizes, a leverage mix, both sides, several markets.

Modelling choices (not sourced; tune per study): notional ~ Pareto(alpha=1.3) from $200, capped at
$50M; leverage drawn from {2, 3, 5, 10, 20, 25, 40, 50} with weights skewed to 5–20x; 60 % longs
(long-biased books before the Oct 2025 crash, incidents.md §1.2: longs were $16.8B of $19.3B
liquidated); entries log-normal around the current price (σ = 4 %); one account holds ~3 positions.
Pools are 1.5× each side's open interest. Market correlation lives in the price model
(:class:`~defi_perps.engine.paths.PriceModel`), not in the book.
"""

from __future__ import annotations

import numpy as np

from defi_perps.book.arrays import Book
from defi_perps.exceptions import InputError

# name, price (USD), typical annualised volatility, loading on the common factor
DEFAULT_MARKETS: tuple[tuple[str, float, float, float], ...] = (
    ("BTC", 112_000.0, 0.55, 0.90),
    ("ETH", 4_300.0, 0.75, 0.88),
    ("SOL", 185.0, 0.95, 0.80),
    ("HYPE", 45.0, 1.20, 0.70),
    ("XRP", 2.8, 1.00, 0.75),
    ("DOGE", 0.25, 1.10, 0.72),
)
_LEVERAGE = np.array([2.0, 3.0, 5.0, 10.0, 20.0, 25.0, 40.0, 50.0])
_LEVERAGE_W = np.array([0.08, 0.10, 0.20, 0.25, 0.17, 0.10, 0.06, 0.04])


def synthetic_book(n_positions: int, n_markets: int = 4, seed: int = 0, long_share: float = 0.6) -> Book:
    """Generate a reproducible book of ``n_positions`` across ``n_markets`` (≤ 6) markets."""
    if n_positions < 1:
        raise InputError("--synthetic needs a positive number of positions")
    if not 1 <= n_markets <= len(DEFAULT_MARKETS):
        raise InputError(f"synthetic books have 1 to {len(DEFAULT_MARKETS)} markets")
    rng = np.random.Generator(np.random.PCG64(seed))
    markets = DEFAULT_MARKETS[:n_markets]
    price = np.array([mk[1] for mk in markets])
    # BTC and ETH hold most open interest, as on every venue.
    weights = np.array([0.40, 0.30, 0.15, 0.08, 0.04, 0.03])[:n_markets]
    market = rng.choice(n_markets, size=n_positions, p=weights / weights.sum()).astype(np.int32)
    side = np.where(rng.random(n_positions) < long_share, 1, -1).astype(np.int8)
    notional = np.minimum(200.0 * (1.0 + rng.pareto(1.3, n_positions)), 5e7)
    leverage = rng.choice(_LEVERAGE, size=n_positions, p=_LEVERAGE_W)
    # Entries scatter around the price, but no position starts past 30 % of its margin: books read
    # from a venue have had their liquidatable positions removed by keepers already.
    move = np.clip(rng.normal(0.0, 0.04, n_positions), -0.3 / leverage, 0.3 / leverage)
    entry = price[market] * np.exp(side * move)
    size = notional / entry
    collateral = notional / leverage
    account = (np.arange(n_positions) // 3).astype(np.int32)
    rng.shuffle(account)
    book = Book(market_names=[mk[0] for mk in markets], price=price, market=market, side=side, size=size,
                entry_price=entry, collateral_usd=collateral, collateral_tokens=np.zeros(n_positions),
                account=account, source=f"synthetic({n_positions}, markets={n_markets}, seed={seed}"
                + (f", long_share={long_share:g})" if long_share != 0.6 else ")"),
                meta={"seed": seed, "volatility": [mk[2] for mk in markets], "beta": [mk[3] for mk in markets]})
    oi = book.open_interest()
    book.pool_long_tokens = 1.5 * oi[:, 0] / price
    book.pool_short_usd = 1.5 * oi[:, 1]
    return book
