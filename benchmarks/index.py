"""Benchmark: index the default devnet book (20,000 positions) with the real indexer (Multicall3
batches) and with a naive reader (one eth_call per position and per value); print ONE JSON line.

    python benchmarks/index.py [--positions N] [--batch-size B] [--seed S]

Targets (issue 2): >= 10x fewer RPC round trips and >= 5x faster than the naive reader, <= 60 s for
20,000 positions. Both readers read the same pinned block; the naive result is checked against the
indexer's, so the comparison is between two correct readers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from defi_perps.config import ChainConfig, load_chain_file  # noqa: E402
from defi_perps.devnet import start_devnet  # noqa: E402
from defi_perps.indexer.gmx_v2 import index_gmx_v2  # noqa: E402
from defi_perps.protocols.gmx_v2 import keys as K  # noqa: E402
from defi_perps.protocols.gmx_v2 import mappers as M  # noqa: E402
from defi_perps.protocols.gmx_v2.reader import collateral_tokens, market_value_calls  # noqa: E402
from defi_perps.rpc.abi import Function, contract_abi  # noqa: E402
from defi_perps.rpc.client import RpcClient  # noqa: E402


def naive_read(chain: ChainConfig, rpc_url: str, block: int) -> tuple[list[Any], int, float]:
    """The same reads as GmxV2Reader, but one eth_call per position and per DataStore value."""
    dep = chain.gmx_v2
    assert dep is not None
    c = RpcClient(rpc_url)
    ds, rd = contract_abi("gmx_v2", "DataStore"), contract_abi("gmx_v2", "Reader")
    erc20, feed = contract_abi("erc20", "ERC20"), contract_abi("chainlink", "AggregatorV3")
    t0 = time.perf_counter()

    def call(to: str, fn: Function, *args: Any) -> Any:
        out = c.eth_call(to, fn.encode(*args), block)
        try:
            v = fn.decode(out)
        except Exception:
            return None
        return v[0] if len(v) == 1 else v

    n_markets = call(dep.data_store, ds["getAddressCount"], K.MARKET_LIST)
    n_pos = call(dep.data_store, ds["getBytes32Count"], K.POSITION_LIST)
    for k in (K.MIN_COLLATERAL_USD, K.MIN_POSITION_SIZE_USD, K.LIQUIDATION_FEE_RECEIVER_FACTOR,
              K.BORROWING_FEE_RECEIVER_FACTOR):
        call(dep.data_store, ds["getUint"], k)
    markets = call(dep.reader, rd["getMarkets"], dep.data_store, 0, n_markets)
    tokens: set[str] = set()
    for mkt, idx, lt, st in markets:
        tokens |= {idx, lt, st}
        for _field, getter, key in market_value_calls(mkt, lt, st, idx):
            call(dep.data_store, ds[getter], key)
        for ct in collateral_tokens(lt, st):
            for is_long in (True, False):
                for fn in (K.open_interest_key, K.open_interest_in_tokens_key, K.collateral_sum_key):
                    call(dep.data_store, ds["getUint"], fn(mkt, ct, is_long))
    for t in tokens:
        call(t, erc20["symbol"]), call(t, erc20["decimals"])
        f = call(dep.data_store, ds["getAddress"], K.price_feed_key(t))
        call(dep.data_store, ds["getUint"], K.price_feed_multiplier_key(t))
        call(dep.data_store, ds["getBytes32"], K.virtual_token_id_key(t))
        if f and int(f, 16):
            call(f, feed["latestRoundData"]), call(f, feed["decimals"]), call(f, feed["description"])
    keys: list[bytes] = []
    for s in range(0, n_pos, 2000):
        keys += call(dep.data_store, ds["getBytes32ValuesAt"], K.POSITION_LIST, s, min(n_pos, s + 2000))
    positions = [M.position_from_props(k, call(dep.reader, rd["getPosition"], dep.data_store, k), dep.position_layout)
                 for k in keys]
    return positions, c.round_trips, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--parallel", type=int, default=4, help="multicall batches in flight (the naive reader: 1)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    h = start_devnet(positions=a.positions, seed=a.seed)
    setup_s = time.perf_counter() - t0
    try:
        chain = load_chain_file(h.chain_file)
        block = h.book.block_number
        with tempfile.TemporaryDirectory() as d:
            rep, snap = index_gmx_v2(chain, h.rpc_url, block, f"sqlite:///{os.path.join(d, 'bench.db')}",
                                     batch_size=a.batch_size, parallel=a.parallel)
        assert snap is not None
        naive_positions, naive_rt, naive_s = naive_read(chain, h.rpc_url, block)
        assert {p.key: p for p in naive_positions} == {p.key: p for p in snap.positions}, "readers disagree"
        assert len(snap.positions) == len(h.book.positions)
    finally:
        h.stop()
    n = len(snap.positions)
    out = {
        "benchmark": "index", "positions": n, "markets": len(snap.markets), "block": block,
        "devnet_setup_s": round(setup_s, 2),
        "indexer": {"seconds": round(rep.elapsed_s, 3), "read_s": round(rep.read_s, 3), "write_s": round(rep.write_s, 3),
                    "positions_per_s": round(n / rep.elapsed_s, 1), "round_trips": rep.round_trips,
                    "batch_size": rep.batch_size_final, "parallel": a.parallel},
        "naive": {"seconds": round(naive_s, 3), "positions_per_s": round(n / naive_s, 1), "round_trips": naive_rt},
        "ratios": {"round_trips": round(naive_rt / rep.round_trips, 1), "speed": round(naive_s / rep.elapsed_s, 2),
                   "speed_read_only": round(naive_s / rep.read_s, 2)},
    }
    out["targets_met"] = {"round_trips_10x": out["ratios"]["round_trips"] >= 10, "speed_5x": out["ratios"]["speed"] >= 5,
                          "under_60s": rep.elapsed_s <= 60}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
