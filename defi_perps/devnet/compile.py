"""Compile the devnet's Solidity sources with the pinned solc from npm, reproducibly.

``python -m defi_perps.devnet.compile`` rewrites ``contracts/build/<Contract>.json`` (abi,
bytecode, deployedBytecode) from ``contracts/src/*.sol``. The compiler is ``solcjs`` from
``node_modules`` (``solc`` pinned in package.json) driven through standard-JSON input with every
setting that affects bytecode pinned here: optimizer on with fixed runs, an explicit EVM version,
and no metadata hash or CBOR trailer (so bytecode does not depend on file paths or comments'
whitespace elsewhere). ``tests/devnet/test_artifacts.py`` recompiles and compares byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from defi_perps.exceptions import DevnetError

SOLC_VERSION = "0.8.28"
# Settings that change bytecode. Changing any of them means re-running this module and committing
# the regenerated artifacts.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}
# Contracts we deploy (others in the sources are libraries/types only).
CONTRACTS = ("DataStore", "Reader", "ReaderV21", "Seeder", "PriceFeed", "Token", "Multicall3", "ReferralStorage",
             "GmxV1Vault", "GmxV1GlpManager", "HyperCoreState", "HyperCoreReadPrecompile", "DevPerpsMarketProxy",
             "DevPerpsAccountNft", "GTradeDiamond", "GTokenVault")


def repo_contracts_dir() -> Path:
    """``contracts/`` of the checkout (compiling is a development task; wheels ship the output)."""
    from defi_perps.resources import data_dir

    return data_dir("contracts")


def find_solcjs(start: Path | None = None) -> Path:
    """``$DEFI_PERPS_SOLCJS``, else ``node_modules/.bin/solcjs`` in the cwd or a parent, else PATH."""
    env = os.environ.get("DEFI_PERPS_SOLCJS")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents, Path(__file__).resolve().parents[2]):
        cand = d / "node_modules" / ".bin" / "solcjs"
        if cand.is_file():
            return cand
    found = shutil.which("solcjs")
    if found:
        return Path(found)
    raise DevnetError("solcjs not found: run `npm ci` in the repository root (package.json pins solc)")


def standard_input(src_dir: Path) -> dict[str, Any]:
    """The standard-JSON input: every ``*.sol`` under ``src_dir`` by file name, sorted."""
    sources = {p.name: {"content": p.read_text()} for p in sorted(src_dir.glob("*.sol"))}
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def compile_sources(src_dir: Path, solcjs: Path | None = None) -> dict[str, dict[str, Any]]:
    """Compile and return ``{contract: {"abi", "bytecode", "deployedBytecode", …}}``."""
    solc = solcjs or find_solcjs()
    payload = json.dumps(standard_input(src_dir))
    # solcjs (node) calls process.exit() right after writing; on a pipe that can cut the output
    # short, so it writes into a temporary file instead. Its input comes from a file too: solc.js
    # reads stdin with readFileSync(0), which fails with EAGAIN on a pipe that is momentarily empty.
    with tempfile.TemporaryFile(mode="w+") as sink, tempfile.TemporaryFile(mode="w+") as source:
        source.write(payload)
        source.flush()
        source.seek(0)
        proc = subprocess.run([str(solc), "--standard-json"], stdin=source, stdout=sink,
                              stderr=subprocess.PIPE, text=True, check=False)
        sink.seek(0)
        text = sink.read()
    if proc.returncode != 0:
        raise DevnetError(f"solcjs failed: {proc.stderr.strip()[:500]}")
    # solcjs may print warnings before the JSON on stdout; the JSON starts at the first brace.
    out = json.loads(text[text.index("{"):])
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise DevnetError("solc: " + "; ".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    artifacts: dict[str, dict[str, Any]] = {}
    for source, contracts in out["contracts"].items():
        for name, c in contracts.items():
            if name not in CONTRACTS:
                continue
            artifacts[name] = {
                "contractName": name,
                "sourceName": f"contracts/src/{source}",
                "compiler": {"name": "solc", "version": SOLC_VERSION, "settings": {
                    k: v for k, v in SETTINGS.items() if k != "outputSelection"}},
                "abi": c["abi"],
                "bytecode": "0x" + c["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
            }
    missing = set(CONTRACTS) - set(artifacts)
    if missing:
        raise DevnetError(f"solc produced no output for {sorted(missing)}")
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    """Canonical text of an artifact file (stable key order and indentation)."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(contracts_dir: Path | None = None) -> list[Path]:
    cdir = contracts_dir or repo_contracts_dir()
    arts = compile_sources(cdir / "src")
    build = cdir / "build"
    build.mkdir(parents=True, exist_ok=True)
    written = []
    for name, art in sorted(arts.items()):
        path = build / f"{name}.json"
        path.write_text(render(art))
        written.append(path)
    return written


def main() -> int:
    try:
        for p in write_artifacts():
            print(p)
    except DevnetError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
