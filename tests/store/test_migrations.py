"""Schema migrations (issue 8 §4, issue 14 §3): the baseline equals the 0.1.0 schema, a database that
release wrote upgrades in place and reads back, the migrated schema equals the models, a newer schema
is refused, and two processes creating a fresh database at once both succeed. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from tests.pgdb import throwaway_database
from defi_perps.exceptions import StoreError
from defi_perps.store import list_snapshots, load_snapshot, save_snapshot
from defi_perps.store import migrate
from defi_perps.store.db import get_engine

from store_factory import make_snapshot

ROOT = Path(__file__).resolve().parents[2]
OLD = Path(__file__).resolve().parent / "old_schema"


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a new SQLite file, or a new PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with throwaway_database("mig") as url:
        try:
            yield url
        finally:
            get_engine.cache_clear()


def _raw(url: str) -> Engine:
    return create_engine(url)


def _load_release_schema(url: str) -> None:
    """Create the tables exactly as defi-perps 0.1.0 did (its DDL, committed as SQL)."""
    eng = _raw(url)
    ddl = (OLD / ("postgresql.sql" if eng.dialect.name == "postgresql" else "sqlite.sql")).read_text()
    with eng.begin() as c:
        for stmt in ddl.split(";"):
            if stmt.strip():
                c.exec_driver_sql(stmt)
    eng.dispose()


def _write_release_rows(url: str, block: int) -> None:
    """One snapshot as 0.1.0 stored it: a row per table, no block_hash on child rows."""
    eng = _raw(url)
    big = "2" * 77        # a uint256-sized value, exact
    with eng.begin() as c:
        sid = c.execute(text(
            "INSERT INTO snapshot (chain_id, block_number, block_timestamp, block_hash, protocol, data_store, "
            "price_source, chain_name, created_at, market_count, position_count, min_collateral_usd, "
            "min_position_size_usd, liquidation_fee_receiver_factor, borrowing_fee_receiver_factor) VALUES "
            "(31337, :b, 1700000000, :h, 'gmx_v2', :ds, 'chainlink', 'devnet', '2026-01-01T00:00:00+00:00', 1, 1, "
            "1, 2, 3, 4) RETURNING id"), {"b": block, "h": "0x" + "cd" * 32, "ds": "0x" + "Aa" * 20}).scalar_one()
        common = {"s": sid, "b": block}
        c.execute(text("INSERT INTO snapshot_token (snapshot_id, chain_id, block_number, address, symbol, decimals, "
                       "synthetic) VALUES (:s, 31337, :b, :a, 'WETH', 18, false)"), {**common, "a": "0x" + "Ee" * 20})
        c.execute(text("INSERT INTO snapshot_price (snapshot_id, chain_id, block_number, token, price_min, price_max, "
                       "source) VALUES (:s, 31337, :b, :a, :p, :p, 'chainlink')"),
                  {**common, "a": "0x" + "Ee" * 20, "p": big})
        m = ["pool_amount_long", "pool_amount_short", "reserve_factor_long", "reserve_factor_short",
             "open_interest_reserve_factor_long", "open_interest_reserve_factor_short",
             "max_pnl_factor_for_traders_long", "max_pnl_factor_for_traders_short", "max_pnl_factor_for_adl_long",
             "max_pnl_factor_for_adl_short", "min_pnl_factor_after_adl_long", "min_pnl_factor_after_adl_short",
             "min_collateral_factor", "min_collateral_factor_for_liquidation", "position_impact_factor_positive",
             "position_impact_factor_negative", "position_impact_exponent_factor_positive",
             "position_impact_exponent_factor_negative", "max_position_impact_factor_positive",
             "max_position_impact_factor_negative", "max_position_impact_factor_for_liquidations",
             "position_fee_factor_positive", "position_fee_factor_negative", "liquidation_fee_factor",
             "borrowing_factor_long", "borrowing_factor_short", "borrowing_exponent_factor_long",
             "borrowing_exponent_factor_short", "cumulative_borrowing_factor_long",
             "cumulative_borrowing_factor_short", "funding_factor", "funding_exponent_factor",
             "saved_funding_factor_per_second", "position_impact_pool_amount", "virtual_inventory_for_positions"]
        c.execute(text(
            "INSERT INTO snapshot_market (snapshot_id, chain_id, block_number, market_token, index_token, long_token, "
            f"short_token, is_adl_enabled_long, is_adl_enabled_short, virtual_market_id, virtual_token_id, {', '.join(m)}) "
            f"VALUES (:s, 31337, :b, :mk, :t, :t, :t, true, false, :z, :z, {', '.join(':v' for _ in m)})"),
            {**common, "mk": "0x" + "Aa" * 20, "t": "0x" + "Ee" * 20, "z": "0x" + "00" * 32, "v": big})
        c.execute(text("INSERT INTO snapshot_open_interest (snapshot_id, chain_id, block_number, market, "
                       "collateral_token, is_long, open_interest_usd, open_interest_in_tokens, collateral_sum) VALUES "
                       "(:s, 31337, :b, :mk, :t, true, :v, 1, 0)"),
                  {**common, "mk": "0x" + "Aa" * 20, "t": "0x" + "Ee" * 20, "v": big})
        p = ["size_in_usd", "size_in_tokens", "collateral_amount", "pending_impact_amount", "borrowing_factor",
             "funding_fee_amount_per_size", "long_token_claimable_funding_amount_per_size",
             "short_token_claimable_funding_amount_per_size", "increased_at_time", "decreased_at_time"]
        c.execute(text(
            'INSERT INTO snapshot_position (snapshot_id, chain_id, block_number, "key", account, market, '
            f"collateral_token, is_long, {', '.join(p)}) VALUES (:s, 31337, :b, :k, :a, :mk, :t, true, "
            f"{', '.join(':v' for _ in p)})"),
            {**common, "k": "0x" + "01" * 32, "a": "0x" + "0c" * 20, "mk": "0x" + "Aa" * 20, "t": "0x" + "Ee" * 20,
             "v": big})
    eng.dispose()


def _schema(url: str) -> dict[str, object]:
    """Tables → columns (name, type, nullable), indexes, unique constraints and foreign keys, as reflected."""
    eng = _raw(url)
    insp = inspect(eng)
    out: dict[str, object] = {}
    for t in sorted(n for n in insp.get_table_names() if n != "alembic_version"):
        out[t] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(t)),
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in insp.get_foreign_keys(t)),
            "pk": tuple(insp.get_pk_constraint(t)["constrained_columns"]),
        }
    eng.dispose()
    return out


def test_head_is_the_newest_script() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    scripts = ScriptDirectory.from_config(cfg)
    assert scripts.get_current_head() == migrate.HEAD
    assert sorted(r.revision for r in scripts.walk_revisions()) == list(migrate.KNOWN)
    assert scripts.get_base() == migrate.BASELINE


def test_baseline_equals_the_release_schema(fresh_url: str, tmp_path: Path) -> None:
    _load_release_schema(fresh_url)
    release = _schema(fresh_url)
    assert set(release) == {"snapshot", "snapshot_token", "snapshot_price", "snapshot_open_interest",
                            "snapshot_market", "snapshot_position"}
    # the same schema created by the baseline migration in a second database
    if fresh_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path / 'baseline.db'}"
        migrate.upgrade(_raw(other), "baseline", notice=None, target=migrate.BASELINE)
        assert _schema(other) == release
    else:
        with _raw(fresh_url).begin() as c:
            for t in ("snapshot_position", "snapshot_market", "snapshot_open_interest", "snapshot_price",
                      "snapshot_token", "snapshot"):
                c.execute(text(f"DROP TABLE {t}"))
        migrate.upgrade(_raw(fresh_url), "baseline", notice=None, target=migrate.BASELINE)
        assert _schema(fresh_url) == release


def test_release_database_upgrades_in_place(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _load_release_schema(fresh_url)
    _write_release_rows(fresh_url, 77)
    get_engine.cache_clear()
    rows = list_snapshots(fresh_url)        # a read-only command: upgrades, with a one-line notice
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("notice: upgraded database") and migrate.HEAD in err[0], err
    assert [(r.block_number, r.block_hash, r.price_source) for r in rows] == [(77, "0x" + "cd" * 32, "chainlink")]
    snap = load_snapshot(fresh_url, rows[0].id)
    assert snap.positions[0].size_in_usd == int("2" * 77) and snap.markets[0].pool_amount_long == int("2" * 77)
    assert snap.markets[0].open_interest[0].open_interest_usd == int("2" * 77)
    with _raw(fresh_url).connect() as c:
        assert migrate.schema_state(c) == migrate.HEAD
        for t in ("snapshot_token", "snapshot_price", "gmx_v2_open_interest", "snapshot_market",
                  "snapshot_position", "gmx_v2_market", "gmx_v2_position", "gmx_v2_globals"):
            assert c.execute(text(f"SELECT block_hash FROM {t}")).scalars().all() == ["0x" + "cd" * 32], t
    # the new identity: the same block with another hash is another snapshot; the same one is not
    import dataclasses

    same = make_snapshot(77)                 # the release's row has this very identity
    assert not save_snapshot(fresh_url, same).created
    reorg = dataclasses.replace(same, meta=dataclasses.replace(same.meta, block_hash="0x" + "ef" * 32))
    assert save_snapshot(fresh_url, reorg).created
    what_if = dataclasses.replace(same, meta=dataclasses.replace(same.meta, price_source="file:sha256:" + "0" * 64))
    assert save_snapshot(fresh_url, what_if).created
    assert capsys.readouterr().err == ""    # upgraded once, silent after


def test_migrated_schema_equals_the_models(fresh_url: str) -> None:
    """Every model column, index and constraint arrives through a migration (a model change without
    one fails here: add the next file in defi_perps/store/migrations/versions/, or, for a plug-in's
    tables, in the plug-in's own ``migrations`` package). The chains' version tables are no models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    migrate.load_all_tables()
    get_engine(fresh_url)
    eng = _raw(fresh_url)

    def not_a_version_table(name: str | None, kind: str, parent: object) -> bool:
        return not (kind == "table" and name is not None and migrate.is_version_table(name))

    with eng.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True,
                                                                    "include_name": not_a_version_table}),
                                SQLModel.metadata)
    eng.dispose()
    assert diff == [], (f"the models differ from the migrated schema; add the next migration in "
                        f"defi_perps/store/migrations/versions/ and bump migrate.HEAD/KNOWN (a plug-in's "
                        f"tables: the next revision in its own migrations package): {diff}")


