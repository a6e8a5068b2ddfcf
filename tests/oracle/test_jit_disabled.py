"""With DEFI_PERPS_DISABLE_JIT=1 every stage runs its plain-Python form (and the engine its twin):
the incident replays give the same figures as the kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from defi_perps.runs.attack import run_incident
from defi_perps.scenarios.incidents import load_incident

ROOT = Path(__file__).resolve().parents[2]
CASES = ("gmx-v1-avax-2022", "popcat-2025", "jelly-2025")
CODE = ("import json, sys; from defi_perps.runs.attack import run_incident;"
        "from defi_perps.scenarios.incidents import load_incident;"
        "out = {n: run_incident(load_incident(n)) for n in sys.argv[1:]};"
        "print(json.dumps({n: [r['attacker_net_usd'], r['paid_by'], r['liquidated_notional_usd'], "
        "r['details'].get('cascade_engine')] for n, r in out.items()}))")


def test_replays_agree_without_jit() -> None:
    env = {**os.environ, "DEFI_PERPS_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", CODE, *CASES], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    plain = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in CASES:
        r = run_incident(load_incident(name))
        net, paid, liq, engine = plain[name]
        assert engine == "reference" and r["details"]["cascade_engine"] == "numba"
        assert net == pytest.approx(r["attacker_net_usd"], rel=1e-9, abs=1e-6)
        assert liq == pytest.approx(r["liquidated_notional_usd"], rel=1e-9, abs=1e-6)
        for k, v in r["paid_by"].items():
            assert paid[k] == pytest.approx(v, rel=1e-9, abs=1e-6), (name, k)
