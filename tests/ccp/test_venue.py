"""The regulated clearing house as a venue of the one engine: its file (sources), its rule record,
admission at its lower leverage, and oct-10-2025 beside Hyperliquid (incidents.md §1): Hyperliquid
deleverages, the clearing house does not; its halts, settlements and waterfall say why."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.book import synthetic_book
from defi_perps.runs.compare import run_compare
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues.ccp import load_ccp
from defi_perps.venues.engine_rules import to_rules, venue_inputs
from defi_perps.venues.params import VENUE_NAMES, load_venue

M = 1e6


def test_the_ccp_file_is_sourced_and_becomes_kernel_rules():
    p = load_ccp()
    assert "ccp" in VENUE_NAMES and p.counterparty == "clearing_house"
    assert all(p.sources[k] for k in ("ccp.price_limits", "ccp.waterfall", "ccp.intraday_call_move"))
    r = to_rules(p, 0.0, 60.0)
    assert r.ccp and r.vm_interval_steps == 720 and r.limit_halt_steps == 2 and r.limit_reset_steps == 1440
    assert r.price_limits.tolist() == [0.07, 0.13, 0.20] and r.adl_trigger == 0
    assert r.ccp_capital == 100 * M and r.mutual_gf == p.ccp.mutualised_guarantee_fund_usd
    assert r.assessments_cap == pytest.approx(2.75 * p.ccp.mutualised_guarantee_fund_usd)
    assert r.defaulter_gf_fraction == 0.10 and r.vm_haircut
    # a layer left out of the waterfall holds nothing
    cut = p.ccp.model_copy(update={"waterfall": ("defaulter_margin", "ccp_capital")})
    r = to_rules(p.model_copy(update={"ccp": cut}), 0.0, 60.0)
    assert r.defaulter_gf_fraction == 0 and r.mutual_gf == 0 and r.assessments_cap == 0 and not r.vm_haircut
    with pytest.raises(ValueError, match="order"):
        type(p.ccp).model_validate({**p.ccp.model_dump(), "waterfall": ["defaulter_margin", "mutualised_guarantee_fund",
                                                                         "ccp_capital"]})


def test_admission_at_the_lower_leverage():
    book = synthetic_book(500, n_markets=2, seed=1)
    vi = venue_inputs(load_venue("ccp"), book)
    lev = vi.book.size * vi.book.entry_price / (vi.book.collateral_usd + vi.book.collateral_tokens * vi.book.price[vi.book.market])
    assert lev[: book.n_positions].max() <= 4.0 * 1.0001 and vi.margin_topup["positions"] > 0
    assert vi.market_makers   # close-outs meet the book


@pytest.fixture(scope="module")
def record():
    book = synthetic_book(4000, n_markets=4, seed=2, long_share=0.85)
    setup = make_setup(book, scenario="oct-10-2025")
    runs = run_compare(book, [load_venue("hyperliquid"), load_venue("ccp")], setup, n_paths=12, seed=3)
    return book, {r.venue: r for r in runs.runs}, runs.to_dict()


def test_oct10_hyperliquid_deleverages_the_clearing_house_does_not(record):
    book, runs, data = record
    hl, ccp = runs["hyperliquid"].result, runs["ccp"].result
    assert hl.totals["adl_notional"].mean() > 0
    assert ccp.totals["adl_notional"].sum() == 0 and ccp.totals["adl_events"].sum() == 0
    row = next(v for v in data["venues"] if v["venue"] == "ccp")
    ch = row["clearing_house"]
    # the -13 … -55 % crash crosses the 7 % and 13 % limits: trading halted; intraday calls settled
    assert ch["halted_market_steps_mean"] >= 2 * len(book.market_names)
    assert ch["settlements_mean"] > len(book.market_names)
    # the alt crash (-55 %) runs past the hard 20 % limit: that market is still locked at the end
    assert ch["locked_markets_at_end_mean"] >= 1
    # 4x leverage, maintenance 20 %: a close-out at a settlement loses less than its margin on BTC/ETH, so
    # nothing reaches the waterfall beyond the defaulters' own margin, and nobody is deleveraged
    assert row["paid_by"]["adl"] == 0 and row["paid_by"]["uncovered"] == 0
    assert sum(ch["waterfall_usd"].values()) == pytest.approx(row["bad_debt_usd"], abs=1e-6)
    assert ccp.totals["liquidations"].mean() > 0
    par = ccp.outputs.parties
    assert np.all(np.abs(par.sum(axis=1)) <= 1e-9 * np.abs(par).max(axis=1))


def test_compare_lists_ccp_by_default(tmp_path, monkeypatch):
    from defi_perps.cli import main

    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path))
    res = CliRunner().invoke(main, ["compare", "--synthetic", "400", "--markets", "2", "--scenario", "oct-10-2025",
                                    "--paths", "3"])
    assert res.exit_code == 0, res.output
    assert "Regulated clearing house" in res.output
    res = CliRunner().invoke(main, ["simulate", "--synthetic", "400", "--markets", "2", "--scenario", "oct-10-2025",
                                    "--paths", "3", "--venue", "ccp", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["venue"] == "ccp" and "clearing_house" in d and d["rules"]["ccp"] is True
