"""Open a database by URL: one-line StoreError for bad URLs, missing folders and unreachable servers;
the schema created or upgraded through the migrations (migrate.py) on first use.

``create=False`` is for read-only commands: they never create a database (a missing SQLite file, or
one without tables, is NoDatabase), though they do upgrade an older schema in place, with a notice.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from defi_perps.exceptions import SnapshotNotFound, StoreError
from defi_perps.paths import default_db_url


class NoDatabase(SnapshotNotFound):
    """A read-only command was pointed at a database that does not exist (nothing was created)."""


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


def _sqlite_file(url: str, database: str, create: bool) -> None:
    path = Path(database).expanduser()
    parent = path.parent
    if path.is_dir():
        raise StoreError(f"database path {path} is a folder; give a file, e.g. sqlite:///{path / 'defi-perps.db'}")
    if not parent.is_dir():
        raise StoreError(f"folder {parent} for database {safe_url(url)} does not exist; create it first")
    if not path.exists():
        if not create:
            raise NoDatabase(f"no snapshots stored yet: no database at {path} "
                             f"(run `defi-perps index gmx-v2 …`; read-only commands create none)")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"cannot create database {path}: folder {parent} is not writable")


@lru_cache(maxsize=16)
def get_engine(db_url: str | None = None, create: bool = True) -> Engine:
    """An engine for ``db_url`` (default: $DEFI_PERPS_DB or the SQLite file) with the schema at HEAD."""
    url = db_url or default_db_url()
    engine = _engine(url, create)
    try:
        from defi_perps.store import migrate

        state = migrate.current(engine)
        if state == "empty" and not create:
            engine.dispose()
            raise NoDatabase(f"no snapshots stored yet in {safe_url(url)} (run `defi-perps index gmx-v2 …`)")
        if state != migrate.HEAD or migrate.plugins_behind(engine):   # plug-ins' own chains too
            migrate.upgrade(engine, safe_url(url))
    except SQLAlchemyError as err:
        engine.dispose()
        raise StoreError(f"cannot open database {safe_url(url)}: {_first_line(err)}") from None
    except OSError as err:
        engine.dispose()
        raise StoreError(f"cannot open database {safe_url(url)}: {err}") from None
    except StoreError:
        engine.dispose()
        raise
    return engine


def check_database(db_url: str | None = None) -> bool:
    """Validate ``db_url`` for a command that will write to it, creating nothing yet: True when it already
    holds a defi-perps schema (opened, and upgraded in place if older), False when it is a database that
    can be created (a new SQLite file in a writable folder, an empty PostgreSQL database). A bad URL, a
    missing folder or an unreachable server is a one-line StoreError. ``index`` calls this before any
    RPC, so a node that does not answer leaves no new, empty database behind."""
    try:
        get_engine(db_url, create=False)
        return True
    except NoDatabase:
        _engine(db_url or default_db_url(), create=True).dispose()   # the path checks only; connects nothing
        return False


def schema_status(db_url: str | None = None) -> dict[str, str]:
    """Where a database stands, changing nothing: {"database", "state", "head"}."""
    from defi_perps.store import migrate

    url = db_url or default_db_url()
    engine = _engine(url, create=False)
    try:
        return {"database": safe_url(url), "state": migrate.state(engine), "head": migrate.head()}
    except SQLAlchemyError as err:
        raise StoreError(f"cannot open database {safe_url(url)}: {_first_line(err)}") from None
    finally:
        engine.dispose()


def upgrade_database(db_url: str | None = None) -> dict[str, str]:
    """``defi-perps db upgrade``: create or upgrade the schema to HEAD. {"database", "before", "after"}."""
    from defi_perps.store import migrate

    url = db_url or default_db_url()
    engine = _engine(url, create=True)
    try:
        before, after = migrate.upgrade(engine, safe_url(url), notice=None)
        return {"database": safe_url(url), "before": before, "after": after}
    except SQLAlchemyError as err:
        raise StoreError(f"cannot upgrade database {safe_url(url)}: {_first_line(err)}") from None
    finally:
        engine.dispose()
        get_engine.cache_clear()


def _engine(url: str, create: bool) -> Engine:
    try:
        u = make_url(url)
    except ArgumentError:
        raise StoreError("not a database URL (e.g. sqlite:///path.db or postgresql+psycopg://user@host/db): "
                         f"{safe_url(url) if '@' in url else repr(url[:80])}") from None
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {u.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://")
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        _sqlite_file(url, u.database, create)
    try:
        engine = create_engine(u, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as err:
        raise StoreError(f"cannot use database URL {safe_url(url)}: {err}") from None
    if u.get_backend_name() == "sqlite":
        @event.listens_for(engine, "connect")
        def _fk(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
            # Foreign keys on; a generous busy timeout so a concurrent reader doesn't fail a write.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    return engine


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
