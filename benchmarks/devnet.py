"""Benchmark: start a devnet and seed the default book (20,000 positions, 5,000 accounts); print
ONE JSON line with the time for each phase.

    python benchmarks/devnet.py [--positions N] [--accounts N] [--seed S]

Target (issue 2, devnet): seeding 20,000 positions well under a minute on the 2-core CI machine.
Phases: anvil start, contract deployment, book generation + position writes (timed through the
progress callback), parameters. The check at the end reads the on-chain position count back.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from defi_perps.devnet import start_devnet  # noqa: E402
from defi_perps.devnet.deploy import POSITIONS_PER_TX  # noqa: E402
from defi_perps.protocols.gmx_v2 import keys as K  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=20_000)
    ap.add_argument("--accounts", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    marks: list[float] = []
    written = [0]

    def progress(n: int) -> None:
        written[0] += n
        marks.append(time.perf_counter())

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        h = start_devnet(positions=a.positions, accounts=a.accounts, seed=a.seed, state_dir=d, progress=progress)
        total = time.perf_counter() - t0
        try:
            on_chain = h.contract("DataStore").functions.getBytes32Count(K.POSITION_LIST).call()
            blocks = h.block_number()
        finally:
            h.stop()
    n_tx = len(marks)
    writes = (marks[-1] - marks[0]) * n_tx / max(1, n_tx - 1) if n_tx > 1 else None
    print(json.dumps({
        "benchmark": "devnet_seed",
        "positions": a.positions,
        "accounts": len({p.account for p in h.book.positions}),
        "markets": len(h.book.markets),
        "positions_on_chain": on_chain,
        "total_seconds": round(total, 2),
        "position_write_seconds_est": round(writes, 2) if writes is not None else None,
        "positions_per_second_total": round(a.positions / total, 1),
        "position_transactions": n_tx,
        "positions_per_transaction": POSITIONS_PER_TX,
        "blocks": blocks,
        "target_seconds": 60,
        "target_met": total < 60 and on_chain == a.positions,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
