"""A real devnet snapshot → store → book → ``defi-perps simulate --snapshot`` (anvil, no mocks)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from defi_perps.book import from_snapshot, load_snapshot_book
from defi_perps.cli import main

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def indexed(devnet, tmp_path_factory):  # type: ignore[no-untyped-def]
    from defi_perps.config import load_chain_file
    from defi_perps.indexer.gmx_v2 import index_gmx_v2

    db = f"sqlite:///{tmp_path_factory.mktemp('sim') / 'sim.db'}"
    report, snap = index_gmx_v2(load_chain_file(devnet.chain_file), devnet.rpc_url, devnet.book.block_number, db)
    return devnet, db, report.snapshot_id, snap


def test_stored_snapshot_converts_like_the_seeded_book(indexed):  # type: ignore[no-untyped-def]
    devnet, db, sid, snap = indexed
    stored = load_snapshot_book(db, sid)
    seeded = from_snapshot(snap)      # the records the indexer read from the chain
    assert stored.chain_id == seeded.chain_id and stored.block_number == devnet.book.block_number
    assert stored.n_positions == len([p for p in devnet.book.positions if p.size_in_usd > 0])
    order_a = np.lexsort((stored.entry_price, stored.size))
    order_b = np.lexsort((seeded.entry_price, seeded.size))
    np.testing.assert_array_equal(stored.size[order_a], seeded.size[order_b])
    np.testing.assert_array_equal(stored.collateral_usd[order_a], seeded.collateral_usd[order_b])
    assert np.all(stored.mm_rate > 0) and np.all(stored.price > 0)


def test_cli_simulate_on_the_devnet_snapshot_is_reproducible(indexed):  # type: ignore[no-untyped-def]
    _, db, sid, _ = indexed
    args = ["simulate", "--snapshot", str(sid), "--db", db, "--paths", "20", "--horizon", "1h",
            "--shock", "-12%@15m", "--depth-stress", "0.05", "--seed", "11", "--json"]
    a = CliRunner().invoke(main, args)
    assert a.exit_code == 0, a.output
    b = CliRunner().invoke(main, args)
    da, db_ = json.loads(a.stdout), json.loads(b.stdout)
    assert da["stats"] == db_["stats"]
    assert da["book"]["block_number"] is not None and da["book"]["chain_id"] is not None
    assert da["stats"]["liquidations"]["mean"] > 0
    latest = CliRunner().invoke(main, ["simulate", "--snapshot", "latest", "--db", db, "--paths", "5",
                                       "--horizon", "10m"])
    assert latest.exit_code == 0, latest.output
    missing = CliRunner().invoke(main, ["simulate", "--snapshot", "999", "--db", db])
    assert missing.exit_code != 0 and "Traceback" not in missing.output and missing.output.startswith("Error")


def test_gmx_v2_rules_on_the_devnet_snapshot(indexed):  # type: ignore[no-untyped-def]
    """The snapshot's own per-market parameters (MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION, fees, PnL factors)
    override the venue defaults; liquidations execute at the oracle price against the pool."""
    _, db, sid, _ = indexed
    r = CliRunner().invoke(main, ["simulate", "--snapshot", str(sid), "--db", db, "--venue", "gmx-v2", "--paths", "10",
                                  "--horizon", "30m", "--shock", "-20%@10m", "--seed", "3", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["rules"]["exec_mode"] == "oracle" and d["rules"]["adl_trigger"] == "pnl_factor"
    assert d["stats"]["liquidations"]["mean"] > 0


def test_engine_thresholds_are_the_contracts_liquidation_prices(indexed):  # type: ignore[no-untyped-def]
    """Issue 8 item 2: under GMX v2 rules on a snapshot book, each position's trigger is the exact
    flip price from protocols/gmx_v2/math.py (``book.liquidation_price``), not the engine's formula."""
    from defi_perps.engine.inputs import prepare_positions
    from defi_perps.runs.simulate import run_simulate
    from defi_perps.scenarios.setup import make_setup
    from defi_perps.venues.engine_rules import venue_inputs
    from defi_perps.venues.params import load_venue

    _, db, sid, snap = indexed
    for book in (from_snapshot(snap), load_snapshot_book(db, sid)):
        known = np.isfinite(book.liquidation_price)
        assert known.sum() >= 0.9 * book.n_positions   # the devnet's positions are all priceable
        vi = venue_inputs(load_venue("gmx-v2"), book, 60.0)
        assert vi.book.n_positions == book.n_positions   # the pool is the counterparty: no market makers
        pos, order = prepare_positions(vi.book, vi.rules, vi.position_mm, vi.thresholds)
        thr = np.empty(book.n_positions)
        thr[order] = pos.thr
        kept = known & np.isfinite(vi.book.liquidation_price)   # a topped-up position uses the formula
        assert int((known & ~kept).sum()) <= vi.margin_topup["positions"] and kept.any()
        np.testing.assert_array_equal(thr[kept], book.liquidation_price[kept])
        # the engine's own formula differs from the contract's price (fees, impact, funding): the
        # equality above is the exact value reaching the kernel, not a coincidence
        plain, order2 = prepare_positions(vi.book, vi.rules, vi.position_mm)
        formula = np.empty(book.n_positions)
        formula[order2] = plain.thr
        assert not np.array_equal(formula[kept], thr[kept])
        # simulate --venue gmx-v2 runs with them and says how many it used
        run = run_simulate(book, make_setup(book, shock="-5%@5m", horizon="10m"), "gmx-v2", n_paths=2, seed=1)
        assert run.result.venue_info["exact_thresholds"] == int(kept.sum())
    # another venue on the same book uses its own rules, not GMX's price
    other = venue_inputs(load_venue("binance"), book, 60.0)
    assert other.thresholds is None
