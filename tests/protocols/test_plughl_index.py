"""Hyperliquid and Synthetix v3 through the plug-in boundary on one devnet: `devnet up --protocols`,
the generic index job, the store round trip, the book, `snapshots show`, the CLI and its errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def dn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from defi_perps.devnet import start_devnet
    from defi_perps.devnet.anvil import find_anvil
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil(Path(__file__).resolve().parent)
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    h = start_devnet(positions=300, accounts=60, seed=4, state_dir=tmp_path_factory.mktemp("dn"),
                     protocols=("gmx-v2", "hyperliquid", "synthetix-v3"))
    try:
        yield h
    finally:
        h.stop()


@pytest.mark.parametrize("name", ["hyperliquid", "synthetix-v3"])
def test_index_store_and_book(dn: Any, tmp_path: Path, name: str) -> None:
    from defi_perps.config import load_chain_file
    from defi_perps.indexer.job import index_protocol
    from defi_perps.protocols import registry
    from defi_perps.store.queries import load_snapshot

    db = f"sqlite:///{tmp_path}/s.db"
    chain = load_chain_file(dn.chain_file)
    rep, snap = index_protocol(name, chain, db_url=db)
    assert rep.created and rep.positions == len(snap.positions) > 0
    back = load_snapshot(db, rep.snapshot_id)
    assert back == replace(snap, meta=replace(snap.meta, id=rep.snapshot_id))    # exact ints survive the store
    again, _ = index_protocol(name, chain, db_url=db)
    assert not again.created and again.snapshot_id == rep.snapshot_id
    plugin = registry.get(name)
    book = plugin.to_book(back)
    assert book.n_positions == len(snap.positions) and book.meta["protocol"] == plugin.key
    s = plugin.summarize(back)
    assert s["snapshot_id"] == rep.snapshot_id and s["positions"] == len(snap.positions)
    assert dn.parts[plugin.key].positions == len(snap.positions)


def test_another_account_list_is_another_snapshot(dn: Any, tmp_path: Path) -> None:
    from defi_perps.config import load_chain_file
    from defi_perps.indexer.job import index_protocol

    db = f"sqlite:///{tmp_path}/s.db"
    chain = load_chain_file(dn.chain_file)
    first, _ = index_protocol("hyperliquid", chain, db_url=db)
    dep = chain.deployment("hyperliquid")
    fewer = chain.model_copy(update={"deployments": {**chain.deployments,
                                                     "hyperliquid": dep.model_copy(update={"accounts": dep.accounts[:5]})}})
    second, snap = index_protocol("hyperliquid", fewer, db_url=db, block=first.block_number)
    assert second.created and second.snapshot_id != first.snapshot_id
    assert {p.account for p in snap.positions} <= set(dep.accounts[:5])


def test_cli_index_show_and_simulate(dn: Any, tmp_path: Path) -> None:
    from defi_perps.cli import main as cli

    db = f"sqlite:///{tmp_path}/c.db"
    r = CliRunner().invoke(cli, ["index", "synthetix-v3", "--chain-file", str(dn.chain_file), "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["index", "hyperliquid", "--chain-file", str(dn.chain_file), "--db", db])
    assert r.exit_code == 0 and "stored snapshot 2" in r.output, r.output
    r = CliRunner().invoke(cli, ["snapshots", "show", "1", "--db", db])
    assert r.exit_code == 0 and "Synthetix perps v3" in r.output, r.output
    r = CliRunner().invoke(cli, ["simulate", "--snapshot", "2", "--venue", "hyperliquid", "--paths", "20",
                                 "--horizon", "30m", "--shock", "-10%@5m", "--db", db, "--json"])
    assert r.exit_code == 0, r.output


def test_cli_errors_are_one_line(dn: Any, tmp_path: Path) -> None:
    from defi_perps.cli import main as cli

    bad = tmp_path / "chain.toml"
    text = dn.chain_file.read_text()
    start = text.index("accounts = [")
    end = text.index("]", start)
    bad.write_text(text[:start] + 'accounts_file = "' + str(tmp_path / "acc.txt") + '"' + text[end + 1:])
    (tmp_path / "acc.txt").write_text("0x1234\n")
    r = CliRunner().invoke(cli, ["index", "hyperliquid", "--chain-file", str(bad), "--db", f"sqlite:///{tmp_path}/e.db"])
    assert r.exit_code == 1 and "line 1: '0x1234' is not an account address" in r.output
    assert len(r.output.strip().splitlines()) == 1
