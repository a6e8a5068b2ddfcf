"""Schema migrations (Alembic): create a fresh database, upgrade an older one in place, under a lock.

States of a database: ``empty`` (no tables: created through every migration), ``legacy`` (tables of
defi-perps 0.1.0, which used ``create_all`` and has no ``alembic_version``: stamped with the baseline,
then upgraded), a known revision (upgraded to ``HEAD`` with a one-line notice), or a revision this
code does not know (a newer defi-perps wrote it: a one-line error, nothing touched).

Two processes opening a fresh database at once must both succeed, so migrations run under a lock and
the state is read again inside it: a PostgreSQL advisory lock (session level, held on its own
connection), or on SQLite an exclusive ``flock`` on ``<file>.lock`` beside the database (SQLite's
own locks cannot span Alembic's several statements and table rebuilds).

Alembic is imported only when something must change, so opening an up-to-date database stays cheap.

Two kinds of chains, so that this module names no protocol:

* the **core chain** (``migrations/versions/0001…``, ``alembic_version``, :data:`HEAD`/:data:`KNOWN`):
  the shared tables, runs, sweeps, and the tables of the built-in plug-ins as they were created before
  plug-ins owned their migrations (0006, 0008, 0009; those files stay as they are);
* one **plug-in chain** per registered plug-in with a ``migrations`` package beside its plug-in
  module (``protocols/<key>/migrations/``; protocols/base.py): its own revisions, recorded in its own
  version table ``alembic_version_<key>``. They run after the core chain is at its head (so they may
  reference ``snapshot.id``), in registry order, in the same transaction and under the same lock. Why not Alembic branches in one version table: a
  database must keep opening when a plug-in is uninstalled (its version table is then left alone),
  and a plug-in's revision ids must not have to be unique across everyone's plug-ins.

The "unknown revision" rule holds for every chain: a core revision or a registered plug-in's revision
this code does not know is a one-line error, and nothing is touched.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from defi_perps.exceptions import ConfigError, StoreError

if TYPE_CHECKING:   # pragma: no cover
    from alembic.config import Config

BASELINE = "0001"            # the schema of defi-perps 0.1.0 (main at 7dc81a5)
HEAD = "0010"                # the newest revision in migrations/versions (a test keeps them equal)
KNOWN = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010")
PG_LOCK_KEY = 7_339_450_010   # pg_advisory_lock key of defi-perps schema changes
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"           # the core chain's; a plug-in's is alembic_version_<key>

Notice = Callable[[str], None]
# Every module of the store that defines tables: migrations cover the whole SQLModel metadata. A new
# table module goes here (and its tables arrive through the next migration in versions/). Plug-ins'
# table modules come from the protocol registry (ProtocolPlugin.tables_module).
TABLE_MODULES = ("defi_perps.store.models", "defi_perps.store.runs", "defi_perps.store.sweeps")


def table_modules() -> tuple[str, ...]:
    from defi_perps.protocols import registry

    plugins = tuple(m for m in (registry.get(n).tables_module for n in registry.names()) if m)
    return TABLE_MODULES + plugins


def load_all_tables() -> None:
    """Import every table module so SQLModel.metadata holds the whole schema."""
    import importlib

    for name in table_modules():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise


@dataclass(frozen=True)
class PluginChain:
    """A registered plug-in's own migrations: its revisions in ``location``, its version table."""

    name: str                 # the plug-in's CLI name
    key: str
    package: str
    location: Path

    @property
    def version_table(self) -> str:
        return f"{VERSION_TABLE}_{self.key}"


def is_version_table(name: str) -> bool:
    """A table that records a chain's revision (the core's or a plug-in's), not a model table."""
    return name == VERSION_TABLE or name.startswith(VERSION_TABLE + "_")


def plugin_chains() -> tuple[PluginChain, ...]:
    """The registered plug-ins that own migrations, in registry order (imports no plug-in, no Alembic)."""
    import importlib.util

    from defi_perps.protocols import registry

    out = []
    for n in registry.names():
        pkg = registry.migrations_package(n)
        if pkg is None:
            continue
        spec = importlib.util.find_spec(pkg)
        where = list(spec.submodule_search_locations or ()) if spec is not None else []
        if not where or not Path(where[0]).is_dir():
            raise ConfigError(f"protocol plug-in {n}: its migrations package {pkg!r} is not a folder")
        if spec is None or spec.origin in (None, "namespace"):   # setuptools' find_packages would not ship it
            raise ConfigError(f"protocol plug-in {n}: its migrations folder {where[0]} needs an __init__.py "
                              "(a package, so that it ships in the wheel)")
        out.append(PluginChain(n, registry.key_of(n), pkg, Path(where[0])))
    return tuple(out)


def _config(chain: PluginChain | None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))     # env.py: the same for every chain
    if chain is not None:
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", str(chain.location).replace("%", "%%"))
    cfg.attributes["version_table"] = chain.version_table if chain is not None else VERSION_TABLE
    return cfg


