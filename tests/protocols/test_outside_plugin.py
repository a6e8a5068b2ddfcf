"""Issue 12's "done when": a protocol needs no edit outside its folder, the registry and chain files.

A toy plug-in is written into a temporary folder as an installed distribution would leave it: its
package (plug-in, tables module, its own migrations) and a ``*.dist-info`` whose ``entry_points.txt``
registers it in the ``defi_perps.protocols`` group. Nothing in defi-perps is edited. Every command
runs in a subprocess with that folder on PYTHONPATH (its tables must not leak into this process's
SQLModel metadata), against SQLite and PostgreSQL (DEFI_PERPS_TEST_PG).

And the shared modules that used to list protocols (devnet/compile.py, store/migrate.py) name none.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from tests.pgdb import throwaway_database

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
from dataclasses import dataclass
from typing import Any

from defi_perps.domain import SnapshotMeta
from defi_perps.protocols.base import DeploymentModel, ProtocolPlugin, SharedMarket, SharedRecords


class ToyDeployment(DeploymentModel):
    pool: str
    deploy_block: int = 0


@dataclass(frozen=True)
class ToySnapshot:
    meta: SnapshotMeta
    markets: tuple
    positions: tuple
    pools: tuple            # (market, depth, skew)


class ToyPlugin(ProtocolPlugin):
    name = "toy-perp"
    key = "toy_perp"
    title = "Toy perp"
    deployment_model = ToyDeployment
    tables_module = "toy_perps.tables"
    root_field = "pool"

    def shared(self, snap: Any) -> SharedRecords:
        return SharedRecords((), (), tuple(SharedMarket(m, "TOY") for m in snap.markets), snap.positions)

    def own_rows(self, snap: Any) -> dict:
        return {"toy_perp_pool": [{"market": m, "depth": d, **({"skew": s} if HAS_SKEW else {})}
                                  for m, d, s in snap.pools]}

    def from_rows(self, meta: SnapshotMeta, shared: SharedRecords, own: dict) -> ToySnapshot:
        return ToySnapshot(meta, tuple(m.market for m in shared.markets), shared.positions,
                           tuple((r["market"], r["depth"], r.get("skew")) for r in own.get("toy_perp_pool", [])))


from toy_perps.tables import HAS_SKEW  # noqa: E402

PLUGIN = ToyPlugin()
'''

TABLES = '''
from defi_perps.store.rowbase import SnapshotChild, big

HAS_SKEW = {skew}


class ToyPoolRow(SnapshotChild, table=True):
    __tablename__ = "toy_perp_pool"
    market: str
    depth: int = big()
{skew_column}

TABLES = (ToyPoolRow,)
'''

MIGRATION_1 = '''
"""The toy plug-in's first revision: its pool table (its own chain: alembic_version_toy_perp)."""
import sqlalchemy as sa
from alembic import op

from defi_perps.store.types import BigInt

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("toy_perp_pool",
                    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
                    sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
                    sa.Column("chain_id", sa.BigInteger(), nullable=False),
                    sa.Column("block_number", sa.BigInteger(), nullable=False),
                    sa.Column("block_hash", sa.String(), nullable=False),
                    sa.Column("market", sa.String(), nullable=False),
                    sa.Column("depth", BigInt(), nullable=False))
    op.create_index("ix_toy_perp_pool_snapshot_id", "toy_perp_pool", ["snapshot_id"])


def downgrade() -> None:
    op.drop_index("ix_toy_perp_pool_snapshot_id", table_name="toy_perp_pool")
    op.drop_table("toy_perp_pool")
'''

MIGRATION_2 = '''
"""The toy plug-in's second revision: a nullable skew column."""
import sqlalchemy as sa
from alembic import op

from defi_perps.store.types import BigInt

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("toy_perp_pool", sa.Column("skew", BigInt(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("toy_perp_pool") as b:
        b.drop_column("skew")
'''

# run in the subprocess: store a toy snapshot (exact uint256), read it back, compare the migrated
# schema with every model (the toy's included), print what the store said on stderr
ROUNDTRIP = '''
import json, sys
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel
from defi_perps.domain import SnapshotMeta
from defi_perps.protocols.base import SharedPosition
from defi_perps.store import load_snapshot, save_snapshot
from defi_perps.store import migrate
from defi_perps.store.db import get_engine
from toy_perps.plugin import ToySnapshot

url, block, skew = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
meta = SnapshotMeta(31337, block, 1_700_000_000, "0x" + "ab" * 32, "toy_perp", "0x" + "11" * 20, "chainlink")
pos = SharedPosition("k1", "0x" + "22" * 20, "ETH", None, True, 2**256 - 1, None, None)
snap = ToySnapshot(meta, ("ETH",), (pos,), (("ETH", 2**255 + 7, -5 if skew else None),))
r = save_snapshot(url, snap)
back = load_snapshot(url, r.snapshot_id)
assert back.pools == snap.pools and back.positions == snap.positions and back.markets == snap.markets, back
migrate.load_all_tables()
with get_engine(url).connect() as c:
    diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True,
        "include_name": lambda name, kind, parent: not (kind == "table" and migrate.is_version_table(name))}),
        SQLModel.metadata)
