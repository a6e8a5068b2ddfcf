"""The gTrade reader, store, book and CLI against a real anvil running our GTradeDiamond devnet
(contracts/src/gtrade/GTradeDiamond.sol: the Diamond's selectors and struct layouts), checked against the
book exactly as it was written (protocols/gtrade/devnet.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from defi_perps.protocols.gtrade import math as gm

pytestmark = pytest.mark.anvil
N_TRADES = 650            # > 3 pages of getAllTrades (TRADE_PAGE = 200)


@pytest.fixture(scope="module")
def gdev(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from web3 import Web3

    from defi_perps.devnet.anvil import find_anvil, start_anvil
    from defi_perps.devnet.artifacts import artifact
    from defi_perps.devnet.deploy import MULTICALL3
    from defi_perps.exceptions import DevnetError
    from defi_perps.protocols.gtrade.devnet import deploy_and_seed

    try:
        find_anvil(Path(__file__).resolve().parent)
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    node = start_anvil(None)
    try:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 300}))
        w3.provider.make_request("anvil_setCode", [MULTICALL3, artifact("Multicall3")["deployedBytecode"]])
        dep = deploy_and_seed(w3, N_TRADES, seed=5)
        chain_file = tmp_path_factory.mktemp("gtrade") / "devnet.toml"
        chain_file.write_text(f'name = "devnet"\nchain_id = 31337\nrpc_url = "{node.rpc_url}"\n'
                              f'multicall3 = "{MULTICALL3}"\n\n[gtrade]\ndiamond = "{dep.diamond}"\n'
                              f"deploy_block = {dep.deploy_block}\n")
        yield type("G", (), {"w3": w3, "dep": dep, "chain_file": chain_file, "url": node.rpc_url})
    finally:
        node.stop()


def _read(gdev: Any, block: int | None = None) -> Any:
    from defi_perps.config import load_chain_file
    from defi_perps.indexer.job import index_protocol

    _, snap = index_protocol("gtrade", load_chain_file(gdev.chain_file), block=block, store=False, batch_size=50)
    return snap


def test_reader_returns_every_seeded_trade_exactly(gdev: Any) -> None:
    snap = _read(gdev, gdev.dep.seeded_block)
    assert snap.meta.protocol == "gtrade" and snap.meta.data_store == gdev.dep.diamond
    assert snap.contracts_version == 2 and snap.pending_orders == 0
    want = {(t["user"], t["index"]): t for t in gdev.dep.trades}
    assert len(snap.trades) == len(want) == N_TRADES
    for t in snap.trades:
        w = want[(t.trader, t.index)]
        assert (t.pair_index, t.leverage, t.long, t.collateral_index, t.collateral_amount, t.open_price,
                t.position_size_token, t.collateral_price_usd_at_open, t.liquidation, t.initial_acc_borrowing_fee_p) == (
            w["pairIndex"], w["leverage"], w["long"], w["collateralIndex"], w["collateralAmount"], w["openPrice"],
            w["positionSizeToken"], w["collateralPriceUsd"], w["liq"], w["initialAccBorrowingFeeP"])
    # reference prices from the pairs' feeds, in 1e10
    assert [p.price for p in snap.pairs] == [ps.price_1e10 for ps in __import__(
        "defi_perps.protocols.gtrade.devnet", fromlist=["PAIRS"]).PAIRS]
    # the Diamond's open interest is the sum of its open trades' position sizes
    from defi_perps.protocols.gtrade.summary import summarize

    assert summarize(snap)["totals"]["oi_matches_trades"] is True
    assert [v.symbol for v in snap.vaults] == ["gDAI", "gWETH", "gUSDC"]
    # each gToken's share price, assets and collateralization follow GToken's formulas (math.py)
    for v in snap.vaults:
        assert v.share_to_assets_price == gm.share_to_assets_price(v.max_acc_pnl_per_token, v.acc_pnl_per_token_used)
        assert v.total_assets == gm.total_assets(v.total_supply, v.share_to_assets_price)
        assert v.collateralization_p == gm.collateralization_p(v.max_acc_pnl_per_token, v.acc_pnl_per_token_used)


def test_pending_borrowing_fee_is_the_contract_answer_at_the_pinned_block(gdev: Any) -> None:
    # v2 borrowing (sdk src/trade/fees/borrowingV2): acc(now) = acc + rate · (t − lastTs) · price;
    # fee = size · (acc(now) − initial) / openPrice / 1e10 / 100, recomputed here from the seeded state
    snap = _read(gdev, gdev.dep.seeded_block)
    ts = snap.meta.block_timestamp
    pcs = {(pc.collateral_index, pc.pair_index): pc for pc in snap.pair_collaterals}
    prices = {p.index: p.price for p in snap.pairs}
    nonzero = 0
    for t in snap.trades:
        pc = pcs[(t.collateral_index, t.pair_index)]
        acc = pc.acc_borrowing_fee_p + pc.borrowing_rate_per_second_p * (ts - pc.last_borrowing_update_ts) * prices[t.pair_index]
        size = gm.position_size_collateral(t.collateral_amount, t.leverage)
        fee = size * (acc - t.initial_acc_borrowing_fee_p) // t.open_price // gm.P_10 // 100 \
            if acc > t.initial_acc_borrowing_fee_p else 0
        assert t.borrowing_fee_collateral == fee == t.holding_fee_collateral
        nonzero += fee > 0
    assert nonzero > N_TRADES // 2


def test_reads_are_pinned_to_the_block(gdev: Any) -> None:
    from defi_perps.devnet.artifacts import artifact
    from defi_perps.protocols.gtrade.devnet import DEPLOYER, _call

    before = _read(gdev, gdev.dep.seeded_block)
    victim = before.trades[0]
    _call(gdev.w3, DEPLOYER, "GTradeDiamond", gdev.dep.diamond, "closeTrade", victim.trader, victim.index)
    after = _read(gdev)
    old = _read(gdev, gdev.dep.seeded_block)
    assert [t.key for t in old.trades] == [t.key for t in before.trades]
    assert victim.key not in {t.key for t in after.trades} and len(after.trades) == N_TRADES - 1
    pc0 = {(p.collateral_index, p.pair_index): p for p in before.pair_collaterals}
    pc1 = {(p.collateral_index, p.pair_index): p for p in after.pair_collaterals}
    k = (victim.collateral_index, victim.pair_index)
    size = gm.position_size_collateral(victim.collateral_amount, victim.leverage)
    field = "oi_long_collateral" if victim.long else "oi_short_collateral"
    assert getattr(pc0[k], field) - getattr(pc1[k], field) == size
    assert artifact("GTradeDiamond")  # the devnet contract is the committed artifact


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_store_round_trip_is_exact(gdev: Any, tmp_path: Path, backend: str) -> None:
    import os

    from defi_perps.config import load_chain_file
    from defi_perps.devnet.fixtures import snapshot_json
    from defi_perps.indexer.job import index_protocol
    from defi_perps.store.queries import load_snapshot

    if backend == "postgresql":
        db = os.environ.get("DEFI_PERPS_TEST_PG")
        if not db:
            pytest.skip("DEFI_PERPS_TEST_PG not set (scripts/pg.sh starts a throwaway PostgreSQL)")
    else:
        db = f"sqlite:///{tmp_path / 'g.db'}"
    chain = load_chain_file(gdev.chain_file)
    rep, snap = index_protocol("gtrade", chain, block=gdev.dep.seeded_block, db_url=db, store=False)
    rep, _ = index_protocol("gtrade", chain, block=gdev.dep.seeded_block, db_url=db)
    assert snap is not None and rep.snapshot_id
    again, none = index_protocol("gtrade", chain, block=gdev.dep.seeded_block, db_url=db)
    assert not again.created and none is None and again.snapshot_id == rep.snapshot_id
    back = load_snapshot(db, rep.snapshot_id)
    assert back.meta.id == rep.snapshot_id
    assert snapshot_json(back) == snapshot_json(snap)


def test_book_carries_the_exact_liquidation_prices(gdev: Any) -> None:
    from defi_perps.protocols.gtrade.book import from_snapshot, trade_terms

    snap = _read(gdev, gdev.dep.seeded_block)
    book = from_snapshot(snap)
    pairs = {p.index: p for p in snap.pairs}
    colls = {c.index: c for c in snap.collaterals}
    fees = {f.index: f for f in snap.fees}
    for k, t in enumerate(snap.trades):
        liq, _, _ = trade_terms(t, pairs[t.pair_index], fees[pairs[t.pair_index].fee_index],
                                colls[t.collateral_index], snap.contracts_version)
        assert book.liquidation_price[k] == pytest.approx(liq / gm.P_10, rel=1e-15)
        assert book.liquidatable_now[k] == gm.is_liquidatable(pairs[t.pair_index].price, liq, t.long)
        assert book.entry_price[k] == pytest.approx(t.open_price / gm.P_10, rel=1e-15)
    # PnL in USD at the book price matches getPnlPercent × collateral (USDC trades, price 0.9999)
    usdc = [k for k, t in enumerate(snap.trades) if t.collateral_index == 3]
    for k in usdc[:50]:
        t = snap.trades[k]
        p = pairs[t.pair_index].price
        pnl = gm.pnl_collateral(t.collateral_amount, gm.pnl_percent(t.open_price, p, t.long, t.leverage), 10**12)
        usd = book.side[k] * book.size[k] * (book.price[book.market[k]] - book.entry_price[k])
        assert usd == pytest.approx(pnl * 0.9999 / 1e6, rel=1e-6, abs=2e-6)
    assert 0 < book.liquidatable_now.sum() < 0.05 * len(snap.trades)


def test_engine_liquidates_exactly_the_trades_whose_price_is_crossed(gdev: Any) -> None:
    # a deterministic -8 % shock on every pair (no volatility, oracle execution: no impact): under the
    # gtrade venue a long is liquidated iff its exact liquidation price is at or above the shocked price
    from defi_perps.engine import DepthSpec, PriceModel, SimulationConfig, simulate
    from defi_perps.protocols.gtrade.book import from_snapshot
    from defi_perps.scenarios import shock_base_path
    from defi_perps.venues.engine_rules import venue_inputs
    from defi_perps.venues.params import load_venue

    book = from_snapshot(_read(gdev, gdev.dep.seeded_block))
    vi = venue_inputs(load_venue("gtrade"), book)
    assert vi.thresholds is not None and np.isfinite(vi.thresholds).sum() >= book.n_positions - vi.margin_topup["positions"]
    steps = 5
    base = shock_base_path("-8%@1m", book.market_names, steps, 60.0)
    res = simulate(vi.book, vi.rules, model=PriceModel(volatility=0.0), depth=DepthSpec(kind="linear", k_usd=1e12),
                   config=SimulationConfig(n_paths=1, n_steps=steps, seed=0, n_detail=1, step_seconds=60.0),
                   base_log=base, position_mm=vi.position_mm, thresholds=vi.thresholds)
    low = res.outputs.min_mark[0]
    longs = vi.book.side > 0
    exact = np.isfinite(vi.thresholds)
    want = np.zeros(book.n_markets, int)
    np.add.at(want, vi.book.market[longs & exact & (vi.thresholds >= low[vi.book.market] * (1 - 1e-12))], 1)
    got = res.outputs.liq_count[0, :, 0]
    assert got.sum() > 0
    assert (got >= want).all() and got.sum() - want.sum() <= (longs & ~exact).sum()
    # the vault is every trade's counterparty: it pays the bad debt, nobody is ADL'd
    assert res.totals["adl_events"][0] == 0
    assert res.totals["paid_pool"][0] == pytest.approx(res.totals["bad_debt"][0], rel=1e-9, abs=1e-9)


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "DEFI_PERPS_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    return subprocess.run([sys.executable, "-m", "defi_perps", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_cli_index_gtrade_json_and_one_line_errors(gdev: Any, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    r = _cli("index", "gtrade", "--chain-file", str(gdev.chain_file), "--block", str(gdev.dep.seeded_block),
             "--db", db, "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["index"]["positions"] == N_TRADES and out["snapshot"]["protocol"] == "gtrade"
    assert {m["pair"] for m in out["snapshot"]["markets"]} == {"BTC/USD", "ETH/USD", "LINK/USD", "DOGE/USD", "EUR/USD"}
    # a chain file without a [gtrade] section, and --prices (not supported): one line, exit 1
    bare = tmp_path / "bare.toml"
    bare.write_text(f'name = "bare"\nchain_id = 31337\nrpc_url = "{gdev.url}"\n')
    for args in (("--chain-file", str(bare)), ("--chain-file", str(gdev.chain_file), "--prices", str(bare))):
        r = _cli("index", "gtrade", *args, "--db", db, home=tmp_path)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and r.stderr.startswith("Error: "), r.stderr
    # a Diamond address that holds no contract: one line naming it
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(gdev.chain_file.read_text().replace(gdev.dep.diamond, "0x" + "11" * 20))
    r = _cli("index", "gtrade", "--chain-file", str(wrong), "--db", db, home=tmp_path)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Diamond" in r.stderr, r.stderr


def test_simulate_and_compare_run_gtrades_own_rules_on_its_snapshot(gdev: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from defi_perps.cli import main

    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path))
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    r = CliRunner().invoke(main, ["index", "gtrade", "--chain-file", str(gdev.chain_file), "--block",
                                  str(gdev.dep.seeded_block), "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    sid = json.loads(r.stdout)["index"]["snapshot_id"]
    # no --venue: a gTrade snapshot runs under gTrade's rules (runs/simulate.py default_venue)
    r = CliRunner().invoke(main, ["simulate", "--snapshot", str(sid), "--db", db, "--scenario", "oct-10-2025",
                                  "--paths", "20", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["venue"] == "gtrade" and out["liquidations"] > 0
    # the gToken vault (pool) is the counterparty and absorbs all bad debt; gTrade has no ADL
    assert out["adl_notional_usd"] == 0.0
    assert out["paid_by"]["pool"] == pytest.approx(out["bad_debt_usd"], rel=1e-9, abs=1e-9)
    assert all(v == 0.0 for k, v in out["paid_by"].items() if k != "pool")
    r = CliRunner().invoke(main, ["compare", "--snapshot", str(sid), "--db", db, "--scenario", "oct-10-2025",
                                  "--paths", "20", "--venues", "gtrade,gtrade-v8,hyperliquid", "--json"])
    assert r.exit_code == 0, r.output
    venues = json.loads(r.stdout)["venues"]
    assert [v["venue"] for v in venues] == ["gtrade", "gtrade-v8", "hyperliquid"]
    caps = {v["venue"]: v["rules"]["max_trade_gain"] for v in venues}
    assert caps == {"gtrade": None, "gtrade-v8": 9.0, "hyperliquid": None}