@lru_cache(maxsize=None)
def _revisions(chain: PluginChain) -> tuple[str, frozenset[str]]:
    """A plug-in chain's head and every revision it knows (its scripts, read once per process)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        scripts = ScriptDirectory.from_config(_config(chain))
        heads = scripts.get_heads()
        known = frozenset(r.revision for r in scripts.walk_revisions())
    except CommandError as err:
        raise ConfigError(f"protocol plug-in {chain.name}: its migrations ({chain.package}) are broken: {err}") from None
    if len(heads) != 1:
        raise ConfigError(f"protocol plug-in {chain.name}: its migrations ({chain.package}) have "
                          f"{len(heads)} heads ({', '.join(sorted(heads)) or 'no revision'}); expected one")
    return heads[0], known


def chain_state(conn: Connection, chain: PluginChain) -> str:
    """``empty`` (its version table absent or empty) or the plug-in chain's stored revision."""
    if chain.version_table not in set(inspect(conn).get_table_names()):
        return "empty"
    rows = conn.execute(text(f"SELECT version_num FROM {chain.version_table}")).scalars().all()
    if len(rows) > 1:
        raise StoreError(f"the database has {len(rows)} {chain.name} schema revisions ({', '.join(rows)}); "
                         "expected one")
    return str(rows[0]) if rows else "empty"


def describe(core: str, plugins: dict[str, str]) -> str:
    """One string for the whole schema: the core revision, then ``<key> <revision>`` per plug-in chain
    (``none`` where it has not run): ``0009`` with no plug-in chains, ``0009, toy_perp t0002`` with one."""
    if not plugins or core in ("empty", "legacy"):
        return core
    return ", ".join([core, *(f"{k} {'none' if v == 'empty' else v}" for k, v in plugins.items())])


def head() -> str:
    """:func:`describe` of what this code writes: HEAD and every plug-in chain's head."""
    return describe(HEAD, {c.key: _revisions(c)[0] for c in plugin_chains()})


def state(engine: Engine) -> str:
    """:func:`describe` of what the database holds (changes nothing)."""
    chains = plugin_chains()
    with engine.connect() as conn:
        core = schema_state(conn)
        return describe(core, {c.key: chain_state(conn, c) for c in chains} if core not in ("empty", "legacy")
                        else {})


def plugins_behind(engine: Engine) -> bool:
    """Whether some registered plug-in chain is not at its head (False at once when none exists)."""
    chains = plugin_chains()
    if not chains:
        return False
    with engine.connect() as conn:
        return any(chain_state(conn, c) != _revisions(c)[0] for c in chains)


def _stderr(msg: str) -> None:
    print(f"notice: {msg}", file=sys.stderr)


def schema_state(conn: Connection) -> str:
    """``empty``, ``legacy`` or the revision stored in ``alembic_version``."""
    names = set(inspect(conn).get_table_names())
    if "alembic_version" in names:
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(rows) == 1:
            return str(rows[0])
        if not rows:
            return "legacy" if "snapshot" in names else "empty"
        raise StoreError(f"the database has {len(rows)} schema revisions ({', '.join(rows)}); expected one")
    return "legacy" if "snapshot" in names else "empty"


def current(engine: Engine) -> str:
    with engine.connect() as conn:
        return schema_state(conn)


@contextlib.contextmanager
def _lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                conn.commit()
        return
    db = engine.url.database
    if engine.dialect.name != "sqlite" or not db or db == ":memory:":
        yield
        return
    import fcntl

    lock_path = Path(db).expanduser().with_name(Path(db).name + ".lock")
    try:
        fh = open(lock_path, "a+")
    except OSError as err:
        raise StoreError(f"cannot lock {lock_path} for a schema change: {err.strerror}") from None
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def upgrade(engine: Engine, where: str, notice: Notice | None = _stderr, target: str = "head") -> tuple[str, str]:
    """Bring the schema to ``target`` (default: HEAD and every registered plug-in chain at its head; a
    named core revision leaves the plug-in chains alone). Returns (state before, state after), as
    :func:`describe` spells them."""
    chains = plugin_chains() if target == "head" else ()
    with _lock(engine):
        with engine.connect() as conn:
            before = schema_state(conn)
            fresh = before in ("empty", "legacy")
            pbefore = {c.key: ("empty" if fresh else chain_state(conn, c)) for c in chains}
        if before not in ("empty", "legacy") + KNOWN:
            raise StoreError(f"database {where} has schema revision {before!r}, newer than this defi-perps knows "
                             f"(up to {HEAD}); upgrade defi-perps to use it")
        pheads: dict[str, str] = {}
        for c in chains:
            pheads[c.key], known = _revisions(c)
            if pbefore[c.key] != "empty" and pbefore[c.key] not in known:
                raise StoreError(f"database {where} has {c.name} schema revision {pbefore[c.key]!r}, which this "
                                 f"{c.name} plug-in does not know (up to {pheads[c.key]}); upgrade the plug-in to use it")
        want = HEAD if target == "head" else target
        todo = [c for c in chains if pbefore[c.key] != pheads[c.key]]
        was, now = describe(before, pbefore), describe(want, pheads)
        if before == want and not todo:
            return was, was
        from alembic import command

        cfg = _config(None)
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # table rebuilds (batch mode) drop and rename tables that others reference
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            with conn.begin():                   # every chain in one transaction: all or nothing
                if before != want:
                    cfg.attributes["connection"] = conn
                    if before == "legacy":
                        command.stamp(cfg, BASELINE)
                    command.upgrade(cfg, target)
                for c in todo:
                    pcfg = _config(c)
                    pcfg.attributes["connection"] = conn
                    command.upgrade(pcfg, "head")
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
        if notice is not None and before != "empty":
            told = "the defi-perps 0.1.0 schema" if before == "legacy" else f"schema revision {was}"
            notice(f"upgraded database {where} from {told} to revision {now}")
        return was, now
