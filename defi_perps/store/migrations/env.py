"""Alembic environment: runs on the connection ``defi_perps.store.migrate`` hands over (under its lock),
for the core chain (``versions/``, ``alembic_version``) and for each plug-in's own chain (its
``migrations`` package, its ``alembic_version_<key>``), as ``migrate._config`` sets them."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from defi_perps.store.migrate import load_all_tables

load_all_tables()   # every table module registers its tables on SQLModel.metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  version_table=context.config.attributes.get("version_table", "alembic_version"),
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
