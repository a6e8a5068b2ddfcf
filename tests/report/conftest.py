"""One audit of the session devnet, shared by the report tests (it is the expensive part).

``audited``: the devnet (1,500 positions, seed 7) indexed into a private SQLite store and audited
through the CLI with a small run (one scenario, three venues, 24 paths), as a user would run it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from defi_perps.cli import main

AUDIT_ARGS = ["--scenarios", "oct-10-2025", "--venues", "gmx-v2,hyperliquid,binance", "--paths", "24", "--seed", "5"]


@dataclass
class Audited:
    db: str
    out: Path
    summary: dict[str, Any]
    chain_file: Path
    block: int


@pytest.fixture(scope="session")
def audited(devnet, tmp_path_factory: pytest.TempPathFactory) -> Audited:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("audit")
    db = f"sqlite:///{root / 'store.db'}"
    out = root / "report"
    args = ["audit", "gmx-v2", "--chain-file", str(devnet.chain_file), "--block", str(devnet.book.block_number),
            "--db", db, "--out", str(out), *AUDIT_ARGS]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert f"report: {out / 'report.html'}" in r.output
    assert r.stderr == ""          # no progress bar, no chatter when stderr is not a terminal
    summary = json.loads((out / "summary.json").read_text())
    return Audited(db, out, summary, Path(devnet.chain_file), devnet.book.block_number)
