"""`defi-perps devnet up|status|down` in a subprocess, on a free port, in a private home."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from defi_perps.config import load_chain_file

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.anvil


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEFI_PERPS_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "defi_perps", "devnet", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_devnet_cli_up_status_down(devnet_factory, tmp_path: Path) -> None:
    del devnet_factory  # only for its anvil-missing skip
    from defi_perps.devnet.anvil import free_port

    port = str(free_port())
    home = tmp_path / "home"
    try:
        r = _cli(home, "up", "--port", port, "--positions", "60", "--accounts", "15", "--seed", "5", "--json")
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["running"] is True and info["rpc_url"] == f"http://127.0.0.1:{port}"
        assert set(info["addresses"]) >= {"data_store", "reader", "multicall3", "tokens", "feeds", "markets"}
        cfg = load_chain_file(info["chain_file"])
        assert cfg.gmx_v2.data_store == info["addresses"]["data_store"]
        assert cfg.resolve_rpc_url() == info["rpc_url"]
        assert Path(info["chain_file"]).parent == home / "devnet"

        s = _cli(home, "status", "--json")
        st = json.loads(s.stdout)
        assert st["running"] and st["positions_on_chain"] == 60 and st["markets_on_chain"] == len(info["markets"])

        again = _cli(home, "up", "--port", port, "--positions", "60", "--accounts", "15", "--seed", "5")
        assert again.returncode == 0 and "reusing" in again.stderr
        other = _cli(home, "up", "--port", port, "--positions", "61")
        assert other.returncode == 1 and other.stderr.startswith("Error: a devnet is already running")
        assert "Traceback" not in other.stderr and len(other.stderr.strip().splitlines()) == 1

        text = _cli(home, "status")
        assert "60 positions" in text.stdout

        # the Python API attaches to the CLI's devnet through its state directory
        from defi_perps.devnet import attach_devnet

        h = attach_devnet(home / "devnet")
        assert h.rpc_url == info["rpc_url"] and len(h.book.positions) == 60
        assert h.block_number() >= h.book.block_number == info["seeded_block"]
    finally:
        d = _cli(home, "down", "--json")
    assert d.returncode == 0 and json.loads(d.stdout)["stopped"] is True
    assert json.loads(_cli(home, "status", "--json").stdout) == {"running": False}
    assert "no devnet running" in _cli(home, "down").stdout


def test_devnet_up_on_busy_port_is_one_line_error(devnet_factory, tmp_path: Path) -> None:
    del devnet_factory
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = _cli(tmp_path, "up", "--port", str(port), "--positions", "5")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"Error: port {port} is already in use; pass another --port or stop what listens there"]


def test_devnet_up_with_too_few_accounts_is_one_line_error(tmp_path: Path) -> None:
    r = _cli(tmp_path, "up", "--port", "1", "--positions", "1000", "--accounts", "2")
    assert r.returncode == 1
    assert r.stderr.startswith("Error: 1000 positions do not fit 2 accounts") and len(r.stderr.splitlines()) == 1
