"""Bulk writes (issue 13 §4): PostgreSQL takes large tables by COPY inside the snapshot's transaction;
what comes back is exactly what went in (extreme uint256/int256 values included), and a failure
before commit still leaves nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from store_factory import make_snapshot

from defi_perps.exceptions import StoreError
from defi_perps.store import load_snapshot
from defi_perps.store.db import get_engine
from defi_perps.store.writer import COPY_MIN_ROWS, save_snapshot


def test_large_snapshot_round_trips_exactly(db_url: str, block: int) -> None:
    snap = make_snapshot(block, n_positions=COPY_MIN_ROWS * 3 + 7)
    res = save_snapshot(db_url, snap)
    back = load_snapshot(db_url, res.snapshot_id)
    assert back.positions == snap.positions and back.markets == snap.markets and back.globals == snap.globals
    assert save_snapshot(db_url, snap).created is False


def test_copy_failure_leaves_nothing(db_url: str, block: int) -> None:
    snap = make_snapshot(block, n_positions=COPY_MIN_ROWS + 1)

    def boom(_session) -> None:  # type: ignore[no-untyped-def]
        raise StoreError("injected failure after the bulk insert")

    with pytest.raises(StoreError):
        save_snapshot(db_url, snap, _before_commit=boom)
    with get_engine(db_url).connect() as c:
        n = c.execute(text("SELECT count(*) FROM snapshot_position WHERE block_number = :b"), {"b": block}).scalar()
        s = c.execute(text("SELECT count(*) FROM snapshot WHERE block_number = :b"), {"b": block}).scalar()
    assert n == 0 and s == 0


def test_out_of_range_int_refused_on_the_copy_path(db_url: str, block: int) -> None:
    import dataclasses

    snap = make_snapshot(block, n_positions=COPY_MIN_ROWS + 1)
    bad = dataclasses.replace(snap.positions[0], size_in_usd=2**256)
    snap = dataclasses.replace(snap, positions=(bad, *snap.positions[1:]))
    with pytest.raises((StoreError, ValueError)):
        save_snapshot(db_url, snap)
