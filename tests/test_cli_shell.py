"""The CLI shell: help, unknown commands, and one-line errors for bad configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from defi_perps.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_commands() -> None:
    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0
    for name in ("devnet", "index", "snapshots", "simulate", "compare", "adl"):
        assert name in r.output


def test_unknown_command_suggests() -> None:
    r = CliRunner().invoke(main, ["indx"])
    assert r.exit_code == 2
    assert "Did you mean 'index'" in r.output


def test_root_launcher_runs() -> None:
    r = subprocess.run([sys.executable, "cli.py", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "defi-perps" in r.stdout


def test_bad_chain_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nchain_id = 1\n[gmx_v2]\ndata_store = "0x1234"\nreader = "0x1234"\n')
    r = subprocess.run([sys.executable, "cli.py", "index", "gmx-v2", "--chain-file", str(bad)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error:") and "0x1234" in err[0], r.stderr
