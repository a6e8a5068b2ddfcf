"""Small books and result comparison shared by the engine tests."""

from __future__ import annotations

import numpy as np

from defi_perps.book import Book


def random_book(seed: int, n: int, n_markets: int = 2, coll_tokens: bool = False, own_rates: bool = False,
                shared_accounts: bool = False) -> Book:
    rng = np.random.default_rng(seed)
    price = np.array([100.0, 20.0, 5.0])[:n_markets]
    market = rng.integers(0, n_markets, n)
    side = np.where(rng.random(n) < 0.6, 1, -1)
    lev = rng.choice([2.0, 5.0, 10.0, 25.0, 50.0], n)
    notional = 500.0 * (1.0 + rng.pareto(1.5, n))
    entry = price[market] * np.exp(side * rng.uniform(-0.3, 0.5, n) / lev)
    coll = notional / lev
    ctok = np.zeros(n)
    if coll_tokens:
        use = rng.random(n) < 0.3
        ctok = np.where(use, coll / price[market], 0.0)
        coll = np.where(use, 0.0, coll)
    rates = np.where(rng.random(n) < 0.5, rng.choice([0.005, 0.02, 0.04], n), np.nan) if own_rates else None
    b = Book(market_names=["AAA", "BBB", "CCC"][:n_markets], price=price, market=market, side=side,
             size=notional / entry, entry_price=entry, collateral_usd=coll, collateral_tokens=ctok,
             account=np.arange(n) // 2 if shared_accounts else np.arange(n), position_mm_rate=rates)
    oi = b.open_interest()
    b.pool_long_tokens = 1.2 * oi[:, 0] / price
    b.pool_short_usd = 1.2 * oi[:, 1] + 1.0
    return b


def assert_outputs_close(a, b, rtol: float = 1e-9, atol: float = 1e-7) -> None:
    for name in a._fields:
        x, y = getattr(a, name), getattr(b, name)
        if x.dtype.names:
            for f in x.dtype.names:
                np.testing.assert_allclose(x[f], y[f], rtol=rtol, atol=atol, err_msg=f"{name}.{f}")
        else:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=name)


def assert_outputs_equal(a, b) -> None:
    for name in a._fields:
        x, y = getattr(a, name), getattr(b, name)
        assert x.tobytes() == y.tobytes(), name
