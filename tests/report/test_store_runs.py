"""The run table (defi_perps/store/runs.py) on SQLite and, when DEFI_PERPS_TEST_PG is set, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from defi_perps.exceptions import StoreError
from defi_perps.runs.record import canonical, digest
from defi_perps.store.runs import delete_runs, get_run, list_runs, save_run, update_run


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
        return
    url = os.environ.get("DEFI_PERPS_TEST_PG")
    if not url:
        pytest.skip("DEFI_PERPS_TEST_PG not set (scripts/pg.sh starts a throwaway PostgreSQL)")
    yield url


def _save(db: str, **kw: object) -> int:
    args = dict(kind="simulate", request={"argv": ["simulate", "--synthetic", "10"]}, venues={"gmx-v2": {"sources": {}}},
                scenario={}, aggregates={"x": 1.5}, result_digest="ab" * 32, seed=2**62, threads=2,
                code_version="0.1.0", code_digest="cd" * 32,
                snapshot={"snapshot_id": 3, "chain_id": 42161, "block_number": 2**40, "block_hash": "0x" + "11" * 32})
    args.update(kw)
    return save_run(db, **args)  # type: ignore[arg-type]


def test_runs_round_trip_with_parents(db: str) -> None:
    parent = _save(db, kind="audit", label="audit")
    kids = [_save(db, parent_id=parent, label=f"child {i}") for i in range(3)]
    got = get_run(db, kids[0])
    assert got.parent_id == parent and got.seed == 2**62 and got.block_number == 2**40 and got.chain_id == 42161
    assert got.request["argv"][0] == "simulate" and got.aggregates == {"x": 1.5}
    mine = {r.id for r in list_runs(db, parent_id=parent)}
    assert mine == set(kids)
    update_run(db, parent, result_digest="ef" * 32, aggregates={"done": True}, elapsed_s=1.25)
    p = get_run(db, parent)
    assert p.result_digest == "ef" * 32 and p.aggregates == {"done": True} and p.elapsed_s == 1.25
    delete_runs(db, [*kids, parent])
    with pytest.raises(StoreError, match=f"no run with id {parent}"):
        get_run(db, parent)
    assert not list_runs(db, parent_id=parent)


def test_bad_ids_are_one_line_errors(db: str) -> None:
    with pytest.raises(StoreError, match="run id must be a number"):
        get_run(db, "x1")
    with pytest.raises(StoreError, match="no run with id 999999"):
        get_run(db, 999999)


def test_digest_is_bit_exact_and_nan_safe() -> None:
    a = {"v": [0.1 + 0.2, float("nan"), 1e-300], "scenario": {"origin": "/tmp/a.toml", "name": "x"}}
    b = {"v": [0.30000000000000004, float("nan"), 1e-300], "scenario": {"origin": "/elsewhere.toml", "name": "x"}}
    assert digest(a) == digest(b)                       # same bits; where the scenario file lay is not a result
    assert digest(a) != digest({**a, "v": [0.3, float("nan"), 1e-300]})    # one ulp differs
    assert canonical(a)["v"][1] == "nan"
