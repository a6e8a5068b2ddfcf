"""Record the RPC fixtures of ``tests/fixtures/rpc/<key>/`` from a fresh devnet.

``python -m defi_perps.devnet.fixtures gmx-v2 gmx-v1 [--out tests/fixtures/rpc] [--positions 24]``
starts a small devnet with those protocols, indexes each one through a recording client
(rpc/replay.py) at the seeded block, with the CLI's default batching (so ``index … --replay DIR``
answers with default options), and writes, per protocol:

* ``web3_response.<method>_<digest>.json``: every request the reader made and the node's exact answer;
* ``chain.toml``: the instance's chain file (its ``rpc_url`` is never contacted on replay);
* ``expected.json``: the snapshot the reader produced, exact ints as decimal strings
  (:func:`snapshot_json`), plus its block number and hash.

``tests/protocols/test_recorded_fixtures.py`` replays every folder and compares with ``expected.json``.
Re-record after an intended change of a reader's calls or decoding, and review the diff.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any


BATCH, PARALLEL = 500, 4      # the CLI's defaults (commands/index.py)


def plain(x: Any) -> Any:
    """A record as JSON: dataclasses to dicts, tuples to lists, ints (not bools) to decimal strings."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return str(x)
    return str(x)


def snapshot_json(snap: Any) -> dict[str, Any]:
    """The golden form of a snapshot: every field but the store id."""
    out = plain(snap)
    out["meta"].pop("id", None)
    return out  # type: ignore[no-any-return]


def record(protocols: list[str], out: Path, positions: int = 24, seed: int = 11) -> list[Path]:
    from defi_perps.config import load_chain_file
    from defi_perps.devnet import start_devnet
    from defi_perps.indexer.job import index_protocol
    from defi_perps.protocols import registry
    from defi_perps.rpc.replay import recording_client

    written = []
    with tempfile.TemporaryDirectory(prefix="defi-perps-fixtures-") as tmp:
        h = start_devnet(positions=positions, accounts=max(4, positions // 3), seed=seed,
                         markets=["ETH", "BTC/USD [WBTC-USDC]"], state_dir=Path(tmp) / "devnet",
                         protocols=protocols)
        try:
            chain = load_chain_file(h.chain_file)
            for name in protocols:
                plugin = registry.get(name)
                folder = out / plugin.key
                if folder.exists():
                    shutil.rmtree(folder)
                client = recording_client(h.rpc_url, folder)
                try:
                    rep, snap = index_protocol(name, chain, h.rpc_url, None, store=False, client=client,
                                               batch_size=BATCH, parallel=PARALLEL)
                finally:
                    client.close()
                text = h.chain_file.read_text()
                (folder / "chain.toml").write_text(text)
                (folder / "expected.json").write_text(json.dumps(
                    {"protocol": name, "block_number": rep.block_number, "block_hash": rep.block_hash,
                     "batch_size": BATCH, "parallel": PARALLEL, "snapshot": snapshot_json(snap)}, indent=1, sort_keys=True)
                    + "\n")
                written.append(folder)
        finally:
            h.stop()
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("protocols", nargs="+")
    ap.add_argument("--out", default="tests/fixtures/rpc")
    ap.add_argument("--positions", type=int, default=24)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    for f in record(a.protocols, Path(a.out), a.positions, a.seed):
        print(f"recorded {f} ({len(list(f.glob('web3_response.*.json')))} requests)")


if __name__ == "__main__":
    main()
