"""Compile the devnet's Solidity sources with the pinned solc from npm, reproducibly.

``python -m defi_perps.devnet.compile`` rewrites ``contracts/build/<Contract>.json`` (abi,
bytecode, deployedBytecode) from ``contracts/src/``: the devnet core's own contracts in
``contracts/src/*.sol`` (:data:`CORE_CONTRACTS`) and each protocol plug-in's in
``contracts/src/<key>/*.sol`` (those it lists in ``devnet_contracts``, found through the protocol
registry; imports stay relative within a folder). No protocol is named here. The compiler is ``solcjs`` from
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
# The devnet core's contracts (contracts/src/*.sol): every plug-in may deploy them. A plug-in's own
# contracts are its ``devnet_contracts`` (protocols/base.py); the other contracts in the sources are
# libraries/types only.
CORE_CONTRACTS = ("Multicall3", "PriceFeed", "Token")


def owners() -> dict[str, str]:
    """Every contract with an artifact → the source folder it must come from: ``""`` for the devnet
    core's (``contracts/src/``), the plug-in's key for its own (``contracts/src/<key>/``)."""
    from defi_perps.protocols import registry
    from defi_perps.protocols.base import devnet_contracts_of

    out = dict.fromkeys(CORE_CONTRACTS, "")
    for n in registry.names():
        plugin = registry.get(n)
        for name in devnet_contracts_of(plugin):
            if name in out:
                raise DevnetError(f"devnet contract {name} is declared by {plugin.name} and by "
                                  f"{out[name] or 'the devnet core'}")
            out[name] = plugin.key
    return out


def contracts() -> tuple[str, ...]:
    """The contracts whose artifacts ``contracts/build/`` holds, sorted."""
    return tuple(sorted(owners()))


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


def source_files(src_dir: Path, folders: set[str]) -> list[Path]:
    """``src_dir/*.sol`` and ``src_dir/<folder>/*.sol`` for each plug-in folder, by source unit name.
    A folder no registered plug-in owns is refused (its contracts would silently go unbuilt)."""
    stray = sorted(d.name for d in src_dir.iterdir() if d.is_dir() and d.name not in folders)
    if stray:
        raise DevnetError(f"{src_dir}: folder(s) {', '.join(stray)} belong to no registered protocol plug-in")
    files = list(src_dir.glob("*.sol"))
    for f in sorted(folders):
        files += (src_dir / f).glob("*.sol")
    return sorted(files, key=lambda p: p.relative_to(src_dir).as_posix())


def standard_input(src_dir: Path, folders: set[str] | None = None) -> dict[str, Any]:
    """The standard-JSON input: the sources of :func:`source_files`, keyed by their path below
    ``src_dir`` (``Token.sol``, ``<key>/<Contract>.sol``), sorted."""
    if folders is None:
        folders = {k for k in owners().values() if k}
    sources = {p.relative_to(src_dir).as_posix(): {"content": p.read_text()} for p in source_files(src_dir, folders)}
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def compile_sources(src_dir: Path, solcjs: Path | None = None) -> dict[str, dict[str, Any]]:
    """Compile and return ``{contract: {"abi", "bytecode", "deployedBytecode", …}}``."""
    solc = solcjs or find_solcjs()
    wanted = owners()
    payload = json.dumps(standard_input(src_dir, {k for k in wanted.values() if k}))
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
    for source, units in out["contracts"].items():
        folder = source.rpartition("/")[0]
        for name, c in units.items():
            if name not in wanted:
                continue
            if folder != wanted[name]:
                raise DevnetError(f"devnet contract {name} is in contracts/src/{source}; its owner's folder is "
                                  f"contracts/src/{wanted[name] + '/' if wanted[name] else ''}")
            artifacts[name] = {
                "contractName": name,
                "sourceName": f"contracts/src/{source}",
                "compiler": {"name": "solc", "version": SOLC_VERSION, "settings": {
                    k: v for k, v in SETTINGS.items() if k != "outputSelection"}},
                "abi": c["abi"],
                "bytecode": "0x" + c["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
            }
    missing = set(wanted) - set(artifacts)
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
    for old in build.glob("*.json"):       # a contract no longer declared leaves no stale artifact
        if old.stem not in arts:
            old.unlink()
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
