"""`defi-perps devnet up --protocols gmx-v2,gmx-v1` in a subprocess (a private home, a free port), then
`defi-perps index gmx-v1 --chain devnet` against it through the bundled chain file (its addresses are
deterministic; the RPC URL comes from $DEFI_PERPS_DEVNET_RPC_URL), then `devnet down`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "DEFI_PERPS_HOME": str(home), "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "defi_perps", *args], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=300)


def test_devnet_up_with_gmx_v1_then_index_through_the_bundled_chain(tmp_path: Path) -> None:
    from defi_perps.devnet.anvil import find_anvil, free_port
    from defi_perps.exceptions import DevnetError

    try:
        find_anvil()
    except DevnetError as err:
        pytest.skip(f"devnet unavailable: {err}")
    port = str(free_port())
    home = tmp_path / "home"
    try:
        r = _cli(home, "devnet", "up", "--port", port, "--positions", "120", "--accounts", "40",
                 "--protocols", "gmx-v2,gmx-v1", "--json")
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["protocols"] == ["gmx-v2", "gmx-v1"] and info["parts"]["gmx_v1"]["positions"] >= 12
        text = _cli(home, "devnet", "up", "--port", port, "--positions", "120", "--accounts", "40",
                    "--protocols", "gmx-v2,gmx-v1")
        assert text.returncode == 0 and "reusing" in text.stderr
        env = {"DEFI_PERPS_DEVNET_RPC_URL": f"http://127.0.0.1:{port}"}
        db = f"sqlite:///{tmp_path / 'd.db'}"
        r = _cli(home, "index", "gmx-v1", "--chain", "devnet", "--db", db, "--json", env=env)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["index"]["positions"] == info["parts"]["gmx_v1"]["positions"]
        r = _cli(home, "index", "gmx-v2", "--chain", "devnet", "--db", db, env=env)
        assert r.returncode == 0 and "stored snapshot" in r.stdout, r.stderr
        r = _cli(home, "snapshots", "list", "--db", db, "--json")
        assert sorted(s["protocol"] for s in json.loads(r.stdout)) == ["gmx_v1", "gmx_v2"]
    finally:
        _cli(home, "devnet", "down")
