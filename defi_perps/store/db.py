"""Open a database by URL: one-line StoreError for bad URLs and unreachable servers; tables created on first use."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import SQLModel, create_engine

from defi_perps.exceptions import StoreError
from defi_perps.paths import default_db_url


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


@lru_cache(maxsize=8)
def get_engine(db_url: str | None = None) -> Engine:
    """An engine for ``db_url`` (default: $DEFI_PERPS_DB or the SQLite file) with the snapshot tables created."""
    url = db_url or default_db_url()
    try:
        u = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url!r} (e.g. sqlite:///path.db or postgresql+psycopg://user@host/db)") from None
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"unsupported database {u.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://")
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        parent = Path(u.database).expanduser().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the folder for {safe_url(url)}: {err.strerror}") from None
    try:
        engine = create_engine(u, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as err:
        raise StoreError(f"cannot use database URL {safe_url(url)}: {err}") from None
    if u.get_backend_name() == "sqlite":
        @event.listens_for(engine, "connect")
        def _fk(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
            # Foreign keys on; a generous busy timeout so a concurrent reader doesn't fail a write.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    try:
        from defi_perps.store import models  # noqa: F401  (registers the tables)

        SQLModel.metadata.create_all(engine, tables=[t.__table__ for t in models.SNAPSHOT_TABLES])  # type: ignore[attr-defined]
    except SQLAlchemyError as err:
        engine.dispose()
        raise StoreError(f"cannot open database {safe_url(url)}: {_first_line(err)}") from None
    return engine


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
