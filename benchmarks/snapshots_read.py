"""Benchmark: how long the read-only snapshot commands take on a stored devnet book; print ONE JSON line.

    python benchmarks/snapshots_read.py [--positions N] [--seed S]

Target (issue 8 §8): ``snapshots list`` and ``snapshots show`` answer in under a second for the
default 20,000-position book (they took 8 s and 15 s when they imported web3 and built ORM objects).
``show`` computes the summary once per snapshot and caches it (``index`` from the CLI stores it at
once; this benchmark indexes through the API, so its first ``show`` computes): ``show_first_*`` is
that first run, ``show_*`` the best later one.
Each command runs as a fresh process, as a user runs it: the figures include interpreter start-up and
imports. CPU seconds are the child's user+sys time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from defi_perps.config import load_chain_file  # noqa: E402
from defi_perps.devnet import start_devnet  # noqa: E402
from defi_perps.indexer.gmx_v2 import index_gmx_v2  # noqa: E402


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--positions", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        h = start_devnet(positions=a.positions, seed=a.seed, port=None, state_dir=Path(d) / "devnet")
        try:
            db = f"sqlite:///{Path(d) / 'bench.db'}"
            rep, _ = index_gmx_v2(load_chain_file(h.chain_file), h.rpc_url, h.book.block_number, db)
        finally:
            h.stop()
        env = {**os.environ, "DEFI_PERPS_HOME": d}
        out: dict[str, object] = {"benchmark": "snapshots_read", "positions": rep.positions, "markets": rep.markets}
        for name, args in (("list", ["snapshots", "list", "--db", db]),
                           ("show", ["snapshots", "show", "latest", "--db", db, "--json"])):
            runs = [_timed(args, env) for _ in range(a.repeat + (name == "show"))]
            if name == "show":
                out["show_first_wall_s"], out["show_first_cpu_s"] = (round(x, 3) for x in runs.pop(0))
            best = min(runs)
            out[f"{name}_wall_s"] = round(best[0], 3)
            out[f"{name}_cpu_s"] = round(best[1], 3)
        out["target_s"] = 1.0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
