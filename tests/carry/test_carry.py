"""Carry of a delta-neutral hedger against its simulated ADL risk (defi_perps/runs/carry.py)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.book import synthetic_book
from defi_perps.cli import main
from defi_perps.exceptions import InputError
from defi_perps.runs.carry import (
    CarryInputs,
    HedgerLoss,
    break_even,
    carry_apr,
    funding_from_csv,
    run_carry,
)
from defi_perps.runs.hedger import HedgerInputs, run_hedger_venue
from defi_perps.scenarios.setup import make_setup


def test_carry_arithmetic_by_hand():
    inp = CarryInputs(venue="binance", hedge_usd=1e6, leverage=4.0, fee=0.0005, holding_days=36.5,
                      financing_apr=0.04)
    c = carry_apr(0.10, inp)
    assert c["fees_apr"] == pytest.approx(4 * 0.0005 * 10)          # 10 round trips a year
    assert c["financing_apr"] == pytest.approx(0.04 * 1.25)         # spot + 1/4 margin
    assert c["carry_apr"] == pytest.approx(0.10 - 0.02 - 0.05)


def test_break_even_from_a_hand_built_loss_sample():
    loss = HedgerLoss(np.array([0, 0.5, 1, 0.0]), np.array([0, 100.0, 200, 0]), np.array([0, 900.0, 2800, 0]),
                      np.array([0, 0.0, 0, 0]))
    be = break_even(loss, CarryInputs(venue="binance", hedge_usd=1e6, shocks_per_year=2.0))
    assert be["break_even_carry_apr"] == pytest.approx(2 * 4000 / 4 / 1e6)
    assert be["paths_hedger_adld"] == 2 and be["loss_by_cause_usd"]["unhedged_spot"] == pytest.approx(925)


def test_funding_csv_through_the_venue_rule(tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("timestamp,premium\n0,0.0\n1,0.001\n")
    apr, info = funding_from_csv(f, "binance")
    # premium 0 → 0.01 %, premium 0.1 % → 0.05 % per 8 h; mean 0.03 % × 1095
    assert apr == pytest.approx(0.0003 * 3 * 365) and info["rows"] == 2
    g = tmp_path / "g.csv"
    g.write_text("timestamp,funding_rate\n0,0.0001\n")
    assert funding_from_csv(g, "hyperliquid")[0] == pytest.approx(0.0001 * 24 * 365)
    bad = tmp_path / "b.csv"
    bad.write_text("timestamp,premium\n0,abc\n")
    with pytest.raises(InputError, match="line 2"):
        funding_from_csv(bad, "binance")
    with pytest.raises(InputError, match="needs columns"):
        (tmp_path / "c.csv").write_text("t,x\n0,1\n")
        funding_from_csv(tmp_path / "c.csv", "binance")


def test_carry_loss_is_the_hedger_agents_pnl_without_funding():
    """One simulator: carry's break-even loss is minus the kernel hedger agent's P&L (the run of
    ``defi-perps hedger``) with funding left to the carry's APR, path by path."""
    b = synthetic_book(3000, n_markets=2, seed=1, long_share=0.8)
    s = make_setup(b, scenario="oct-10-2025", horizon="1h")
    out = run_carry(b, s, CarryInputs(venue="hyperliquid", leverage=25.0, latency_s=90.0), n_paths=8, seed=1)
    sh = out["break_even"]["shock"]
    run = run_hedger_venue(b, s, "hyperliquid", HedgerInputs(market=b.market_names[0], hedge_usd=out["inputs"]["hedge_usd"],
                                                              leverage=25.0, latency="90s", fee=0.0005, funding_apr=0.0),
                           n_paths=8, seed=1)
    pp = run.per_path()
    assert np.all(pp["funding"] == 0.0)
    assert sh["expected_loss_usd"] == pytest.approx(-float(pp["total_pnl_usd"].mean()), rel=1e-12, abs=1e-9)
    causes = sh["loss_by_cause_usd"]
    assert causes["adl_fill"] == pytest.approx(-float(pp["adl_vs_market"].mean()), abs=1e-9)
    assert causes["unhedged_spot"] == pytest.approx(-float((pp["spot_mtm"] + pp["perp_mtm"]).mean()), abs=1e-9)
    assert causes["rehedge_slippage"] == pytest.approx(-float(pp["rehedge_slippage"].mean()), abs=1e-9)
    assert sum(causes.values()) == pytest.approx(sh["expected_loss_usd"], rel=1e-9, abs=1e-9)
    assert sh["paths_hedger_adld"] == int((pp["adl_closed_fraction"] > 1e-12).sum())


@pytest.fixture(scope="module")
def oct10():
    b = synthetic_book(20000, n_markets=2, seed=1, long_share=0.8)
    return b, make_setup(b, scenario="oct-10-2025")


