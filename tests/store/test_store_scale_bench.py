"""benchmarks/store_scale.py runs end to end on a tiny case and leaves no database behind (PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_store_scale_benchmark_smoke(tmp_path: Path) -> None:
    url = os.environ.get("DEFI_PERPS_TEST_PG")
    if not url:
        pytest.skip("DEFI_PERPS_TEST_PG not set (scripts/pg.sh starts a throwaway PostgreSQL)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEFI_PERPS_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "store_scale.py"), "--pg", url, "--snapshots", "4",
                        "--positions", "300", "--writes", "1"], capture_output=True, text=True, env=env, timeout=600,
                       check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["rows"] == {"snapshot": 4, "snapshot_position": 1200}
    assert out["series_s"]["rows"] == 5 and out["snapshots_list_s"]["rows"] == 5      # + the timed write
    assert "using ix_snapshot_series" in out["plans"]["series_snapshots_seqscan_off"]
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.connect() as c:
        left = c.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": out["dropped"]}).scalar()
    eng.dispose()
    assert left == 0
