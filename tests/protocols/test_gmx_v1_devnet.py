"""GMX v1 end to end on the devnet (issue 12 §2, §6): `devnet up --protocols gmx-v2,gmx-v1` deploys our
Vault/GlpManager with the v1 ABI; the reader finds exactly the open book from the Vault's events
(closed and liquidated positions excluded, reopened ones included), its exact check equals the
contract's `validateLiquidation` for every position, the GLP AUM equals `getAum`, the event scan
halves its range on "too many results" and resumes from its checkpoint, and the CLI indexes,
shows, simulates and compares the snapshot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from defi_perps.config import load_chain, load_chain_file
from defi_perps.indexer.job import index_protocol

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from defi_perps.devnet import start_devnet
    from defi_perps.devnet.anvil import find_anvil
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil()
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    h = start_devnet(positions=400, accounts=120, seed=5, protocols=("gmx-v2", "gmx-v1"),
                     state_dir=tmp_path_factory.mktemp("v1devnet"))
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="module")
def indexed(v1: Any) -> tuple[Any, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEFI_PERPS_LOG_CACHE", "0")        # a full scan, no checkpoint left behind
        rep, snap = index_protocol("gmx-v1", load_chain_file(v1.chain_file), v1.rpc_url, v1.block_number(),
                                   store=False)
    return rep, snap


def _vault(v1: Any) -> Any:
    from defi_perps.devnet.artifacts import artifact

    return v1.w3.eth.contract(address=v1.parts["gmx_v1"].addresses["vault"], abi=artifact("GmxV1Vault")["abi"])


def test_devnet_writes_the_gmx_v1_section_at_the_bundled_addresses(v1: Any) -> None:
    inst = load_chain_file(v1.chain_file).deployment("gmx-v1")
    bundled = load_chain("devnet").deployment("gmx-v1")
    assert (inst.vault, inst.glp_manager) == (bundled.vault, bundled.glp_manager)   # deterministic (account 1)
    assert inst.deploy_block > 1 and v1.protocols == ["gmx-v2", "gmx-v1"]
    book = json.loads((v1.state_dir / "gmx_v1_book.json").read_text())
    assert len(book["positions"]) == v1.parts["gmx_v1"].positions >= 40 and book["closed"]


def test_index_finds_exactly_the_open_book(v1: Any, indexed: tuple[Any, Any]) -> None:
    rep, snap = indexed
    book = json.loads((v1.state_dir / "gmx_v1_book.json").read_text())
    want = {p["key"]: p for p in book["positions"]}
    assert {p.key for p in snap.positions} == set(want)
    assert not {p.key for p in snap.positions} & set(book["closed"])       # closed/liquidated: not reported
    for p in snap.positions:
        w = want[p.key]
        assert (p.account, p.collateral_token, p.index_token, p.is_long) == (
            w["account"], w["collateral_token"], w["index_token"], w["is_long"])
        assert (p.size, p.collateral, p.average_price, p.entry_funding_rate, p.reserve_amount) == (
            int(w["size"]), int(w["collateral"]), int(w["average_price"]), int(w["entry_funding_rate"]),
            int(w["reserve_amount"]))
    assert rep.protocol == "gmx_v1" and rep.markets == 3 and rep.log_requests >= 1
    assert snap.meta.price_source == "vault" and snap.scan.events > len(snap.positions)


def test_exact_check_equals_the_contract(v1: Any, indexed: tuple[Any, Any]) -> None:
    from defi_perps.protocols.gmx_v1 import math as gm
    from defi_perps.protocols.gmx_v1.book import check

    rep, snap = indexed
    vault = _vault(v1)
    states = set()
    for p in snap.positions:
        c, _ = check(snap, p, pending_funding=False)      # the view reads the stored cumulative rate
        got = vault.functions.validateLiquidation(p.account, p.collateral_token, p.index_token, p.is_long,
                                                  False).call(block_identifier=rep.block_number)
        assert (c.state, c.margin_fees) == tuple(got), p.key
        assert vault.functions.getPositionKey(p.account, p.collateral_token, p.index_token, p.is_long).call() \
            == bytes.fromhex(p.key[2:])
        states.add(c.state)
    assert states == {0, 1, 2}          # the seeded edges: a liquidatable one and one over max leverage
    for vt in snap.vault_tokens:
        assert vt.next_funding_rate == gm.next_funding_rate(
            snap.meta.block_timestamp, vt.last_funding_time, snap.params.funding_interval, vt.pool_amount,
            vt.reserved_amount, snap.params.stable_funding_rate_factor if vt.is_stable
            else snap.params.funding_rate_factor) > 0


def test_glp_aum_equals_get_aum(indexed: tuple[Any, Any]) -> None:
    from defi_perps.protocols.gmx_v1 import math as gm

    _, snap = indexed
    prices = {p.token: p for p in snap.prices}
    for maximise, want in ((True, snap.params.aum_max), (False, snap.params.aum_min)):
        rows = [(v.is_stable, v.token_decimals, v.pool_amount, v.reserved_amount, v.guaranteed_usd,
                 v.global_short_size, v.global_short_average_price,
                 prices[v.token].price_max if maximise else prices[v.token].price_min) for v in snap.vault_tokens]
        assert gm.glp_aum(rows, maximise, snap.params.aum_addition or 0, snap.params.aum_deduction or 0) == want
    assert snap.params.aum_max > snap.params.aum_min > 0


def test_abi_fragments_match_the_devnet_contracts() -> None:
    art = json.loads((ROOT / "contracts" / "build" / "GmxV1Vault.json").read_text())["abi"]
    for name, build in (("Vault", art), ("GlpManager", json.loads(
            (ROOT / "contracts" / "build" / "GmxV1GlpManager.json").read_text())["abi"])):
        frags = json.loads((ROOT / "abis" / "gmx_v1" / f"{name}.json").read_text())
        assert frags and all(f in build for f in frags), name


def test_book_and_store_round_trip(indexed: tuple[Any, Any], tmp_path: Path) -> None:
    from defi_perps.protocols import registry
    from defi_perps.store import load_snapshot, save_snapshot

    _, snap = indexed
    db = f"sqlite:///{tmp_path / 'v1.db'}"
    res = save_snapshot(db, snap, "devnet")
    back = load_snapshot(db, res.snapshot_id)
    assert back.positions == snap.positions and back.vault_tokens == snap.vault_tokens
    assert back.params == snap.params and back.prices == snap.prices and back.scan == snap.scan
    assert not save_snapshot(db, snap).created
    book = registry.get("gmx-v1").to_book(back)
    assert book.n_positions == len(snap.positions) and book.meta["protocol"] == "gmx_v1"
    assert book.liquidatable_now.sum() >= 2
    # a long's liquidation price is below its entry, a short's above
    healthy = ~book.liquidatable_now
    assert (book.liquidation_price[healthy & (book.side > 0)] < book.entry_price[healthy & (book.side > 0)]).all()
    assert (book.liquidation_price[healthy & (book.side < 0)] > book.entry_price[healthy & (book.side < 0)]).all()


def test_log_scan_halves_its_range_on_too_many_results(v1: Any, indexed: tuple[Any, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setenv("DEFI_PERPS_LOG_CACHE", "0")

    sys.path.insert(0, str(ROOT / "tests" / "indexer"))
    from fault_proxy import Fault, FaultProxy, rpc_error

    def limit(req: dict[str, Any], n: int) -> Fault | None:
        if req.get("method") != "eth_getLogs":
            return None
        f = req["params"][0]
        if int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1 > 4:
            return Fault(body=rpc_error(req, -32005, "query returned more than 10000 results"))
        return None

    proxy = FaultProxy(v1.rpc_url)
    proxy.rules.append(limit)
    try:
        rep, snap = index_protocol("gmx-v1", load_chain_file(v1.chain_file), proxy.url, indexed[0].block_number,
                                   store=False)
    finally:
        proxy.close()
    assert rep.log_halvings >= 1 and rep.log_requests > indexed[0].log_requests
    assert snap.positions == indexed[1].positions


def test_scan_resumes_from_its_checkpoint(v1: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from defi_perps.devnet.artifacts import artifact
    from defi_perps.protocols.gmx_v1.devnet import send_from, trader
    from defi_perps.protocols.gmx_v1.math import position_key

    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path / "home"))
    chain = load_chain_file(v1.chain_file)
    first, s1 = index_protocol("gmx-v1", chain, v1.rpc_url, None, store=False)
    assert s1.scan.resumed_from is None
    part = v1.parts["gmx_v1"]
    weth = part.addresses["tokens"]["WETH"]
    acct = trader(99, 1)
    v = v1.w3.eth.contract(address=part.addresses["vault"], abi=artifact("GmxV1Vault")["abi"])
    seed = (acct, weth, weth, True, (10_000 * 10**30, 2_000 * 10**30, 3_000 * 10**30, 45_000, 10**18, 0, 1))
    send_from(v1.w3, part.addresses["deployer"], {"to": v.address, "data": v.encode_abi("seedPositions", args=[[seed]])})
    v1.mine(3)
    second, s2 = index_protocol("gmx-v1", chain, v1.rpc_url, None, store=False)
    assert s2.scan.resumed_from == first.block_number            # only the new blocks were scanned
    assert second.log_requests < first.log_requests or first.log_requests == 1
    assert position_key(acct, weth, weth, True) in {p.key for p in s2.positions}
    assert len(s2.positions) == len(s1.positions) + 1
    # a checkpoint for a block the chain no longer has (another hash) is not trusted: full rescan
    cp = next((tmp_path / "home" / "cache" / "gmx_v1").glob("*.json"))
    data = json.loads(cp.read_text())
    data["to_hash"] = "0x" + "ab" * 32
    cp.write_text(json.dumps(data))
    _, s3 = index_protocol("gmx-v1", chain, v1.rpc_url, None, store=False)
    assert s3.scan.resumed_from is None and {p.key for p in s3.positions} == {p.key for p in s2.positions}


def test_cli_index_show_simulate_compare(v1: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from defi_perps.cli import main

    monkeypatch.setenv("DEFI_PERPS_HOME", str(tmp_path / "home"))

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    run = CliRunner()
    r = run.invoke(main, ["index", "gmx-v1", "--chain-file", str(v1.chain_file), "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    sid = out["index"]["snapshot_id"]
    assert out["index"]["protocol"] == "gmx_v1" and out["snapshot"]["protocol"] == "gmx_v1"
    assert {m["market"] for m in out["snapshot"]["markets"]} == {"WETH/USD [GLP]", "WBTC/USD [GLP]", "LINK/USD [GLP]"}
    r = run.invoke(main, ["index", "gmx-v1", "--chain-file", str(v1.chain_file), "--db", db, "--block",
                          str(out["index"]["block_number"])])
    assert r.exit_code == 0 and "already stored" in r.output, r.output
    r = run.invoke(main, ["snapshots", "show", str(sid), "--db", db, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["totals"]["liquidation_fee_usd"] == "5.00", r.output
    r = run.invoke(main, ["snapshots", "show", str(sid), "--db", db])
    assert r.exit_code == 0 and "GMX v1 snapshot" in r.output, r.output
    r = run.invoke(main, ["snapshots", "diff", str(sid), str(sid), "--db", db, "--json"])   # any protocol (issue 12)
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["protocol"] == "gmx_v1" and d["positions"]["unchanged"] == out["index"]["positions"] > 0
    assert d["positions"]["opened"] == d["positions"]["closed"] == d["positions"]["changed"] == 0
    assert all(m["price_usd"]["change"] == "0.000000" for m in d["markets"] if m["price_usd"]["a"] is not None)
    r = run.invoke(main, ["snapshots", "export", str(sid), "--db", db, "-o", str(tmp_path / "b.csv")])
    assert r.exit_code == 0 and (tmp_path / "b.csv").is_file(), r.output
    r = run.invoke(main, ["simulate", "--snapshot", str(sid), "--db", db, "--paths", "16", "--horizon", "1h",
                          "--shock", "-15%@10m", "--json"])
    assert r.exit_code == 0, r.output
    sim = json.loads(r.stdout)
    assert "gmx-v1" in json.dumps(sim.get("venue", sim))[:2000]
    r = run.invoke(main, ["compare", "--snapshot", str(sid), "--db", db, "--paths", "8", "--horizon", "1h",
                          "--shock", "-15%@10m", "--venues", "gmx-v1,gmx-v2", "--json"])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("args, needle", [
    (["index", "gmx-v3", "--chain", "devnet"], "unknown protocol 'gmx-v3'"),
    (["index", "gmx-v1", "--chain-file", "{nosection}"], "has no [gmx_v1] section"),
    (["index", "gmx-v1", "--chain-file", "{wrongid}"], "serves chain id 31337"),
    (["devnet", "up", "--protocols", "gmx-v2,nope"], "unknown protocol 'nope'"),
])
def test_bad_input_is_one_line(v1: Any, tmp_path: Path, args: list[str], needle: str) -> None:
    from defi_perps.cli import main

    text = Path(v1.chain_file).read_text()
    nosection = tmp_path / "nosection.toml"
    nosection.write_text(text.split("[gmx_v1]")[0])
    wrongid = tmp_path / "wrongid.toml"
    wrongid.write_text(text.replace("chain_id = 31337", "chain_id = 42161"))
    args = [a.format(nosection=nosection, wrongid=wrongid) for a in args]
    r = CliRunner().invoke(main, args + ["--db", f"sqlite:///{tmp_path / 'x.db'}"] if args[0] == "index" else args)
    assert r.exit_code != 0 and needle in r.output, r.output
    assert r.output.startswith("Error:") and len(r.output.strip().splitlines()) == 1, r.output
