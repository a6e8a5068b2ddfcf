"""A small snapshot with extreme integer values, for store tests (shared with the SIGKILL child)."""
from __future__ import annotations

from defi_perps.domain import (GlobalParams, Market, OpenInterest, OraclePrice, Position, Snapshot, SnapshotMeta,
                               Token)

F = 10**30
MKT, ETH, USDC = "0x" + "Aa" * 20, "0x" + "Ee" * 20, "0x" + "Cc" * 20


def make_snapshot(block: int, n_positions: int = 3, chain_id: int = 31337) -> Snapshot:
    """A small snapshot with extreme values: 2**256-1, -2**255 and 0 in uint/int fields."""
    oi = (OpenInterest(MKT, ETH, True, 2**256 - 1, 1, 0), OpenInterest(MKT, USDC, False, 0, 2**200, 5))
    m = Market(MKT, ETH, ETH, USDC, *([2**256 - 1] * 12), True, False, *([F // 100] * 20),
               -(2**255), 2**255, "0x" + "00" * 32, "0x" + "ab" * 32, -(2**255), open_interest=oi)
    pos = tuple(Position("0x%064x" % (i + 1), "0x%040x" % (i + 1), MKT, USDC, i % 2 == 0, 2**256 - 1 - i, 10**18 + i,
                         10**6, -(2**255) + i, 2**255 - 1, 1, 2, 3, 1700000000 + i, 0) for i in range(n_positions))
    return Snapshot(
        meta=SnapshotMeta(chain_id, block, 1700000000, "0x" + "cd" * 32, "gmx_v2", MKT, "chainlink"),
        tokens=(Token(ETH, "WETH", 18), Token(USDC, "USDC", 6), Token("0x" + "0b" * 20, "BTC", 8, True)),
        prices=(OraclePrice(ETH, 3000 * 10**12, 3001 * 10**12, "chainlink", "0x" + "fe" * 20, 10**34, 3000 * 10**8, 2**80 - 1,
                            1700000000),
                OraclePrice(USDC, 10**24, 10**24, "file")),
        markets=(m,), positions=pos, globals=GlobalParams(F, 10 * F, 0, 2**256 - 1))