assert diff == [], diff
print(json.dumps({"id": r.snapshot_id, "created": r.created}))
'''


def _write_toy(root: Path, revisions: int) -> None:
    pkg = root / "toy_perps"
    (pkg / "migrations").mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text(PLUGIN)
    skew = revisions >= 2
    (pkg / "tables.py").write_text(TABLES.format(skew=skew, skew_column="    skew: int | None = big(True)"
                                                 if skew else ""))
    (pkg / "migrations" / "__init__.py").write_text("")
    (pkg / "migrations" / "t0001_pool.py").write_text(MIGRATION_1)
    if skew:
        (pkg / "migrations" / "t0002_skew.py").write_text(MIGRATION_2)
    dist = root / "toy_perps-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-perps\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[defi_perps.protocols]\ntoy-perp = toy_perps.plugin:PLUGIN\n")


def _run(args: list[str], plugin_dir: Path | None, home: Path) -> subprocess.CompletedProcess[str]:
    path = [str(ROOT)] + ([str(plugin_dir)] if plugin_dir is not None else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "DEFI_PERPS_HOME": str(home)}
    env.pop("DEFI_PERPS_DB", None)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _cli(args: list[str], plugin_dir: Path | None, home: Path) -> subprocess.CompletedProcess[str]:
    return _run(["-m", "defi_perps", *args], plugin_dir, home)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'toy.db'}"
        return
    with throwaway_database("toy") as url:
        yield url


def _tables(url: str) -> dict[str, list[str]]:
    eng = create_engine(url)
    insp = inspect(eng)
    out = {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()}
    eng.dispose()
    return out


def _versions(url: str) -> dict[str, list[str]]:
    eng = create_engine(url)
    with eng.connect() as c:
        out = {t: list(c.execute(text(f"SELECT version_num FROM {t}")).scalars())
               for t in inspect(c).get_table_names() if t.startswith("alembic_version")}
    eng.dispose()
    return out


def test_toy_plugin_appears_in_protocols(tmp_path: Path) -> None:
    _write_toy(tmp_path / "site", 1)
    r = _cli(["protocols", "--json"], tmp_path / "site", tmp_path / "home")
    assert r.returncode == 0, r.stderr
    rows = {p["name"]: p for p in json.loads(r.stdout)}
    assert rows["toy-perp"]["key"] == "toy_perp" and rows["toy-perp"]["title"] == "Toy perp"
    assert list(rows)[:5] == ["gmx-v2", "gmx-v1", "hyperliquid", "synthetix-v3", "gtrade"]   # built-ins first
    r = _cli(["protocols"], tmp_path / "site", tmp_path / "home")
    assert r.returncode == 0 and re.search(r"^toy-perp\s+Toy perp", r.stdout, re.M), r.stdout
    # without the distribution on the path it is simply not there
    r = _cli(["protocols", "--json"], None, tmp_path / "home")
    assert r.returncode == 0 and "toy-perp" not in {p["name"] for p in json.loads(r.stdout)}


def test_toy_plugin_owns_its_migrations(db_url: str, tmp_path: Path) -> None:
    from defi_perps.store import migrate

    site, home = tmp_path / "site", tmp_path / "home"
    _write_toy(site, 1)
    # a fresh database: the core chain, then the toy's own chain, in its own version table
    r = _cli(["db", "upgrade", "--db", db_url, "--json"], site, home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["after"] == f"{migrate.HEAD}, toy_perp t0001"
    tables = _tables(db_url)
    assert tables["toy_perp_pool"] == ["id", "snapshot_id", "chain_id", "block_number", "block_hash", "market",
                                       "depth"]
    assert _versions(db_url) == {"alembic_version": [migrate.HEAD], "alembic_version_toy_perp": ["t0001"]}
    r = _run(["-c", ROUNDTRIP, db_url, "100", "0"], site, home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["created"] and r.stderr == ""          # up to date: no notice
    st = json.loads(_cli(["db", "status", "--db", db_url, "--json"], site, home).stdout)
    assert st["up_to_date"] and st["state"] == f"{migrate.HEAD}, toy_perp t0001"

    # the plug-in's next release adds a revision: any command opening the database upgrades it in place
    _write_toy(site, 2)
    st = json.loads(_cli(["db", "status", "--db", db_url, "--json"], site, home).stdout)
    assert not st["up_to_date"] and st["head"] == f"{migrate.HEAD}, toy_perp t0002"
    r = _run(["-c", ROUNDTRIP, db_url, "101", "1"], site, home)
    assert r.returncode == 0, r.stderr
    notice = r.stderr.strip().splitlines()
    assert notice == [f"notice: upgraded database {make_url(db_url).render_as_string(hide_password=True)} from "
                      f"schema revision {migrate.HEAD}, toy_perp t0001 to revision {migrate.HEAD}, toy_perp t0002"], notice
    assert "skew" in _tables(db_url)["toy_perp_pool"]
    assert _versions(db_url)["alembic_version_toy_perp"] == ["t0002"]
    r = _cli(["snapshots", "list", "--db", db_url, "--json"], site, home)
    assert r.returncode == 0, r.stderr
    assert sorted(s["block_number"] for s in json.loads(r.stdout)) == [100, 101]

    # a toy revision this plug-in does not know: one line, nothing touched
    eng = create_engine(db_url)
    with eng.begin() as c:
        c.execute(text("UPDATE alembic_version_toy_perp SET version_num = 't9999'"))
    eng.dispose()
    before = _tables(db_url)
    r = _cli(["db", "upgrade", "--db", db_url], site, home)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "t9999" in err[0] and "toy-perp" in err[0], err
    assert _tables(db_url) == before and _versions(db_url)["alembic_version_toy_perp"] == ["t9999"]

    # the plug-in uninstalled: the database still opens; its chain is left alone
    r = _cli(["db", "status", "--db", db_url, "--json"], None, home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["state"] == migrate.HEAD and json.loads(r.stdout)["up_to_date"]
    r = _cli(["db", "upgrade", "--db", db_url], None, home)
    assert r.returncode == 0 and "up to date" in r.stdout, r.stderr


def test_two_processes_open_a_fresh_database_with_the_toy_at_once(db_url: str, tmp_path: Path) -> None:
    """The plug-in chain runs under the store's lock too: both writers succeed, the schema is made once."""
    from defi_perps.store import migrate

    site, home = tmp_path / "site", tmp_path / "home"
    _write_toy(site, 2)
    go = tmp_path / "go"
    wait = f"import pathlib, time\nwhile not pathlib.Path({str(go)!r}).exists():\n    time.sleep(0.005)\n"
    path = os.pathsep.join([str(ROOT), str(site)])
    env = {**os.environ, "PYTHONPATH": path, "DEFI_PERPS_HOME": str(home)}
    procs = [subprocess.Popen([sys.executable, "-c", wait + ROUNDTRIP, db_url, str(b), "1"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for b in (201, 202)]
    import time

    time.sleep(1.5)
    go.write_text("x")
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    assert sorted(json.loads(o)["created"] for o, _ in outs) == [True, True]
    assert _versions(db_url) == {"alembic_version": [migrate.HEAD], "alembic_version_toy_perp": ["t0002"]}


def test_a_migrations_folder_without_init_is_refused(tmp_path: Path) -> None:
    site, home = tmp_path / "site", tmp_path / "home"
    _write_toy(site, 1)
    (site / "toy_perps" / "migrations" / "__init__.py").unlink()
    r = _cli(["db", "upgrade", "--db", f"sqlite:///{tmp_path / 'x.db'}"], site, home)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "__init__.py" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_entry_point_taking_a_registered_name_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from defi_perps.exceptions import ConfigError
    from defi_perps.protocols import registry

    for name, target in (("gmx-v2", "toy_perps.plugin:PLUGIN"), ("gmx_v1", "toy_perps.plugin:PLUGIN"),
                         ("broken", "no_such_module_here:PLUGIN")):
        site = tmp_path / name
        dist = site / "other-0.1.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: other\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text(f"[defi_perps.protocols]\n{name} = {target}\n")
        with monkeypatch.context() as m:
            m.syspath_prepend(str(site))
            registry.refresh()
            try:
                with pytest.raises(ConfigError) as e:
                    registry.get(name) if name == "broken" else registry.names()
                assert "\n" not in str(e.value) and name in str(e.value), e.value
            finally:
                m.undo()
                registry.refresh()
    assert "broken" not in registry.names()


def _protocol_words() -> set[str]:
    """Every registered protocol's CLI name, key, first word of its title and devnet contracts."""
    from defi_perps.protocols import registry
    from defi_perps.protocols.base import devnet_contracts_of

    words: set[str] = set()
    for n in registry.names():
        p = registry.get(n)
        words |= {p.name.lower(), p.key.lower(), p.title.split()[0].lower()}
        words |= {c.lower() for c in devnet_contracts_of(p)}
    return words


@pytest.mark.parametrize("module", ["defi_perps/devnet/compile.py", "defi_perps/store/migrate.py",
                                    "defi_perps/store/migrations/env.py"])
def test_shared_modules_name_no_protocol(module: str) -> None:
    """Adding a protocol must not mean editing these again: they find plug-ins through the registry."""
    source = (ROOT / module).read_text().lower()
    words = _protocol_words()
    assert {"gmx-v2", "gmx", "hyperliquid", "datastore", "gmx_v1"} <= words     # the check sees the built-ins
    found = sorted(w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", source))
    assert not found, f"{module} names protocol(s) {found}; declare it on the plug-in instead"


def test_the_guard_catches_a_listed_protocol() -> None:
    """The guard above can fail: a module that lists a protocol is caught."""
    words = _protocol_words()
    bad = textwrap.dedent('''CONTRACTS = ("DataStore", "GmxV1Vault")''').lower()
    assert [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", bad)]
