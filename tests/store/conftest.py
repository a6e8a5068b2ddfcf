from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = os.environ.get("DEFI_PERPS_TEST_PG")
    if not url:
        pytest.skip("DEFI_PERPS_TEST_PG not set (scripts/pg.sh starts a throwaway PostgreSQL)")
    yield url


@pytest.fixture
def block() -> int:
    """A block number no other test uses, so tests can share one PostgreSQL database."""
    return random.randrange(10**9, 10**12)
