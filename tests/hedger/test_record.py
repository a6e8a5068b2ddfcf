"""The hedger against the record of 10 Oct 2025 (``../shared/reference/incidents.md`` §1).

On oct-10-2025, on the synthetic record book (retail 85 % long, as in tests/engine/test_record.py):

* Hyperliquid: negative-equity ADL closes part of the hedger's short (in-path, by the venue's
  ranking); the price keeps falling while it waits to re-hedge, so it loses on the unhedged spot
  (spot + perp MTM < 0 on every hit path), and the bankruptcy-price fill takes part of its profit;
* a venue whose ADL does not fire (Binance: the insurance fund absorbs this book's losses), and every
  venue without ADL (GMX v1, the B-book, … and any venue added to VENUE_NAMES with trigger "none"):
  the short is never deleveraged, spot and perp MTM cancel, and the table's "why" says so.

Why 20x here: the Hyperliquid queue ranks ``(mark/entry) × (notional/account value)``, so on this
book the 20–40x retail shorts come first; at 5x the hedger sits behind them and the book's ADL
(~1.3 % of its liquidated notional, against ~38 % in the record: $2.10B ADL vs $5.51B liquidations,
§1.3) does not reach it. The record's ADL went far down the queue (median ADL'd leverage 0.20x),
so a 5x hedger there was reachable; the engine's smaller ADL on this synthetic book is the reason,
and ``why`` reports it ("the queue did not reach the hedger").
"""

from __future__ import annotations

import numpy as np
import pytest

from defi_perps.book import synthetic_book
from defi_perps.engine.hedger_nb import H
from defi_perps.runs.hedger import HedgerInputs, run_hedger
from defi_perps.scenarios.setup import make_setup
from defi_perps.venues.params import VENUE_NAMES, load_venue


@pytest.fixture(scope="module")
def record():
    book = synthetic_book(4000, n_markets=4, seed=2, long_share=0.85)
    setup = make_setup(book, scenario="oct-10-2025")
    return book, setup


def test_hyperliquid_deleverages_the_hedger_and_it_loses_on_the_unhedged_spot(record):
    book, setup = record
    run = run_hedger(book, setup, ["hyperliquid"], HedgerInputs(market="BTC", leverage=20.0, latency="30s..5m"),
                     n_paths=24, seed=3)
    v = run.venues[0]
    h = v.rows
    hit = h[:, H.ADL_QTY] > 0
    assert hit.sum() >= 3
    frac = v.per_path()["adl_closed_fraction"][hit]
    assert 0 < frac.mean() < 1.0                                            # partly: not the whole short
    unhedged = h[:, H.SPOT_MTM] + h[:, H.PERP_MTM]
    assert np.all(unhedged[hit] < 0)                                        # the price kept falling meanwhile
    assert np.allclose(unhedged[~hit], 0.0, atol=1e-6 * v.hedge_usd)        # hedged paths: the legs cancel
    assert np.all(h[hit, H.ADL_VS_MARKET] < 0)                              # bankruptcy fill above the mark
    assert np.all(h[hit, H.TOTAL] < 0)
    assert np.all(h[hit, H.UNHEDGED_STEPS] >= 1) and np.all(h[hit, H.REHEDGES] >= 1)
    # ADL happened in the crash window (the scenario's 12 minutes, plus the cascade's own minutes)
    assert np.all(h[hit, H.ADL_FIRST_STEP] <= 20)
    d = run.to_dict()
    assert d["adl_closed_notional_usd"] > 0 and d["peak_unhedged_notional_usd"] > 0 and d["unhedged_seconds"] > 0
    assert d["total_pnl_usd"] < 0 and "closed" in d["why"]


def test_a_venue_whose_adl_does_not_fire_never_deleverages_it(record):
    book, setup = record
    no_adl = [n for n in VENUE_NAMES if load_venue(n).adl.trigger == "none"]
    assert no_adl   # gmx-v1, bbook, abook today; a regulated venue (ccp) joins them
    run = run_hedger(book, setup, ["binance", *no_adl], HedgerInputs(market="BTC", leverage=20.0), n_paths=12, seed=3)
    for v in run.venues:
        h = v.rows
        assert np.all(h[:, H.ADL_QTY] == 0), v.venue
        np.testing.assert_allclose(h[:, H.SPOT_MTM] + h[:, H.PERP_MTM], 0.0, atol=1e-6 * v.hedge_usd)
        assert np.all(h[:, H.UNHEDGED_STEPS] == 0), v.venue
        d = v.to_dict()
        assert d["adl_closed_notional_usd"] == 0 and d["peak_unhedged_notional_usd"] == 0
        why = v.why()
        if v.venue == "binance":
            assert "did not fire" in why
        else:
            assert "no ADL" in why and "never deleveraged" in why


def test_at_5x_the_queue_does_not_reach_it_on_this_book_and_the_table_says_why(record):
    book, setup = record
    v = run_hedger(book, setup, ["hyperliquid"], HedgerInputs(market="BTC"), n_paths=12, seed=3).venues[0]
    assert np.all(v.rows[:, H.ADL_QTY] == 0)
    assert v.result.outputs.adl_notional[:, 0, 1].sum() > 0                 # ADL did fire on BTC shorts
    assert "did not reach the hedger" in v.why()
    # the book's ADL is a small share of its liquidations (the record's was ~38 %, incidents.md §1.3)
    t = v.result.totals
    assert t["adl_notional"].mean() < 0.1 * t["liq_notional"].mean()
