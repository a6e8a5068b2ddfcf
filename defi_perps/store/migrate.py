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
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from defi_perps.exceptions import StoreError

BASELINE = "0001"            # the schema of defi-perps 0.1.0 (main at 7dc81a5)
HEAD = "0009"                # the newest revision in migrations/versions (a test keeps them equal)
KNOWN = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009")
PG_LOCK_KEY = 7_339_450_010   # pg_advisory_lock key of defi-perps schema changes
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

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
    """Bring the schema to ``target`` (default: HEAD). Returns (state before, state after)."""
    with _lock(engine):
        with engine.connect() as conn:
            before = schema_state(conn)
        if before not in ("empty", "legacy") + KNOWN:
            raise StoreError(f"database {where} has schema revision {before!r}, newer than this defi-perps knows "
                             f"(up to {HEAD}); upgrade defi-perps to use it")
        want = HEAD if target == "head" else target
        if before == want:
            return before, before
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # table rebuilds (batch mode) drop and rename tables that others reference
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            with conn.begin():
                cfg.attributes["connection"] = conn
                if before == "legacy":
                    command.stamp(cfg, BASELINE)
                command.upgrade(cfg, target)
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
        if notice is not None and before != "empty":
            was = "the defi-perps 0.1.0 schema" if before == "legacy" else f"schema revision {before}"
            notice(f"upgraded database {where} from {was} to revision {want}")
        return before, want
