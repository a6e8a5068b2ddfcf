"""The Python API on a stored devnet snapshot, and the example script (examples/api_quickstart.py).

Here rather than in tests/api/ so it shares the session's audited devnet (tests/report/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from defi_perps import api

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.anvil
def test_snapshot_api_and_the_example_script(audited, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    snap = api.load_snapshot("latest", db=audited.db)
    assert snap.provenance["block_number"] == audited.block
    df = snap.to_pandas()
    assert len(df) == audited.summary["snapshot"]["markets"] and "pnl_to_pool_short" in df
    pos = snap.positions()
    assert len(pos) == audited.summary["snapshot"]["positions"] and isinstance(pos["size_in_usd"][0], int)
    book = api.book_from_snapshot(snap)
    assert book.n_positions > 0 and book.block_number == audited.block
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "api_quickstart.py"), "--db", audited.db,
                        "--paths", "12", "--out", str(tmp_path)], check=False, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "gmx-v2 under oct-10-2025" in r.stdout and "hyperliquid" in r.stdout
    assert (tmp_path / "fan_chart.png").stat().st_size > 10_000 and (tmp_path / "who_pays.png").is_file()
    assert "best attack on" in r.stdout and (tmp_path / "attack.png").is_file()


@pytest.mark.anvil
def test_audit_from_python(audited, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rep = api.audit(snapshot=audited.summary["snapshot"]["snapshot_id"], db=audited.db, out=tmp_path / "r",
                    scenarios=["oct-10-2025"], venues=["gmx-v2"], paths=8)
    assert rep.path.is_file() and rep.run_id
    assert not rep.to_pandas().empty and {"key", "meaning", "run_ids"} <= set(rep.to_pandas().columns)
    assert "stress_grid" in rep.tables
    fig = rep.plot("oi_liquidated_vs_move")
    assert fig.axes
    with pytest.raises(Exception, match="no figure"):
        rep.plot("nope")