def test_hyperliquid_adl_hits_the_hedge_on_oct_10(oct10):
    b, s = oct10
    # a 25x hedge short ranks near the top of Hyperliquid's ADL queue (leverage x PnL); with the
    # record-calibrated crash (BTC -15%, ETH -19% cascade included) a 10x hedge is rarely reached
    out = run_carry(b, s, CarryInputs(venue="hyperliquid", leverage=25.0), n_paths=24, seed=1)
    sh = out["break_even"]["shock"]
    # in-path ADL closes part of the short on some paths; the unhedged spot loses as the price keeps falling
    assert sh["paths_hedger_adld"] > 0 and sh["adl_closed_notional_usd"] > 0
    assert sh["loss_by_cause_usd"]["unhedged_spot"] > 0
    assert out["break_even_carry_apr"] > 0 and out["break_even_carry_apr_es99"] >= out["break_even_carry_apr"]
    # funding before the shock: the scenario's [funding] short rate, as `defi-perps hedger` takes it
    assert out["carry_apr"] == pytest.approx(0.40 - 4 * 0.0005 * 365 / 30)
    assert out["funding_source"]["source"] == "oct-10-2025" and out["funding_source"]["apr"] == 0.40
    # a 3x short ranks below the 10x shorts and is not reached
    low = run_carry(b, s, CarryInputs(venue="hyperliquid", leverage=3.0), n_paths=24, seed=1)
    assert low["break_even"]["shock"]["paths_hedger_adld"] < sh["paths_hedger_adld"]
    assert out["seed_claim"]["carry_apr"] == 0.04
    assert out["seed_claim"]["verdict"] == ("pays for the ADL risk" if 0.04 > out["break_even_carry_apr"]
                                            else "does not pay for the ADL risk")


def test_cli_carry_json_and_errors():
    r = CliRunner().invoke(main, ["carry", "--venue", "binance", "--synthetic", "300", "--scenario", "oct-10-2025",
                                  "--paths", "8", "--funding-rate", "0.05", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {"carry_apr", "break_even_carry_apr", "seed_claim", "venue_rules", "venue_sources"} <= set(d)
    assert d["carry"]["before_shock"]["funding_apr"] == 0.05
    bad = CliRunner().invoke(main, ["carry", "--venue", "binance", "--synthetic", "30", "--funding-rate", "x"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output and "--funding-rate" in bad.output
    bad = CliRunner().invoke(main, ["carry", "--venue", "gmx-v2", "--synthetic", "30"])
    assert bad.exit_code != 0 and "--funding-rate" in bad.output


def test_long_share_and_book_seed_build_the_readme_record_book():
    """The README's record figures use a synthetic book 85 % long with its own seed (2) under path seed 3:
    every command that takes --synthetic takes --long-share and --book-seed; without --synthetic they are
    refused in one line."""
    from defi_perps.book import synthetic_book

    want = synthetic_book(400, n_markets=2, seed=2, long_share=0.85)
    common = ["--synthetic", "400", "--markets", "2", "--seed", "3", "--paths", "2", "--horizon", "10m", "--json"]
    for cmd in (["simulate", "--long-share", "0.85", "--book-seed", "2"],
                ["compare", "--venues", "binance", "--long-share", "0.85", "--book-seed", "2"]):
        r = CliRunner().invoke(main, [*cmd, *common])
        assert r.exit_code == 0, r.output
        d = json.loads(r.stdout)
        book = d["book"] if "book" in d else d["venues"][0]["book"]
        assert book["source"] == "synthetic(400, markets=2, seed=2, long_share=0.85)"   # the book's own seed
        assert book["open_interest_usd"]["long"] == pytest.approx(want.open_interest()[:, 0].tolist(), rel=1e-12)
    r = CliRunner().invoke(main, ["carry", "--venue", "binance", *common[:6], "--long-share", "0.85", "--paths", "2",
                                  "--funding-rate", "0.05", "--json"])
    assert r.exit_code == 0, r.output
    for cmd in (["simulate"], ["compare"], ["carry", "--venue", "binance"], ["hedger", "--venue", "binance"]):
        for opt in (["--long-share", "0.85"], ["--book-seed", "2"]):
            bad = CliRunner().invoke(main, [*cmd, "--snapshot", "1", *opt])
            assert bad.exit_code != 0 and "Traceback" not in bad.output
            assert bad.output.strip() == f"Error: {opt[0]} applies to a --synthetic book only", bad.output
    bad = CliRunner().invoke(main, ["simulate", "--synthetic", "10", "--long-share", "1.5"])
    assert bad.exit_code != 0 and "--long-share" in bad.output
