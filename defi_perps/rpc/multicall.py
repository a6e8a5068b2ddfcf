"""Multicall3 ``aggregate3`` batching, pinned to one block and verified, with an adaptive batch size.

Source: mds1/multicall ``src/Multicall3.sol``: ``aggregate3(Call3[] calls) returns (Result[])`` with
``Call3{address target; bool allowFailure; bytes callData}`` and ``Result{bool success; bytes returnData}``;
``getBlockNumber()``, ``getCurrentBlockTimestamp()``, ``getBlockHash(uint256)``; deployed at
0xcA11bde05977b3631167028862bE2a173976CA11 on most EVM chains.

Every batch is sent pinned by block hash (EIP-1898) and carries four extra calls in front:

* the identity precompile (address 0x04, present on every EVM chain since Frontier) echoing 32 random
  bytes: an answer that does not echo them belongs to another request (a proxy or load balancer
  mixing answers; the JSON-RPC id alone cannot tell, it can be copied);
* ``getBlockNumber()``, ``getCurrentBlockTimestamp()`` and ``getBlockHash(number - 1)``, which must
  equal the pinned block's number, timestamp and parent hash. (The EVM cannot see the hash of the
  block it executes in, BLOCKHASH of the current block is 0, so the parent hash stands in for it; with
  the number, the timestamp and the hash-pinned call this fixes the block.) On Arbitrum
  ``block.number`` is an L1 block number, so the number and parent hash come from the ArbSys
  precompile instead (address 0x64: ``arbBlockNumber()``, ``arbBlockHash(uint256)``, which answers
  for the 256 blocks before the current one; OffchainLabs nitro-contracts src/precompiles/ArbSys.sol).

A batch whose answer fails these checks, or does not decode, is sent again on a fresh connection,
then the run fails with one line. ``allowFailure`` is true on the wire so one failing call never
reverts a batch; ``Call.allow_failure`` decides here whether a failure is fatal. A batch that fails
as a whole (out of gas, too large, HTTP 413, a JSON-RPC error, timeouts while the node still answers
small requests), or in which a required call failed (it may have run out of the batch's gas), is
split in halves down to one call; the batch size then grows back, doubling after a run of successes,
up to the size asked for (ethereum-etl's batch executor does the same).
HTTP 429/5xx that outlast the retries end the run (the endpoint is down or throttling).

Batches run on daemon threads, so Ctrl-C stops the run at once even with requests in flight.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from defi_perps.exceptions import AbiMismatchError, ArchiveNodeRequired, RpcError
from defi_perps.rpc.abi import Function, contract_abi
from defi_perps.rpc.client import RpcAnswerError, RpcCallError, RpcClient, RpcRetriesExhausted, RpcUnreachable
from defi_perps.rpc.fastabi import decode_aggregate3, encode_aggregate3

IDENTITY_PRECOMPILE = "0x0000000000000000000000000000000000000004"
ARBSYS = "0x0000000000000000000000000000000000000064"
_ARB_BLOCK_NUMBER = Function("arbBlockNumber", (), ("uint256",))
_ARB_BLOCK_HASH = Function("arbBlockHash", ("uint256",), ("bytes32",))
VERIFY_ATTEMPTS = 3          # sends of one batch whose answer fails verification (2 on fresh connections)
MIN_TIMEOUT_SPLIT = 32       # a batch this small that times out is not too big: the node is hung
GROW_AFTER = 16              # consecutive successful batches before the batch size doubles again


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


class _RequiredFailed(RpcError):
    """A required call in a batch answered success=false (splitting may help: it may be gas)."""

    def __init__(self, message: str, call: Call) -> None:
        super().__init__(message)
        self.call = call


@dataclass
class Multicall:
    client: RpcClient
    address: str
    block: Any                     # a PinnedBlock (pinned by hash and verified) or a block number
    batch_size: int = 500
    parallel: int = 4
    block_context: str = "evm"     # "evm" or "arbitrum" (config.ChainConfig.block_context)
    halvings: int = field(default=0, init=False)
    growths: int = field(default=0, init=False)
    batches: int = field(default=0, init=False)
    resends: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise RpcError(f"batch size must be >= 1, got {self.batch_size}")
        if self.parallel < 1:
            raise RpcError(f"parallel requests must be >= 1, got {self.parallel}")
        self._lock = threading.Lock()
        self.max_batch_size = self.batch_size
        self._streak = 0
        mc = contract_abi("multicall3", "Multicall3")
        self._agg = mc["aggregate3"]
        self._bn, self._ts, self._bh = mc["getBlockNumber"], mc["getCurrentBlockTimestamp"], mc["getBlockHash"]
        if self.block_context not in ("evm", "arbitrum"):
            raise RpcError(f"unknown block context {self.block_context!r}: use evm or arbitrum")
        # (target, function) of the number and parent-hash checks
        self._where = ARBSYS if self.block_context == "arbitrum" else self.address
        if self.block_context == "arbitrum":
            self._bn, self._bh = _ARB_BLOCK_NUMBER, _ARB_BLOCK_HASH
        self.number = int(getattr(self.block, "number", self.block))
        self._parent = getattr(self.block, "parent_hash", None)
        self._timestamp = getattr(self.block, "timestamp", None)

    def run(self, calls: Sequence[Call], progress: Callable[[int], None] | None = None) -> list[CallResult]:
        """Results in the order of ``calls``. Up to ``parallel`` batches are in flight at once (the
        node answers them concurrently); a failed batch is split and its halves sent again first."""
        n = len(calls)
        out: list[CallResult | None] = [None] * n
        todo: deque[tuple[int, int]] = deque([(0, n)] if n else [])   # (start, length) still to send
        pending: dict[Future[list[CallResult]], tuple[int, int]] = {}
        pool = _DaemonPool(min(self.parallel, max(1, n)))
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
                        res = fut.result()
                    except Exception as err:
                        if not self._should_split(err, size, calls[start]):
                            raise
                        with self._lock:
                            self.batch_size = max(1, min(self.batch_size, size // 2))
                            self.halvings += 1
                            self._streak = 0
                        todo.appendleft((start, size))
                        continue
                    out[start:start + size] = res
                    self._succeeded(size)
                    if progress is not None:
                        progress(size)
        finally:
            pool.shutdown()
        return out  # type: ignore[return-value]

    def _succeeded(self, size: int) -> None:
        with self._lock:
            if size < self.batch_size:
                return              # a remainder: says nothing about the size limit
            self._streak += 1
            if self._streak >= GROW_AFTER and self.batch_size < self.max_batch_size:
                self.batch_size = min(self.max_batch_size, self.batch_size * 2)
                self.growths += 1
                self._streak = 0

    def _should_split(self, err: Exception, size: int, first: Call) -> bool:
        """Whether a failed batch is worth sending again in halves (else the error stands)."""
        if isinstance(err, _RequiredFailed):
            if size > 1:
                return True
            raise AbiMismatchError(str(err)) from None
        if isinstance(err, (ArchiveNodeRequired, RpcUnreachable, RpcAnswerError, AbiMismatchError)) \
                or not isinstance(err, RpcError):
            return False
        if isinstance(err, RpcRetriesExhausted):
            # A batch that keeps timing out may be too big for the node: split it, if the node
            # still answers a small request. An endpoint answering 429/5xx to every retry, or
            # nothing at all, is down or throttling; smaller batches won't help.
            if err.kind != "timeout" or size < MIN_TIMEOUT_SPLIT:
                return False
            return self.client.alive(min(self.client.retry.timeout_s / 2, 5.0))
        if not isinstance(err, RpcCallError) and type(err) is not RpcError:
            return False
        if size == 1:
            raise RpcError(f"call {first.label or first.fn.name} failed even alone: {err}") from None
        return True

    # ---- one batch ----------------------------------------------------------------------------------
    def _prefix(self, nonce: bytes) -> list[tuple[str, bool, bytes]]:
        p = [(IDENTITY_PRECOMPILE, True, nonce), (self._where, True, self._bn.encode()),
             (self.address, True, self._ts.encode())]
        if self.number > 0:
            p.append((self._where, True, self._bh.encode(self.number - 1)))
        return p

    def _aggregate(self, chunk: Sequence[Call]) -> list[CallResult]:
        body = [(c.target, True, c.calldata) for c in chunk]
        last: RpcError | None = None
        for attempt in range(VERIFY_ATTEMPTS):
            if attempt:
                self.client.fresh_connection()
                with self._lock:
                    self.resends += 1
            if getattr(self.client, "deterministic_nonces", False):
                # recorded/replayed answers (rpc/replay.py): the nonce is a digest of the batch and
                # the attempt, so a replay sends the very bytes that were recorded
                import hashlib

                h = hashlib.sha256(b"defi-perps batch nonce %d" % attempt)
                for c in chunk:
                    h.update(bytes.fromhex(c.target[2:]) + c.calldata)
                nonce = h.digest()
            else:
                nonce = os.urandom(32)
            prefix = self._prefix(nonce)
            payload = encode_aggregate3(self._agg.selector, prefix + body)
            with self._lock:
                self.batches += 1
            data = self.client.eth_call(self.address, payload, self.block)
            if not data:
                raise AbiMismatchError(f"Multicall3 at {self.address} has no code at block {self.number}")
            try:
                try:
                    results = decode_aggregate3(data)
                except AbiMismatchError as bad:
                    raise RpcAnswerError(str(bad)) from None
                if len(results) < len(prefix):
                    raise RpcAnswerError(f"Multicall3 answered {len(results)} results for {len(prefix) + len(chunk)} "
                                         f"calls")
                self._verify(results[:len(prefix)], nonce)
                if len(results) != len(prefix) + len(chunk):
                    raise RpcAnswerError(f"Multicall3 answered {len(results) - len(prefix)} results for "
                                         f"{len(chunk)} calls")
                return _decode_results(chunk, results[len(prefix):])
            except (RpcAnswerError, AbiMismatchError) as err:
                last = err
        assert last is not None
        raise type(last)(f"{last} (RPC {self.client.where}, {VERIFY_ATTEMPTS} tries, fresh connections)")

    def _verify(self, head: list[tuple[bool, bytes]], nonce: bytes) -> None:
        """The echo and the block facts at the head of an answer must match this request and block."""
        if not head[0][0] or head[0][1] != nonce:
            raise RpcAnswerError("the node answered a Multicall3 batch with another request's results")
        vals = []
        for (ok, data), fn in zip(head[1:], (self._bn, self._ts, self._bh)):
            if not ok:
                raise RpcAnswerError(f"Multicall3 {fn.name}() failed")
            vals.append(fn.decode_one(data))
        number, ts = vals[0], vals[1]
        if number != self.number:
            raise RpcAnswerError(f"the node answered for block {number} instead of the pinned block {self.number}")
        if self._timestamp is not None and ts != self._timestamp:
            raise RpcAnswerError(f"the node answered for another block {number} (timestamp {ts}, pinned "
                                 f"{self._timestamp}): a reorg or a node on another fork")
        if self._parent is not None and len(vals) > 2 and "0x" + vals[2].hex() != self._parent.lower():
            raise RpcAnswerError(f"the node answered for another block {number} (parent hash "
                                 f"0x{vals[2].hex()[:8]}…, pinned 0x{self._parent[2:10].lower()}…): "
                                 f"a reorg or a node on another fork")


def _decode_results(chunk: Sequence[Call], raw: list[tuple[bool, bytes]]) -> list[CallResult]:
    """Decode each call's answer. A required call that failed raises _RequiredFailed; one that
    succeeded with bytes its ABI cannot decode raises AbiMismatchError (never a silent None/0)."""
    out: list[CallResult] = []
    for call, (ok, data) in zip(chunk, raw):
        value: Any = None
        if ok:
            try:
                decoded = call.fn.decode(data)
                value = decoded[0] if len(decoded) == 1 else decoded
            except AbiMismatchError:
                if not call.allow_failure:
                    raise AbiMismatchError(
                        f"required call {call.label or call.fn.signature} to {call.target} returned "
                        f"undecodable data ({len(data)} bytes)") from None
                ok = False  # e.g. a call to an address without code succeeds with empty data
        elif not call.allow_failure:
            raise _RequiredFailed(f"required call {call.label or call.fn.signature} to {call.target} failed", call)
        out.append(CallResult(ok, value))
    return out


class _DaemonPool:
    """A few daemon worker threads: unlike ThreadPoolExecutor they are not joined at interpreter
    exit, so Ctrl-C (or any error) ends the run without waiting for requests in flight."""

    def __init__(self, n: int) -> None:
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"multicall-{i}") for i in range(n)]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        self._q.put((fut, fn, args))
        return fut

    def _work(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            fut, fn, args = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args))
            except BaseException as err:  # handed to the waiting thread
                fut.set_exception(err)

    def shutdown(self) -> None:
        for _ in self._threads:
            self._q.put(None)
