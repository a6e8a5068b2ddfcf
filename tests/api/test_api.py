"""The Python API and the example script that uses it (examples/api_quickstart.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from defi_perps import api

ROOT = Path(__file__).resolve().parents[2]


def test_simulate_and_compare_on_a_synthetic_book() -> None:
    book = api.synthetic_book(800, markets=2, seed=3)
    run = api.simulate(book, shock="*:-15%@10m", horizon="1h", venue="gmx-v2", paths=16, seed=4)
    df = run.to_pandas()
    assert len(df) == 16 and {"liquidated_notional_usd", "bad_debt_usd", "paid_by.pool"} <= set(df.columns)
    assert run.to_arrow().num_rows == 16
    bm = run.by_market()
    assert len(bm) == 32 and set(bm["market"]) == set(book.market_names)
    # per-market sums equal the totals
    np.testing.assert_allclose(bm.groupby("path")["liquidated_notional_usd"].sum().to_numpy(),
                               df["liquidated_notional_usd"].to_numpy(), rtol=1e-12)
    again = api.simulate(book, shock="*:-15%@10m", horizon="1h", venue="gmx-v2", paths=16, seed=4)
    pd.testing.assert_frame_equal(again.to_pandas(), df)             # same seed: identical
    cmp = api.compare(book, venues=["gmx-v2", "binance"], shock="*:-15%@10m", horizon="1h", paths=16, seed=4)
    t = cmp.to_pandas()
    assert list(t["venue"]) == ["gmx-v2", "binance"]
    # compare's gmx-v2 row is the simulate run's numbers (one code path)
    assert t.loc[0, "bad_debt_usd"] == df["bad_debt_usd"].mean()
    paid = t[[c for c in t.columns if c.startswith("paid_by_")]].sum(axis=1).to_numpy()
    np.testing.assert_allclose(paid, t["bad_debt_usd"].to_numpy(), rtol=1e-9, atol=1e-6)
    import matplotlib.pyplot as plt

    for fig in (run.plot(), cmp.plot()):
        assert fig.axes
        plt.close(fig)
