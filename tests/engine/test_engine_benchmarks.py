"""benchmarks/engine.py and benchmarks/engine_profile.py run end to end on tiny cases and print the
JSON keys the issue names (the speed figures themselves are measured, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, tmp_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEFI_PERPS_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True,
                       env=env, timeout=900, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_engine_benchmark_quick_prints_every_target_key(tmp_path: Path) -> None:
    out = _run("engine.py", "--quick", "--repeat", "1", tmp_path=tmp_path)
    venues = {"generic", "hyperliquid", "binance", "gmx-v2"}
    for key in ("case_a_cpu_seconds", "case_a_wall_seconds", "physical_limit_cpu_seconds",
                "case_a_ratio_to_physical_limit"):
        assert set(out[key]) == venues, key
    assert out["target_ratio_to_physical_limit"] == 5.0
    assert out["compare_wall_seconds"] > 0 and out["speedup_vs_numpy_equal_threads"] > 0
    assert out["process_bytes_per_position"] > 0
    assert out["numpy_case"]["agreement"]["liq_count_equal"]


def test_engine_profile_reports_the_ratio_to_the_limit(tmp_path: Path) -> None:
    out = _run("engine_profile.py", "--venue", "hyperliquid", "--paths", "4", "--steps", "60", "--positions", "3000",
               "--limit", tmp_path=tmp_path)
    assert out["venue"] == "hyperliquid" and len(out["limit_cpu_seconds_runs"]) == 1
    assert out["ratio_to_physical_limit"] is None or out["ratio_to_physical_limit"] > 0
    assert len(out["digest"]) == 12
