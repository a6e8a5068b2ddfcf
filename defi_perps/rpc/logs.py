"""Chunked ``eth_getLogs`` over a block range: adaptive ranges, checked answers, resumable.

Providers cap ``eth_getLogs`` by block span or by result count, with messages that differ per node
("query returned more than 10000 results", "block range is too wide", "Log response size exceeded",
"limit exceeded", HTTP 413, a timeout). On such an answer the range is halved and retried; after
``GROW_AFTER`` clean chunks it doubles again, up to the starting span (the habit of ethereum-etl's
BatchWorkExecutor). A one-block range that still fails is an error, never a silent gap.

Every answer is checked: a list of log objects from the requested address, block numbers inside the
requested range, ``removed`` false, and, for the pinned block itself, the pinned block hash. Logs
are returned in (blockNumber, logIndex) order.

Resuming: the caller gets each chunk through ``on_chunk(logs, to_block)`` in block order and may
persist what it derived together with ``to_block`` (a checkpoint); a rerun starts the scan after
the checkpoint. :func:`canonical` tells whether a checkpoint block is still on the chain (its hash
commits to every earlier block, so a reorg anywhere before it shows there).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from defi_perps.exceptions import RpcError
from defi_perps.rpc.client import RpcAnswerError, RpcCallError, RpcClient, RpcRetriesExhausted

GROW_AFTER = 4
_TOO_MUCH = re.compile(r"too many|more than \d+|exceed|limit|too (wide|large|big)|range|response size|"
                       r"query timeout|timed? ?out|payload|10000|5000|2000|1000 blocks", re.IGNORECASE)


@dataclass
class LogScanStats:
    requests: int = 0
    halvings: int = 0
    growths: int = 0
    final_span: int = 0
    logs: int = 0


def _is_too_much(err: Exception) -> bool:
    if isinstance(err, RpcCallError):
        return err.code == 413 or bool(_TOO_MUCH.search(err.rpc_message or str(err)))
    if isinstance(err, RpcRetriesExhausted):
        return err.kind in ("timeout", "http")
    return False


def _check(logs: Any, address: str, lo: int, hi: int, topics0: set[str], pinned: Any) -> list[dict[str, Any]]:
    if not isinstance(logs, list):
        raise RpcAnswerError(f"eth_getLogs answered a {type(logs).__name__}, not a list")
    out = []
    for lg in logs:
        if not isinstance(lg, dict):
            raise RpcAnswerError("eth_getLogs answered a log that is not an object")
        try:
            bn = int(lg["blockNumber"], 16)
            li = int(lg["logIndex"], 16)
            addr = str(lg["address"]).lower()
            t0 = str(lg["topics"][0]).lower() if lg["topics"] else ""
            data = str(lg["data"])
        except (KeyError, TypeError, ValueError, IndexError):
            raise RpcAnswerError("eth_getLogs answered a malformed log (blockNumber/logIndex/address/topics/data)") \
                from None
        if addr != address.lower():
            raise RpcAnswerError(f"eth_getLogs answered a log of {addr}, not of {address}")
        if not lo <= bn <= hi:
            raise RpcAnswerError(f"eth_getLogs for blocks {lo}..{hi} answered a log of block {bn}")
        if t0 not in topics0:
            raise RpcAnswerError(f"eth_getLogs answered a log with topic {t0[:10]}…, which was not asked for")
        if lg.get("removed"):
            raise RpcAnswerError(f"eth_getLogs answered a removed (reorged-out) log in block {bn}")
        if pinned is not None and bn == pinned.number and str(lg.get("blockHash", "")).lower() != pinned.hash:
            raise RpcAnswerError(f"eth_getLogs answered a log of block {bn} with another block hash than the "
                                 f"pinned one (a reorg during the scan)")
        if not data.startswith("0x"):
            raise RpcAnswerError("eth_getLogs answered log data that is not 0x-hex")
        out.append({"block": bn, "index": li, "topic0": t0, "data": data, "tx": lg.get("transactionHash")})
    out.sort(key=lambda x: (x["block"], x["index"]))
    return out


def scan_logs(client: RpcClient, address: str, topics0: Sequence[str], from_block: int, to_block: int, *,
              span: int = 50_000, pinned: Any = None,
              on_chunk: Callable[[list[dict[str, Any]], int], None],
              progress: Callable[[int, int], None] | None = None) -> LogScanStats:
    """Scan ``[from_block, to_block]`` for logs of ``address`` whose topic0 is one of ``topics0``.

    ``on_chunk(logs, to)`` receives each chunk's checked logs (dicts: block, index, topic0, data, tx)
    in block order, ``to`` being the chunk's last block. ``pinned`` (a PinnedBlock) makes logs of
    the pinned block prove they belong to its hash.
    """
    if span < 1:
        raise RpcError(f"log scan span must be >= 1 block, got {span}")
    st = LogScanStats(final_span=span)
    wanted = {t.lower() for t in topics0}
    topic_filter = [sorted(wanted)]
    lo, cur, clean = from_block, span, 0
    total = max(0, to_block - from_block + 1)
    while lo <= to_block:
        hi = min(to_block, lo + cur - 1)
        flt = {"address": address, "fromBlock": hex(lo), "toBlock": hex(hi), "topics": topic_filter}
        st.requests += 1
        try:
            raw = client.request("eth_getLogs", [flt], what=f"eth_getLogs blocks {lo}..{hi}")
        except (RpcCallError, RpcRetriesExhausted) as err:
            if not _is_too_much(err):
                raise
            if hi == lo:
                raise RpcError(f"eth_getLogs fails even for the single block {lo} ({err}); the node cannot serve "
                               f"this scan") from None
            cur = max(1, (hi - lo + 1) // 2)
            st.halvings += 1
            clean = 0
            continue
        logs = _check(raw, address, lo, hi, wanted, pinned)
        st.logs += len(logs)
        on_chunk(logs, hi)
        if progress is not None:
            progress(hi - from_block + 1, total)
        lo = hi + 1
        clean += 1
        if clean >= GROW_AFTER and cur < span:
            cur = min(span, cur * 2)
            st.growths += 1
            clean = 0
    st.final_span = cur
    return st


def canonical(client: RpcClient, number: int, block_hash: str) -> bool:
    """Whether block ``number`` on the node still has ``block_hash``."""
    blk = client.get_block(number)
    return blk is not None and str(blk["hash"]).lower() == block_hash.lower()
