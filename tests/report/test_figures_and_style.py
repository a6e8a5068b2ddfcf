"""Figures, tables and the number style, from data built by hand (no simulation needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.report import figures, style
from defi_perps.report.tables import html_table, write_table

ROOT = Path(__file__).resolve().parents[2]


def _decoded(path: Path) -> np.ndarray:
    from PIL import Image

    img = Image.open(path)
    img.load()
    return np.asarray(img.convert("L"))


def _data() -> dict[str, dict]:
    t = np.arange(61.0)
    rng = np.random.default_rng(0)
    rel = 1 + np.cumsum(rng.normal(-0.002, 0.003, (16, 61)), axis=1)
    grid = {"venue": [], "shock": [], "depth_stress": [], "market": [], "liquidated_share_of_oi": [],
            "amplification_p50": []}
    for v in ("gmx-v2", "hyperliquid"):
        for s in (-0.05, -0.2):
            for d in ((1.0,) if v == "gmx-v2" else (1.0, 0.05)):
                for m in ("ETH", "BTC"):
                    grid["venue"].append(v)
                    grid["shock"].append(s)
                    grid["depth_stress"].append(d)
                    grid["market"].append(m)
                    grid["liquidated_share_of_oi"].append(-s * (2 if d < 1 else 1))
                    grid["amplification_p50"].append(1.0 if v == "gmx-v2" else 1 / d ** 0.1)
    return {
        "pnl_to_pool": {"curves": [{"market": "ETH/USD", "moves_pct": [-10, 0, 10], "long": [-0.1, 0.0, 0.1],
                                    "short": [0.2, 0.0, -0.2], "threshold": {"long": 0.85, "short": 0.85}}]},
        "oi_liquidated_vs_move": {"grid": grid, "depths": [1.0, 0.05], "protocol_venue": "gmx-v2",
                                  "book_venue": "hyperliquid"},
        "fan_chart": {"t_minutes": t, "title": "fan", "markets": [
            {"name": "ETH/USD", "relative_mark": rel, "liquidated_per_step_usd": np.abs(rng.normal(0, 1e5, 60))}]},
        "cascade_amplification": {"grid": {k: [x for x, v in zip(grid[k], grid["venue"]) if v == "hyperliquid"]
                                           for k in grid}, "market": "ETH"},
        "fund_over_time": {"series": [{"venue": "Binance USDⓈ-M", "t_minutes": t, "mean": 1 - t / 200,
                                       "p5": 1 - t / 100, "p95": np.ones(61), "initial_usd": 1e6}]},
        "who_pays": {"rows": [{"name": "GMX v2", "paid_by": {"pool": 5e5}},
                              {"name": "Binance USDⓈ-M", "paid_by": {"insurance_fund": 2e5, "adl": 1e5}}]},
        "adl_haircuts": {"venues": [{"venue": "Hyperliquid", "haircuts": rng.lognormal(8, 1, 50),
                                     "per_path_notional": rng.lognormal(13, 1, 20)},
                                    {"venue": "GMX v2", "haircuts": np.zeros(0), "per_path_notional": np.zeros(20)}]},
        "manipulation_cost_profit": {"rows": [{"market": "JELLY", "cost_usd": 4e6, "profit_usd": 6e6},
                                              {"market": "ETH", "cost_usd": 9e8, "profit_usd": 1e6}]},
        "hedger_pnl": {"rows": [{"cause": "funding", "pnl_usd": 2e5}, {"cause": "ADL", "pnl_usd": -7e5},
                                {"cause": "re-hedge", "pnl_usd": -1e5}]},
    }


@pytest.mark.parametrize("kind", sorted(figures.FIGURES))
def test_every_figure_kind_draws_a_labelled_png(kind: str, tmp_path: Path) -> None:
    data = _data()[kind]
    path = figures.draw(kind, data, tmp_path / f"{kind}.png", [12, 13, 14])
    arr = _decoded(path)
    assert arr.shape[0] > 300 and arr.shape[1] > 500 and arr.std() > 5
    fig = figures.draw(kind, data, None, [12])        # the API gets the open Figure
    labels = [ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes if ax.get_visible()]
    assert any(labels), "axes are labelled"
    assert any("run 12" in t.get_text() for t in fig.texts)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_unknown_figure_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown figure kind"):
        figures.draw("pie", {}, tmp_path / "x.png")


def test_number_style() -> None:
    assert style.usd(1_234_567) == "$1.23M" and style.usd(456_000) == "$456k" and style.usd(12.4) == "$12"
    assert style.usd(-2.5e9) == "$-2.50B" and style.usd(None) == "–"
    assert style.pct(0.1234) == "12.3%" and style.pct(-0.00001) == "0.0%"
    assert style.ratio(1.5) == "1.50×" and style.price(0.00001234) == "$0.00001234" and style.price(0.15) == "$0.1500"
    assert style.price(3012.5) == "$3,012.50"


def test_tables_round_trip_csv_and_parquet(tmp_path: Path) -> None:
    df = pd.DataFrame({"market": ["ETH", "BTC"], "bad_debt_usd": [1.5e6, 0.1 + 0.2], "liquidated_share_of_oi": [0.25, 1e-3],
                       "run_id": [3, 4]})
    files = write_table(df, tmp_path / "tables", "t")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / files["parquet"]), df)
    back = pd.read_csv(tmp_path / files["csv"])
    assert back["bad_debt_usd"][1] == 0.1 + 0.2          # full precision, not the rounded display
    html = html_table(df)
    assert "$1.50M" in html and "25.0%" in html and "#3" in html


def test_piped_tables_are_not_cut_to_80_columns(tmp_path: Path) -> None:
    import os

    # the suite's kernel cache, so the subprocess does not compile the engine again
    cache = {k: os.environ[k] for k in ("DEFI_PERPS_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "HOME")
             if k in os.environ}
    env = {"PYTHONPATH": str(ROOT), "DEFI_PERPS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", **cache}
    r = subprocess.run([sys.executable, "-m", "defi_perps", "simulate", "--synthetic", "300", "--markets", "2",
                        "--paths", "8", "--horizon", "30m", "--venue", "gmx-v2"], check=False, capture_output=True, text=True,
                       env={**env, "PATH": __import__("os").environ["PATH"]}, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(x) for x in lines) > 80
    assert not any(x.rstrip().endswith("…") for x in lines)
    assert "\x1b[" not in r.stdout                       # no colour codes in a pipe
    assert "stored as run" not in r.stderr               # a pipe gets no chatter


@pytest.mark.parametrize("args", [["simulate", "--paths", "x"], ["audit"], ["nosuch"], ["audit", "gmx-v2"],
                                  ["audit", "gmx-v2", "--chain", "devnet", "--chain-file", "x.toml"],
                                  ["audit", "uniswap", "--chain", "devnet"], ["runs", "show", "abc"],
                                  ["audit", "gmx-v2", "--chain", "devnet", "--scenarios", "nope"],
                                  ["audit", "gmx-v2", "--chain", "devnet", "--venues", "ftx"]])
def test_errors_are_one_line(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path))
    r = CliRunner().invoke(main, args)
    assert r.exit_code != 0
    out = r.output.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("Error: "), r.output
