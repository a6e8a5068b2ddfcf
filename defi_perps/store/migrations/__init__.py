"""Alembic migrations of the store's schema (the whole SQLModel metadata, every table).

``versions/NNNN_*.py`` are applied in order by ``defi_perps.store.migrate`` (``defi-perps db upgrade``,
and automatically when a command opens an older database). To change the schema: edit the models,
add the next ``versions/NNNN_<what>.py`` (``revision`` = "NNNN", ``down_revision`` = the previous one)
with the ``op.*`` calls that take a database from the previous schema to the new one, and bump
``migrate.HEAD``; tests/store/test_migrations.py checks that the migrated schema equals the models.
"""
