"""Multicall3 ``aggregate3`` batching with a batch size that halves when a batch fails.

Source: mds1/multicall ``src/Multicall3.sol``: ``aggregate3(Call3[] calls) returns (Result[])`` with
``Call3{address target; bool allowFailure; bytes callData}`` and ``Result{bool success; bytes returnData}``;
deployed at 0xcA11bde05977b3631167028862bE2a173976CA11 on most EVM chains.

``allowFailure`` is always true on the wire, so one failing call never costs a whole batch;
``Call.allow_failure`` decides here, per call, whether a failure is fatal. A batch that fails as a
whole (out of gas, an answer too large, HTTP 413, a JSON-RPC error, timeouts that outlast the client's
retries) is split: the batch size halves and the same calls are sent again, down to one call per batch.
HTTP 429/5xx that outlast the retries end the run (the endpoint is down or throttling). The smaller size sticks
for the rest of the run (the endpoint told us its limit).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from defi_perps.exceptions import AbiMismatchError, ArchiveNodeRequired, RpcError
from defi_perps.rpc.abi import Function, contract_abi
from defi_perps.rpc.client import RpcClient, RpcRetriesExhausted, RpcUnreachable
from defi_perps.rpc.fastabi import decode_aggregate3, encode_aggregate3


@dataclass(frozen=True)
class Call:
    target: str
    fn: Function
    args: tuple[Any, ...] = ()
    allow_failure: bool = True
    label: str = ""

    @property
    def calldata(self) -> bytes:
        return self.fn.encode(*self.args)


@dataclass(frozen=True)
class CallResult:
    success: bool
    value: Any = None              # decoded return (a tuple's single element is unwrapped)


@dataclass
class Multicall:
    client: RpcClient
    address: str
    block: int
    batch_size: int = 500
    parallel: int = 4
    halvings: int = field(default=0, init=False)
    batches: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise RpcError(f"batch size must be >= 1, got {self.batch_size}")
        if self.parallel < 1:
            raise RpcError(f"parallel requests must be >= 1, got {self.parallel}")
        self._lock = threading.Lock()
        self._agg = contract_abi("multicall3", "Multicall3")["aggregate3"]

    def run(self, calls: Sequence[Call], progress: Callable[[int], None] | None = None) -> list[CallResult]:
        """Results in the order of ``calls``. Up to ``parallel`` batches are in flight at once (the
        node answers them concurrently); a failed batch is split and its halves sent again first."""
        n = len(calls)
        out: list[CallResult | None] = [None] * n
        todo: deque[tuple[int, int]] = deque([(0, n)] if n else [])   # (start, length) still to send
        pending: dict[Future[list[tuple[bool, bytes]]], tuple[int, int]] = {}
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            try:
                while todo or pending:
                    while todo and len(pending) < self.parallel:
                        start, length = todo.popleft()
                        size = min(self.batch_size, length)
                        if length > size:
                            todo.appendleft((start + size, length - size))
                        pending[pool.submit(self._aggregate, calls[start:start + size])] = (start, size)
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        start, size = pending.pop(fut)
                        try:
                            raw = fut.result()
                        except Exception as err:
                            if not self._should_split(err, size, calls[start]):
                                raise
                            self.batch_size = max(1, min(self.batch_size, size // 2))
                            self.halvings += 1
                            todo.appendleft((start, size))
                            continue
                        out[start:start + size] = _decode_results(calls[start:start + size], raw)
                        if progress is not None:
                            progress(size)
            finally:
                for f in pending:
                    f.cancel()
        return out  # type: ignore[return-value]

    @staticmethod
    def _should_split(err: Exception, size: int, first: Call) -> bool:
        """Whether a failed batch is worth sending again in halves (else the error stands)."""
        if isinstance(err, (ArchiveNodeRequired, RpcUnreachable)) or not isinstance(err, RpcError):
            return False
        if isinstance(err, RpcRetriesExhausted):
            # A batch that keeps timing out may be too big for the node: split it. An endpoint
            # answering 429/5xx to every retry is down or throttling; smaller batches won't help.
            return err.kind == "timeout" and size > 1
        if size == 1:
            raise RpcError(f"call {first.label or first.fn.name} failed even alone: {err}") from None
        return True

    def _aggregate(self, chunk: Sequence[Call]) -> list[tuple[bool, bytes]]:
        payload = encode_aggregate3(self._agg.selector, [(c.target, True, c.calldata) for c in chunk])
        with self._lock:
            self.batches += 1
        data = self.client.eth_call(self.address, payload, self.block)
        if not data:
            raise AbiMismatchError(f"Multicall3 at {self.address} has no code at block {self.block}")
        results = decode_aggregate3(data)
        if len(results) != len(chunk):
            raise AbiMismatchError(f"Multicall3 answered {len(results)} results for {len(chunk)} calls")
        return results


def _decode_results(chunk: Sequence[Call], raw: list[tuple[bool, bytes]]) -> list[CallResult]:
    out: list[CallResult] = []
    for call, (ok, data) in zip(chunk, raw):
        value: Any = None
        if ok:
            try:
                decoded = call.fn.decode(data)
                value = decoded[0] if len(decoded) == 1 else decoded
            except AbiMismatchError:
                ok = False  # e.g. a call to an address without code succeeds with empty data
        if not ok and not call.allow_failure:
            raise AbiMismatchError(
                f"required call {call.label or call.fn.signature} to {call.target} failed or returned undecodable data")
        out.append(CallResult(ok, value))
    return out
