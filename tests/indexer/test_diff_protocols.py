"""``snapshots diff``, ``series`` and ``index --accounts`` for protocols other than GMX v2 (issue 12):
Hyperliquid and Synthetix perps v3 on one devnet whose state changes between two indexed blocks.

Every expectation is computed from what the devnet was told (the exact integers written into the
HyperCore state and the Synthetix market), not from the diff's own output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from defi_perps.cli import main
from defi_perps.config import load_chain_file
from defi_perps.indexer.job import index_protocol
from defi_perps.indexer.summary import dec

pytestmark = pytest.mark.anvil


def _one_line_error(r: Any, needle: str) -> None:
    assert r.exit_code == 1, r.output
    assert r.output.startswith("Error:") and needle in r.output and "Traceback" not in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1, r.output


def _send(w3: Any, sender: str, contract: Any, fn: str, *args: Any) -> None:
    h = getattr(contract.functions, fn)(*args).transact({"from": sender, "gas": 30_000_000})
    assert w3.eth.wait_for_transaction_receipt(h, timeout=120, poll_latency=0.01)["status"] == 1


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Snapshots A and B of Hyperliquid and Synthetix v3; between them a Hyperliquid position grew, one
    closed, one opened and a perp's prices rose 10 %, and a Synthetix market's index price rose 5 %."""
    from web3 import Web3

    from defi_perps.devnet import start_devnet
    from defi_perps.devnet.anvil import find_anvil
    from defi_perps.devnet.artifacts import artifact
    from defi_perps.devnet.handle import ANVIL_ACCOUNTS
    from defi_perps.exceptions import DevnetError
    from defi_perps.protocols.hyperliquid import devnet as HD

    try:
        find_anvil(Path(__file__).resolve().parent)
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    tmp = tmp_path_factory.mktemp("diffnet")
    h = start_devnet(positions=200, accounts=40, seed=21, state_dir=tmp / "dn",
                     protocols=("gmx-v2", "hyperliquid", "synthetix-v3"))
    try:
        db = f"sqlite:///{tmp / 'diff.db'}"
        chain = load_chain_file(h.chain_file)
        hl_a, hs_a = index_protocol("hyperliquid", chain, db_url=db)
        sx_a, ss_a = index_protocol("synthetix-v3", chain, db_url=db)
        w3 = h.w3
        # -- Hyperliquid: grow one, close one, open one, move one perp's prices ----------------------
        state = w3.eth.contract(address=Web3.to_checksum_address(HD.STATE), abi=artifact("HyperCoreState")["abi"])
        sender = ANVIL_ACCOUNTS[2]       # the Hyperliquid plug-in's devnet account
        pos = sorted(hs_a.positions, key=lambda p: (p.account.lower(), p.perp))
        grown, closed = pos[0], pos[1]
        held = {(p.account.lower(), p.perp) for p in pos}
        perps = [p.perp for p in hs_a.perps]
        fresh = next((a.account, q) for a in hs_a.accounts for q in perps if (a.account.lower(), q) not in held)
        new_pos = (7 * 10**5, 123_456_789, 0, 5, False)       # szi 0.7 (sz_decimals units), entryNtl $123.456789
        _send(w3, sender, state, "setPositions", [grown.account, closed.account, fresh[0]],
              [grown.perp, closed.perp, fresh[1]],
              [(grown.szi * 2, grown.entry_ntl * 2, grown.isolated_raw_usd, grown.leverage, grown.is_isolated),
               (0, 0, 0, 0, False), new_pos])
        moved = next(p for p in hs_a.perps if p.perp == grown.perp)
        _send(w3, sender, state, "setPrices", [moved.perp], [moved.mark_px * 11 // 10], [moved.oracle_px * 11 // 10])
        # -- Synthetix v3: the ETH market's index price +5 % ---------------------------------------------
        proxy = h.parts["synthetix_v3"].addresses["perps_market_proxy"]
        snx = w3.eth.contract(address=proxy, abi=artifact("DevPerpsMarketProxy")["abi"])
        eth = next(m for m in ss_a.markets if m.symbol == "ETH")
        _send(w3, ANVIL_ACCOUNTS[3], snx, "setPrice", eth.market_id, eth.index_price * 105 // 100)
        h.mine(1)
        hl_b, hs_b = index_protocol("hyperliquid", chain, db_url=db)
        sx_b, ss_b = index_protocol("synthetix-v3", chain, db_url=db)
        yield {"h": h, "db": db, "tmp": tmp, "hl": (hl_a, hs_a, hl_b, hs_b), "sx": (sx_a, ss_a, sx_b, ss_b),
               "grown": grown, "closed": closed, "fresh": fresh, "new_pos": new_pos, "moved": moved, "eth": eth}
    finally:
        h.stop()


def _diff(db: str, a: int, b: int, *extra: str) -> dict[str, Any]:
    r = CliRunner().invoke(main, ["snapshots", "diff", str(a), str(b), "--db", db, "--json", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_hyperliquid_diff_counts_sizes_and_prices(world: dict[str, Any]) -> None:
    hl_a, hs_a, hl_b, hs_b = world["hl"]
    grown, closed, fresh, moved = world["grown"], world["closed"], world["fresh"], world["moved"]
    d = _diff(world["db"], hl_a.snapshot_id, hl_b.snapshot_id)
    assert d["protocol"] == "hyperliquid" and d["a"]["price_source"] == d["b"]["price_source"] == "precompile"
    assert {k: d["positions"][k] for k in ("opened", "closed", "changed", "increased", "decreased")} == \
        {"opened": 1, "closed": 1, "changed": 1, "increased": 1, "decreased": 0}
    assert d["positions"]["unchanged"] == len(hs_a.positions) - 2
    kinds = {r["key"]: r["kind"] for r in d["top_changes"]}
    assert kinds == {f"{grown.account}:{grown.perp}": "changed", f"{closed.account}:{closed.perp}": "closed",
                     f"{fresh[0]}:{fresh[1]}": "opened"}
    g = next(r for r in d["top_changes"] if r["kind"] == "changed")
    # entryNtl doubled: + entryNtl (USDC 1e6, shown exactly)
    assert Fraction(g["size_usd"]["delta"]) == Fraction(grown.entry_ntl, 10**6)
    assert g["size_in_tokens"] == {"a": str(abs(grown.szi)), "b": str(abs(grown.szi) * 2), "delta": str(abs(grown.szi))}
    by = {m["market"]: m for m in d["markets"]}
    m = by[str(moved.perp)]
    old = Fraction(moved.oracle_px, 10 ** (6 - moved.sz_decimals))
    new = Fraction(moved.oracle_px * 11 // 10, 10 ** (6 - moved.sz_decimals))
    assert Fraction(m["price_usd"]["a"]) == old and Fraction(m["price_usd"]["b"]) == new
    assert m["price_usd"]["change"] == dec(new / old - 1, 6)
    assert m["price_raw"]["a"] == {"min": str(moved.oracle_px), "max": str(moved.oracle_px)}
    assert "mark_usd" in d["protocol_fields"] and Fraction(m["mark_usd"]["b"]) == \
        Fraction(moved.mark_px * 11 // 10, 10 ** (6 - moved.sz_decimals))
    # OI per side per market: exactly the sums of entryNtl of B minus those of A
    for perp in {grown.perp, closed.perp, fresh[1]}:
        for side, is_long in (("long", True), ("short", False)):
            sa = sum(p.entry_ntl for p in hs_a.positions if p.perp == perp and (p.szi > 0) == is_long)
            sb = sum(p.entry_ntl for p in hs_b.positions if p.perp == perp and (p.szi > 0) == is_long)
            assert Fraction(by[str(perp)][f"oi_{side}_usd"]["delta"]) == Fraction(sb - sa, 10**6)
    # untouched perps: no price change, nothing opened/closed
    for p in hs_a.perps:
        if p.perp not in {grown.perp, closed.perp, fresh[1]}:
            assert by[str(p.perp)]["positions"]["changed"] == 0 and Fraction(by[str(p.perp)]["oi_long_usd"]["delta"]) == 0
    assert len(_diff(world["db"], hl_a.snapshot_id, hl_b.snapshot_id, "--top", "1")["top_changes"]) == 1
    human = CliRunner().invoke(main, ["snapshots", "diff", str(hl_a.snapshot_id), str(hl_b.snapshot_id),
                                      "--db", world["db"]])
    assert human.exit_code == 0 and "opened 1, closed 1, changed 1" in human.output, human.output


def test_synthetix_diff_sees_the_price_move(world: dict[str, Any]) -> None:
    sx_a, ss_a, sx_b, ss_b = world["sx"]
    eth = world["eth"]
    d = _diff(world["db"], sx_a.snapshot_id, sx_b.snapshot_id)
    assert d["protocol"] == "synthetix_v3" and d["a"]["price_source"] == "pyth"
    in_eth = [p for p in ss_a.positions if p.market_id == eth.market_id]
    assert in_eth
    assert d["positions"]["opened"] == d["positions"]["closed"] == 0
    # size_in_usd = |size| · indexPrice: every ETH position changed (and grew), nothing else did
    assert d["positions"]["changed"] == d["positions"]["increased"] == len(in_eth)
    m = next(x for x in d["markets"] if x["market"] == str(eth.market_id))
    assert Fraction(m["price_usd"]["a"]) == Fraction(eth.index_price, 10**18)
    assert Fraction(m["price_usd"]["b"]) == Fraction(eth.index_price * 105 // 100, 10**18)
    assert abs(Fraction(m["price_usd"]["change"]) - Fraction(5, 100)) < Fraction(1, 10**6)
    longs = sum(abs(p.size) for p in in_eth if p.size > 0)
    expect = Fraction(longs * (eth.index_price * 105 // 100 - eth.index_price), 10**36)
    # each position's size_in_usd floors at 1e-18 USD; shown to 6 decimals
    assert abs(Fraction(m["oi_long_usd"]["delta"]) - expect) <= Fraction(len(in_eth), 10**18) + Fraction(1, 2 * 10**6)
    assert m["collateral_long_usd"]["a"] is None     # cross-margined: no per-position collateral to sum


def test_diff_refuses_other_protocols_and_account_lists(world: dict[str, Any]) -> None:
    hl_a, _, _, _ = world["hl"]
    sx_a, _, _, _ = world["sx"]
    r = CliRunner().invoke(main, ["snapshots", "diff", str(hl_a.snapshot_id), str(sx_a.snapshot_id),
                                  "--db", world["db"]])
    _one_line_error(r, "different chains or protocols")
    # the same block read for 5 of the accounts is another deployment (another account list); in a
    # database of its own, so the series below sees one deployment
    tmp: Path = world["tmp"]
    db = f"sqlite:///{tmp / 'subset.db'}"
    full, _ = index_protocol("hyperliquid", load_chain_file(world["h"].chain_file), db_url=db, block=hl_a.block_number)
    few = tmp / "few.txt"
    few.write_text("".join(f"{a.account}\n" for a in world["hl"][1].accounts[:5]))
    r = CliRunner().invoke(main, ["index", "hyperliquid", "--chain-file", str(world["h"].chain_file), "--db", db,
                                  "--block", str(hl_a.block_number), "--accounts", str(few), "--json"])
    assert r.exit_code == 0, r.output
    sub = json.loads(r.stdout)["index"]
    assert sub["created"] and sub["snapshot_id"] != full.snapshot_id
    r = CliRunner().invoke(main, ["snapshots", "diff", str(full.snapshot_id), str(sub["snapshot_id"]), "--db", db])
    _one_line_error(r, "different deployments")


def test_accounts_file_csv_is_the_same_list(world: dict[str, Any]) -> None:
    hl_a, hs_a, _, _ = world["hl"]
    tmp: Path = world["tmp"]
    csv = tmp / "accounts.csv"
    # a CSV with a header, another column, lower-case addresses and a repeat: the same set of accounts
    rows = [f"{a.account.lower()},acct {i}\n" for i, a in enumerate(hs_a.accounts)]
    csv.write_text("address,label\n" + "".join(rows) + rows[0])
    r = CliRunner().invoke(main, ["index", "hyperliquid", "--chain-file", str(world["h"].chain_file),
                                  "--db", world["db"], "--block", str(hl_a.block_number), "--accounts", str(csv),
                                  "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["index"]
    assert out["created"] is False and out["snapshot_id"] == hl_a.snapshot_id      # same identity as the chain file's
    assert out["price_source"] == "precompile"


@pytest.mark.parametrize("content, needle", [
    ("", "is empty"),
    ("# only a comment\n\n", "lists no accounts"),
    ("0x" + "1" * 40 + "\n0x12345\n", "line 2: '0x12345' is not an account address"),
    ("account,label\n0x" + "2" * 40 + ",a\nnot-an-address,b\n", "line 3: 'not-an-address'"),
    ("who,label\n0x" + "2" * 40 + ",a\n", "names no account column"),
])
def test_bad_accounts_files_are_one_line(world: dict[str, Any], content: str, needle: str) -> None:
    f = world["tmp"] / "bad_accounts.txt"
    f.write_text(content)
    r = CliRunner().invoke(main, ["index", "hyperliquid", "--chain-file", str(world["h"].chain_file),
                                  "--db", world["db"], "--accounts", str(f)])
    _one_line_error(r, needle)


@pytest.mark.parametrize("protocol", ["synthetix-v3", "gmx-v2"])
def test_accounts_refused_by_protocols_that_take_none(world: dict[str, Any], protocol: str) -> None:
    f = world["tmp"] / "ok_accounts.txt"
    f.write_text("0x" + "3" * 40 + "\n")
    r = CliRunner().invoke(main, ["index", protocol, "--chain-file", str(world["h"].chain_file),
                                  "--db", world["db"], "--accounts", str(f)])
    _one_line_error(r, f"--accounts is not supported for {protocol}")


def test_list_show_and_series_use_the_stored_price_source(world: dict[str, Any]) -> None:
    hl_a, hs_a, hl_b, _ = world["hl"]
    db = world["db"]
    moved = world["moved"]
    r = CliRunner().invoke(main, ["snapshots", "list", "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    src = {s["id"]: (s["protocol"], s["price_source"]) for s in json.loads(r.stdout)}
    assert src[hl_a.snapshot_id] == ("hyperliquid", "precompile")
    assert src[world["sx"][0].snapshot_id] == ("synthetix_v3", "pyth")
    r = CliRunner().invoke(main, ["snapshots", "show", str(hl_b.snapshot_id), "--db", db, "--json"])
    assert r.exit_code == 0 and "chainlink" not in r.output, r.output
    r = CliRunner().invoke(main, ["series", "--market", moved.coin, "--protocol", "hyperliquid",
                                  "--metrics", "price,oi,positions_long,collateral_short", "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["series"]
    assert s["protocol"] == "hyperliquid" and s["price_source"] == "precompile" and s["market"] == str(moved.perp)
    assert s["units"] == {"price": "USD per token", "oi_long": "USD", "oi_short": "USD", "positions_long": "count",
                          "collateral_short": "USD"}
    blocks = [row["block_number"] for row in s["rows"]]
    assert blocks == [hl_a.block_number, hl_b.block_number]
    p0, p1 = (Fraction(row["price"]) for row in s["rows"])
    assert p0 == Fraction(moved.oracle_px, 10 ** (6 - moved.sz_decimals))
    assert p1 == Fraction(moved.oracle_px * 11 // 10, 10 ** (6 - moved.sz_decimals))
    longs = sum(p.entry_ntl for p in hs_a.positions if p.perp == moved.perp and p.szi > 0)
    assert Fraction(s["rows"][0]["oi_long"]) == Fraction(longs, 10**6)
    assert s["rows"][0]["positions_long"] == sum(1 for p in hs_a.positions if p.perp == moved.perp and p.szi > 0)
    r = CliRunner().invoke(main, ["series", "--market", moved.coin, "--protocol", "hyperliquid", "--metrics",
                                  "pool_value", "--db", db])
    _one_line_error(r, "'pool_value' is not available for hyperliquid")
    r = CliRunner().invoke(main, ["series", "--market", str(moved.perp), "--protocol", "hyperliquid", "--db", db])
    assert r.exit_code == 0 and f"{moved.coin}/USD ({moved.perp})" in r.output and "units:" in r.output, r.output
    from defi_perps import api

    df = api.series(moved.coin, "price,oi_long", db=db, protocol="hyperliquid")
    assert df["price"].tolist() == [float(p0), float(p1)] and df["oi_long"].dtype == "float64"


def test_history_reads_the_accounts_file_at_every_block(world: dict[str, Any],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from defi_perps.indexer.history import Every, index_history
    from defi_perps.protocols.hyperliquid.accounts import snapshot_root
    from defi_perps.store.listing import list_snapshots

    hl_a, hs_a, hl_b, _ = world["hl"]
    tmp: Path = world["tmp"]
    few = [a.account for a in hs_a.accounts[:7]]
    f = tmp / "hist_accounts.txt"
    f.write_text("# seven accounts\n" + "".join(f"{a}\n" for a in few))
    db = f"sqlite:///{tmp / 'hist.db'}"
    chain = load_chain_file(world["h"].chain_file)
    rep = index_history(chain, world["h"].rpc_url, hl_a.block_number, hl_b.block_number, Every(blocks=1), db,
                        protocol="hyperliquid", accounts=str(f), reorg_buffer=0)
    assert not rep.failed and len(rep.stored) == hl_b.block_number - hl_a.block_number + 1
    rows = [r for r in list_snapshots(db) if r.protocol == "hyperliquid"]
    assert {r.price_source for r in rows} == {"precompile"} and {r.data_store for r in rows} == {snapshot_root(few)}
    import defi_perps.indexer.job as job

    def no_read(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a stored block was read again")

    monkeypatch.setattr(job, "index_protocol", no_read)
    again = index_history(chain, world["h"].rpc_url, hl_a.block_number, hl_b.block_number, Every(blocks=1), db,
                          protocol="hyperliquid", accounts=str(f), reorg_buffer=0)
    # found stored by (root, the plug-in's price source) at plan time: nothing read, nothing written
    assert again.failed == [] and again.stored == [] and len(again.skipped) == len(rep.stored)
    from defi_perps.exceptions import InputError

    with pytest.raises(InputError, match="--accounts is not supported for synthetix-v3"):
        index_history(chain, world["h"].rpc_url, hl_a.block_number, hl_b.block_number, Every(blocks=1), db,
                      protocol="synthetix-v3", accounts=str(f))


def test_gmx_v2_diff_keeps_its_own_figures(world: dict[str, Any], tmp_path: Path) -> None:
    """GMX v2 through the same generic diff: its plug-in adds pool value and pnl-to-pool (the values
    `snapshots show` prints), and its shared OI is the sum of the positions' sizes."""
    from defi_perps.protocols import registry
    from defi_perps.store.queries import load_snapshot

    hl_a, _, hl_b, _ = world["hl"]
    db = f"sqlite:///{tmp_path / 'gmx.db'}"
    chain = load_chain_file(world["h"].chain_file)
    a, sa = index_protocol("gmx-v2", chain, db_url=db, block=hl_a.block_number)
    b, _ = index_protocol("gmx-v2", chain, db_url=db, block=hl_b.block_number)
    d = _diff(db, a.snapshot_id, b.snapshot_id)
    assert d["protocol"] == "gmx_v2" and d["a"]["price_source"] == "chainlink"
    assert d["protocol_fields"] == ["pool_value_usd", "pnl_to_pool_long", "pnl_to_pool_short"]
    assert d["positions"]["unchanged"] == len(sa.positions) and d["positions"]["changed"] == 0
    show = registry.get("gmx-v2").summarize(load_snapshot(db, a.snapshot_id))
    by = {m["market"]: m for m in show["markets"]}
    for m in d["markets"]:
        assert m["pool_value_usd"]["a"] == by[m["market"]]["pool_value_usd"]      # the same exact formula
        assert m["pool_value_usd"]["delta"] in (None, "0.00")
        longs = sum(p.size_in_usd for p in sa.positions if p.market == m["market"] and p.is_long)
        assert abs(Fraction(m["oi_long_usd"]["a"]) - Fraction(longs, 10**30)) <= Fraction(1, 2 * 10**6)   # 6 dp
