"""The Python API and the example script that uses it (examples/api_quickstart.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defi_perps import api
from defi_perps.exceptions import InputError

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


def test_attack_api_matches_the_cli_payload(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """api.attack returns the same payload (same digest) as `defi-perps attack --json`, as DataFrames."""
    import json

    from click.testing import CliRunner

    from defi_perps.cli import main
    from defi_perps.runs.record import digest

    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path))
    inc = api.attack(scenario="jelly-2025", seed=1)
    r = CliRunner().invoke(main, ["attack", "--scenario", "jelly-2025", "--seed", "1", "--json",
                                  "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert r.exit_code == 0, r.output
    assert digest(json.loads(r.stdout)) == digest(inc.payload)
    row = inc.to_pandas()
    assert len(row) == 1 and row.loc[0, "attacker_net_usd"] == inc.summary["attacker_net_usd"]
    assert row.loc[0, "paid_by.backstop_vault"] == inc.paid_by["backstop_vault"] > 0
    assert inc.record_check()["within_order_of_magnitude"].all()
    assert inc.price_path().shape[0] > 2 and inc.to_arrow().num_rows == 1

    book = api.synthetic_book(300, markets=2, seed=1)
    run = api.attack(book, market="ETH", capital="5M", paths=4, volatility=0.8, seed=2)
    df = run.to_pandas()
    assert len(df) == 4 and {"attacker_net_usd", "paid_by.pool", "bad_debt_usd"} <= set(df.columns)
    for k, v in run.summary["paid_by"].items():        # per-path rows average to the summary
        assert df[f"paid_by.{k}"].mean() == pytest.approx(v, rel=1e-12, abs=1e-9)
    assert df["liquidated_notional_usd"].mean() == pytest.approx(run.summary["liquidated_notional_usd"])
    r = CliRunner().invoke(main, ["attack", "--synthetic", "300", "--markets", "2", "--seed", "2", "--market", "ETH",
                                  "--capital", "5M", "--paths", "4", "--volatility", "0.8", "--json",
                                  "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert r.exit_code == 0, r.output
    cli = json.loads(r.stdout)
    # the CLI's synthetic book is seeded by --seed: build the same book for the API
    same = api.attack(api.synthetic_book(300, markets=2, seed=2), market="ETH", capital=5e6, paths=4,
                      volatility=0.8, seed=2)
    assert digest(cli) == digest(same.payload)
    import matplotlib.pyplot as plt

    for fig in (inc.plot(), run.plot()):
        assert fig.axes
        plt.close(fig)
    with pytest.raises(InputError, match="market"):
        api.attack(book, market="DOGE", capital=1e6)
    with pytest.raises(InputError, match="scenario"):
        api.attack(book, scenario="mango-2022")


def test_the_example_script_runs_on_a_synthetic_book(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEFI_PERPS_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "api_quickstart.py"), "--synthetic", "600",
                        "--paths", "4", "--out", str(tmp_path)], check=False, capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert "mango-2022 replay vs the record" in r.stdout and "best attack on" in r.stdout
    # every compared venue's payer is a column (bbook's bad debt is the broker's)
    assert "paid_by_broker_usd" in r.stdout
    for name in ("fan_chart.png", "who_pays.png", "attack.png"):
        assert (tmp_path / name).stat().st_size > 10_000
