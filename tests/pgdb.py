"""A throwaway PostgreSQL database for one test, on the server $DEFI_PERPS_TEST_PG names (scripts/pg.sh
starts one); the test is skipped without it. Dropped afterwards, connections and all."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    base = os.environ.get("DEFI_PERPS_TEST_PG")
    if not base:
        pytest.skip("DEFI_PERPS_TEST_PG not set (scripts/pg.sh starts a throwaway PostgreSQL)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