def test_newer_schema_is_refused(fresh_url: str) -> None:
    get_engine(fresh_url)
    with _raw(fresh_url).begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    get_engine.cache_clear()
    with pytest.raises(StoreError) as e:
        list_snapshots(fresh_url)
    assert "9999" in str(e.value) and "newer" in str(e.value) and "\n" not in str(e.value)


def test_two_writers_at_once_on_a_fresh_database(fresh_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    script = textwrap.dedent(f"""
        import sys, time, pathlib
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        from store_factory import make_snapshot
        from defi_perps.store import save_snapshot
        while not pathlib.Path({str(go)!r}).exists():
            time.sleep(0.005)
        r = save_snapshot({fresh_url!r}, make_snapshot(int(sys.argv[1]), 50))
        print(r.snapshot_id, r.created)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(b)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for b in (501, 502, 502)]
    import time

    time.sleep(1.5)         # all three imported and waiting
    go.write_text("x")
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    created = sorted(o.split()[1] for o, _ in outs)
    assert created == ["False", "True", "True"]    # 501 once, 502 once (the third finds it stored)
    assert sorted(r.block_number for r in list_snapshots(fresh_url)) == [501, 502]


def test_db_status_and_upgrade_commands(fresh_url: str) -> None:
    import json

    from click.testing import CliRunner

    from defi_perps.cli import main

    _load_release_schema(fresh_url)
    _write_release_rows(fresh_url, 88)
    get_engine.cache_clear()
    r = CliRunner().invoke(main, ["db", "status", "--db", fresh_url, "--json"])
    assert r.exit_code == 0, r.output
    st = json.loads(r.stdout)
    assert st["state"] == "legacy" and not st["up_to_date"]
    with _raw(fresh_url).connect() as c:                       # status changed nothing
        assert migrate.schema_state(c) == "legacy"
    r = CliRunner().invoke(main, ["db", "upgrade", "--db", fresh_url])
    assert r.exit_code == 0 and "upgraded" in r.output and migrate.HEAD in r.output, r.output
    r = CliRunner().invoke(main, ["db", "upgrade", "--db", fresh_url])
    assert r.exit_code == 0 and "up to date" in r.output
    st = json.loads(CliRunner().invoke(main, ["db", "status", "--db", fresh_url, "--json"]).stdout)
    assert st["state"] == migrate.HEAD and st["up_to_date"]
    assert [s.block_number for s in list_snapshots(fresh_url)] == [88]


def _write_0005_snapshot(url: str, snap: object) -> None:
    """Write ``snap`` (a GMX v2 ``domain.Snapshot``) exactly as revision 0005 laid it out: GMX v2's fields
    in the shared tables and its globals on ``snapshot`` (the layout before the plug-in split)."""
    import dataclasses
    from decimal import Decimal

    from sqlalchemy import MetaData, insert

    eng = _raw(url)
    md = MetaData()
    md.reflect(eng)
    pg = eng.dialect.name == "postgresql"

    def v(x: object) -> object:   # BigInt columns: decimal text on SQLite, NUMERIC on PostgreSQL
        if isinstance(x, bool) or not isinstance(x, int):
            return x
        return Decimal(x) if pg else str(x)

    def plain(rec: object, skip: tuple[str, ...] = ()) -> dict[str, object]:
        return {f.name: v(getattr(rec, f.name)) for f in dataclasses.fields(rec) if f.name not in skip}  # type: ignore[arg-type]

    m = snap.meta  # type: ignore[attr-defined]
    with eng.begin() as c:
        sid = c.execute(insert(md.tables["snapshot"]).values(
            chain_id=m.chain_id, block_number=m.block_number, block_timestamp=m.block_timestamp,
            block_hash=m.block_hash, protocol=m.protocol, data_store=m.data_store, price_source=m.price_source,
            chain_name="devnet", created_at="2026-01-01T00:00:00+00:00", market_count=len(snap.markets),  # type: ignore[attr-defined]
            position_count=len(snap.positions), **plain(snap.globals))).inserted_primary_key[0]  # type: ignore[attr-defined]
        common = {"snapshot_id": sid, "chain_id": m.chain_id, "block_number": m.block_number,
                  "block_hash": m.block_hash}
        for table, recs, skip in (("snapshot_token", snap.tokens, ()), ("snapshot_price", snap.prices, ()),  # type: ignore[attr-defined]
                                  ("snapshot_market", snap.markets, ("open_interest",)),  # type: ignore[attr-defined]
                                  ("snapshot_open_interest", [o for mk in snap.markets for o in mk.open_interest], ()),  # type: ignore[attr-defined]
                                  ("snapshot_position", snap.positions, ()),  # type: ignore[attr-defined]
                                  ("snapshot_account", snap.accounts, ())):  # type: ignore[attr-defined]
            for r in recs:
                c.execute(insert(md.tables[table]).values(**common, **plain(r, skip)))
    eng.dispose()


def test_0005_database_upgrades_to_plugin_tables(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Migration 0006 moves GMX v2's fields out of the shared tables: a database written at revision
    0005 reads back the very same snapshot (every exact int, the v2.2 terms, globals, referral
    inputs), the shared rows gain the exact entry price, and nothing of GMX v2 is left in them."""
    import dataclasses

    from defi_perps.domain import AccountFees

    migrate.upgrade(_raw(fresh_url), "test", notice=None, target="0005")
    snap = make_snapshot(4242, 3)
    mk = dataclasses.replace(snap.markets[0], lent_position_impact_pool_amount=2**256 - 1,
                             total_pending_impact_amount=-(2**255), optimal_usage_factor_long=7,
                             virtual_inventory_for_positions_in_tokens=-5)
    snap = dataclasses.replace(snap, markets=(mk,), accounts=(
        AccountFees("0x%040x" % 1, "0x" + "ab" * 32, "0x" + "0d" * 20, 2500, 5000, 2, 10**29),))
    _write_0005_snapshot(fresh_url, snap)
    get_engine.cache_clear()
    rows = list_snapshots(fresh_url)
    assert "upgraded database" in capsys.readouterr().err
    back = load_snapshot(fresh_url, rows[0].id)
    assert back.markets == snap.markets and back.positions == snap.positions
    assert back.globals == snap.globals and back.accounts == snap.accounts
    assert back.tokens == snap.tokens and back.prices == snap.prices
    eng = _raw(fresh_url)
    with eng.connect() as c:
        assert migrate.schema_state(c) == migrate.HEAD
        entry = c.execute(text("SELECT entry_price FROM snapshot_position ORDER BY id")).scalars().all()
        assert [int(e) for e in entry] == [p.size_in_usd // p.size_in_tokens for p in snap.positions]
        cols = {t: {col["name"] for col in inspect(c).get_columns(t)} for t in ("snapshot", "snapshot_market",
                                                                               "snapshot_position")}
    eng.dispose()
    assert "min_collateral_usd" not in cols["snapshot"] and "pool_amount_long" not in cols["snapshot_market"]
    assert "borrowing_factor" not in cols["snapshot_position"] and "market" in cols["snapshot_market"]
    # and the upgraded database keeps storing: the same identity is found, not duplicated
    assert not save_snapshot(fresh_url, snap).created


def test_plugin_chains_of_the_registry_are_sound() -> None:
    """Every registered plug-in that owns migrations has one head and its own version table; the
    built-in plug-ins' tables still come from the core chain (0006, 0008, 0009)."""
    chains = migrate.plugin_chains()
    assert len({c.version_table for c in chains}) == len(chains)
    for c in chains:
        head, known = migrate._revisions(c)
        assert head in known and migrate.is_version_table(c.version_table)
    assert migrate.head().split(", ")[0] == migrate.HEAD
    assert migrate.is_version_table("alembic_version") and not migrate.is_version_table("snapshot")


def test_0010_relabels_plugin_price_sources(fresh_url: str) -> None:
    """Hyperliquid and Synthetix v3 snapshots stored under the interface's default label "chainlink"
    take their plug-ins' price sources; a --prices what-if and other protocols keep theirs; the
    relabelled snapshots are what a re-index looks up (no second copy of a stored block)."""
    from defi_perps.protocols import registry

    migrate.upgrade(_raw(fresh_url), "test", notice=None, target="0009")
    eng = _raw(fresh_url)
    rows = [("hyperliquid", "chainlink"), ("synthetix_v3", "chainlink"), ("synthetix_v3", "file:sha256:ab"),
            ("gmx_v2", "chainlink"), ("gtrade", "chainlink")]
    with eng.begin() as c:
        for i, (protocol, source) in enumerate(rows):
            c.execute(text("INSERT INTO snapshot (chain_id, block_number, block_timestamp, block_hash, protocol, "
                           "data_store, price_source, chain_name, created_at, market_count, position_count) "
                           "VALUES (1, :b, 0, :h, :p, '0xroot', :s, 'x', 'now', 0, 0)"),
                      {"b": 100 + i, "h": f"0x{i:064x}", "p": protocol, "s": source})
    migrate.upgrade(eng, "test", notice=None)
    with eng.connect() as c:
        got = c.execute(text("SELECT protocol, price_source FROM snapshot ORDER BY block_number")).all()
    eng.dispose()
    assert [tuple(r) for r in got] == [("hyperliquid", "precompile"), ("synthetix_v3", "pyth"),
                                       ("synthetix_v3", "file:sha256:ab"), ("gmx_v2", "chainlink"),
                                       ("gtrade", "chainlink")]
    by_key = {registry.get(n).key: registry.get(n) for n in registry.names()}
    for protocol, source in got:   # the stored label is the plug-in's own default (or a file's)
        assert source.startswith("file:") or source == by_key[protocol].default_price_source
