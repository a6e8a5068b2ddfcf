"""JSON-RPC over HTTP with retries, a deadline, verification of every answer and a round-trip count.

Every HTTP request, retried or not, is one round trip in ``RpcClient.round_trips``: that is the
figure the index command reports and the benchmark compares.

Nothing the node says is believed unchecked (JSON-RPC 2.0 spec, https://www.jsonrpc.org/specification):
the answer must be one JSON object, ``jsonrpc`` "2.0", the ``id`` of the request it answers, and
exactly one of ``result``/``error``; bodies above ``RetryPolicy.max_answer_bytes`` are refused while
they are read; typed helpers check the result's shape (a hex string, a block object with the
requested number or hash). An answer that fails a check is retried on a fresh connection (behind a
load balancer that is often another backend), then becomes a one-line error.

Retries: timeouts, HTTP 429/5xx, JSON-RPC rate limits, -32603 "internal error", "header not found"
(a backend behind the head) and malformed answers are retried with exponential backoff honouring
``Retry-After``. The whole ladder of one request has a deadline: ``2 × timeout`` of waiting plus the
backoff sleeps, so a server that accepts connections and never answers ends the run in about twice
``--timeout``. Only a real missing-history answer ("missing trie node", "historical state …
unavailable", …) says "archive node".

Secrets: an RPC URL is shown only as ``scheme://host[:port]``; a URL that does not parse is never
shown at all; node error texts are scrubbed of the URL's credentials, path segments and query values
before they reach a message (hosted providers put the API key in the path: /v2/<key>).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests

from defi_perps.exceptions import ArchiveNodeRequired, RpcError


class RpcCallError(RpcError):
    """The endpoint answered with a JSON-RPC error object (not a transport failure)."""

    def __init__(self, message: str, code: int | None = None, rpc_message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.rpc_message = rpc_message


class RpcUnreachable(RpcError):
    """No HTTP connection could be made to the endpoint."""


class RpcRetriesExhausted(RpcError):
    """A transient failure persisted through every retry or past the deadline.

    ``kind``: timeout, http, rate, connection, malformed, mismatch, internal, block.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class RpcAnswerError(RpcError):
    """The node's answer is inconsistent with the request: another block, another request, bad shape."""


class RpcBlockHashUnsupported(RpcError):
    """The node rejects a block hash as the block parameter (no EIP-1898 support)."""


class _Transient(Exception):
    def __init__(self, why: str, retry_after: float | None = None, kind: str = "http", fresh: bool = False) -> None:
        super().__init__(why)
        self.retry_after = retry_after
        self.kind = kind
        self.fresh = fresh          # retry on a new connection (the answer itself was bad)


class BadResult(Exception):
    """Raised by a result check (``RpcClient.request(check=…)``): the result has the wrong shape."""


# Messages with which nodes (geth, erigon, nethermind, reth, anvil, hosted providers) refuse state
# they have pruned. Matched case-insensitively. "header not found" is NOT here: geth says it for a
# block it has not seen yet too (a load-balanced backend behind the head), so it is retried.
_ARCHIVE_PATTERNS = re.compile(
    r"missing trie node|historical state|state (is )?not available|pruned|archive|old data not available|"
    r"state histories|required historical|too old|distance to target block exceeds|"
    r"state at block .* is (unavailable|not)",
    re.IGNORECASE,
)
# The node does not know the block (yet, or any more): retried, then reported as such.
_UNKNOWN_BLOCK_PATTERNS = re.compile(
    r"header not found|unknown block|block not found|resource not found|header for hash not found|"
    r"no such block|block .* not found|not canonical|unknown ancestor",
    re.IGNORECASE,
)
_RATE_LIMIT_PATTERNS = re.compile(r"rate limit|too many requests|limit exceeded|capacity|try again",
                                  re.IGNORECASE)
# eth_getLogs refused for its size: result-count or block-span caps of nodes and providers
_LOG_RANGE_PATTERNS = re.compile(
    r"more than \d+ results|too many (results|logs|blocks)|block range|range (is )?too (wide|large|big)|"
    r"response size|exceed(s|ed)? (the )?(max|maximum|limit) .*(results|logs|range|blocks)|query timeout|"
    r"logs? (response|result) (size|limit)|limit of \d+ (results|blocks)", re.IGNORECASE)
_QUANTITY = re.compile(r"0x(?:0|[1-9a-fA-F][0-9a-fA-F]*)")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def parse_rpc_url(url: Any) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an http(s) URL, or RpcError that does NOT echo the URL (it may hold a key)."""
    if not isinstance(url, str) or not url:
        raise RpcError("RPC URL is empty or not text")
    try:
        p = urlsplit(url.strip())
        port = p.port                  # ValueError for a bad or out-of-range port
    except ValueError:
        raise RpcError("RPC URL does not parse (a bad port or bracket); it is not shown because it may hold a key; "
                       "expected http(s)://host[:port]/path") from None
    if p.scheme not in ("http", "https"):
        raise RpcError("RPC URL must start with http:// or https:// (it is not shown because it may hold a key)")
    if not p.hostname:
        raise RpcError("RPC URL has no host (it is not shown because it may hold a key); "
                       "expected http(s)://host[:port]/path")
    return p.scheme, p.hostname, port


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` only: RPC URLs often hold an API key in the path or query."""
    try:
        scheme, host, port = parse_rpc_url(url)
    except RpcError:
        return "<unparseable RPC URL>"
    return f"{scheme}://{host}{f':{port}' if port else ''}"


def secrets_of(url: str) -> list[str]:
    """The parts of a URL that may be secret: user, password, path segments, query values, fragment."""
    try:
        p = urlsplit(url)
    except ValueError:
        return [url]
    out = [p.username or "", p.password or "", p.fragment]
    out += [unquote(seg) for seg in p.path.split("/")]
    out += [v for _, v in parse_qsl(p.query, keep_blank_values=True)]
    out += [p.query, p.path]
    # short pieces ("v2", "rpc") are not secrets and replacing them would garble the message
    return sorted({s for s in out if len(s) >= 6}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with the URL and each of its secret parts replaced by ``***``."""
    text = text.replace(url, redact_url(url))
    for s in secrets_of(url):
        text = text.replace(s, "***")
    return text


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: retries after the first attempt, exponential backoff (s), per-request
    timeout (s), the deadline of one request's whole retry ladder (default ``2 × timeout_s`` of
    waiting, backoff sleeps not counted) and the largest answer accepted (bytes)."""

    max_retries: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    timeout_s: float = 60.0
    deadline_s: float | None = None
    max_answer_bytes: int = 64 * 2**20

    @property
    def ladder_s(self) -> float:
        return self.deadline_s if self.deadline_s is not None else 2 * self.timeout_s

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        d = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
        if retry_after is not None:
            d = min(self.max_backoff_s, max(d, retry_after))
        return d


def _block_param(block: Any) -> tuple[Any, str]:
    """(JSON-RPC block parameter, label for messages). A PinnedBlock or a 32-byte hash pins by hash
    (EIP-1898, requireCanonical: a reorged-out block is refused, never silently replaced)."""
    h = getattr(block, "hash", None)
    if isinstance(h, str):
        return {"blockHash": h, "requireCanonical": True}, f"block {block.number} ({h[:10]}…)"
    if isinstance(block, str) and _HASH.fullmatch(block):
        return {"blockHash": block, "requireCanonical": True}, f"block {block[:10]}…"
    if isinstance(block, bool) or not isinstance(block, (int, str)):
        raise RpcError(f"not a block number, tag or hash: {block!r}")
    if isinstance(block, int):
        return hex(block), f"block {block}"
    return block, f"block {block}"


class RpcClient:
    """One HTTP JSON-RPC endpoint. ``request`` returns the checked ``result`` or raises a DefiPerpsError."""

    def __init__(self, url: str, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        parse_rpc_url(url)
        self.url = url.strip()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.round_trips = 0
        self.retries = 0
        self.fresh_connections = 0
        self._answered = False
        self.last_answer = time.monotonic()
        self._ids = itertools.count(1)
        # rpc/replay.py: a transport answering from recorded files instead of HTTP, and a hook that
        # sees every valid answer (the recorder). None: plain HTTP.
        self.transport: Any = None
        self.on_answer: Callable[[str, list[Any], dict[str, Any]], None] | None = None
        self.deterministic_nonces = False   # rpc/multicall.py: batch nonces from the batch's bytes
        self._lock = threading.Lock()   # multicall batches may be in flight on several threads
        self._local = threading.local()  # one requests.Session (connection pool) per thread

    @property
    def where(self) -> str:
        return redact_url(self.url)

    # ---- connections ----------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers.update({"Content-Type": "application/json"})
            self._local.session = s
        return s

    def fresh_connection(self) -> None:
        """Drop this thread's connection: the next request opens a new one."""
        s = getattr(self._local, "session", None)
        if s is not None:
            s.close()
            self._local.session = None
        with self._lock:
            self.fresh_connections += 1

    def close(self) -> None:
        s = getattr(self._local, "session", None)
        if s is not None:
            s.close()
            self._local.session = None

    # ---- requests ---------------------------------------------------------------------------------
    def request(self, method: str, params: list[Any], check: Callable[[Any], Any] | None = None,
                what: str | None = None, block_label: str | None = None) -> Any:
        """The result of ``method``; ``check(result)`` may convert it or raise BadResult (retried)."""
        what = what or method
        waited = 0.0                   # seconds spent waiting for answers (backoff sleeps excluded)
        attempt = 0
        while True:
            remaining = self.retry.ladder_s - waited
            t0 = time.monotonic()
            try:
                result = self._once(method, params, max(0.05, min(self.retry.timeout_s, remaining)), block_label)
                if check is None:
                    return result
                try:
                    return check(result)
                except BadResult as bad:
                    raise _Transient(f"bad result: {bad}", kind="malformed", fresh=True) from None
            except _Transient as t:
                waited += time.monotonic() - t0
                if t.fresh:
                    self.fresh_connection()
                delay = self.retry.delay(attempt, t.retry_after)
                if attempt >= self.retry.max_retries or waited >= self.retry.ladder_s - 1e-3:
                    why = "" if attempt >= self.retry.max_retries else f" within the {self.retry.ladder_s:g}s deadline"
                    raise RpcRetriesExhausted(f"RPC {self.where} failed {attempt + 1} times{why} on {what}: "
                                              f"{scrub(str(t), self.url)}", t.kind) from None
                with self._lock:
                    self.retries += 1
                self._sleep(delay)
                attempt += 1

    def _once(self, method: str, params: list[Any], timeout: float, block_label: str | None = None) -> Any:
        with self._lock:
            self.round_trips += 1
            rid = next(self._ids)
        body = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        start = time.monotonic()
        resp: Any = None
        if self.transport is not None:     # recorded answers: the same checks below apply to them
            status, raw = self.transport.exchange(method, params, rid)
        else:
            try:
                resp = self._session().post(self.url, data=body, timeout=(min(timeout, 10.0), timeout), stream=True)
                try:
                    raw = self._read_capped(resp, start + timeout)
                finally:
                    resp.close()
            except requests.Timeout:
                raise _Transient(f"timed out after {timeout:.3g} s", kind="timeout") from None
            except requests.ConnectionError as err:
                if not self._answered:
                    raise RpcUnreachable(f"cannot reach RPC at {self.where}: {_short(err)}") from None
                raise _Transient(f"connection dropped: {_short(err)}", kind="connection", fresh=True) from None
            except requests.RequestException as err:
                raise _Transient(f"transport error: {type(err).__name__}", kind="connection", fresh=True) from None
            status = resp.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}", _retry_after(resp), kind="rate" if status == 429 else "http")
        if status == 413:
            raise RpcCallError(f"RPC {self.where} refused {method}: HTTP 413 request too large", 413)
        if status >= 400 and not raw.lstrip().startswith(b"{"):
            raise RpcError(f"RPC {self.where} answered HTTP {status} to {method}")
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            # Not JSON: a proxy error page, a truncated body. Retry; a healthy node answers JSON.
            raise _Transient(f"malformed answer ({type(err).__name__})", kind="malformed", fresh=True) from None
        with self._lock:
            self._answered = True
            self.last_answer = time.monotonic()
        if not isinstance(answer, dict):
            raise _Transient(f"malformed answer (a JSON {type(answer).__name__}, not an object)", kind="malformed",
                             fresh=True)
        if answer.get("id") != rid or answer.get("jsonrpc") != "2.0":
            raise _Transient(f"answer for another request (id {str(answer.get('id'))[:20]!s}, expected {rid})",
                             kind="mismatch", fresh=True)
        if self.on_answer is not None and ("result" in answer or answer.get("error") is not None):
            self.on_answer(method, params, answer)
        if answer.get("error") is not None:
            self._raise_error(method, params, answer["error"], block_label)
        if "result" not in answer:
            raise _Transient("malformed answer (neither result nor error)", kind="malformed", fresh=True)
        return answer["result"]

    def _read_capped(self, resp: requests.Response, deadline: float) -> bytes:
        """The body, refused past ``max_answer_bytes`` or past the attempt's deadline (a server
        trickling bytes forever must not dodge the timeout)."""
        cap = self.retry.max_answer_bytes
        declared = resp.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise RpcAnswerError(f"RPC {self.where} answer of {int(declared):,} bytes is above the "
                                 f"{cap:,}-byte cap")
        chunks, size = [], 0
        for chunk in resp.iter_content(1 << 20):
            size += len(chunk)
            if size > cap:
                raise RpcAnswerError(f"RPC {self.where} answer is above the {cap:,}-byte cap")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise requests.Timeout()
        return b"".join(chunks)

    def _raise_error(self, method: str, params: list[Any], err: Any, block_label: str | None) -> None:
        code = err.get("code") if isinstance(err, dict) else None
        msg = str(err.get("message", err)) if isinstance(err, dict) else str(err)
        msg = scrub(msg, self.url)
        if method == "eth_getLogs" and _LOG_RANGE_PATTERNS.search(msg):
            # a range or result cap (Infura/Alchemy answer -32005 for these too): not retried as a rate
            # limit; rpc/logs.py halves the range at once
            raise RpcCallError(f"RPC {self.where} refused {method}: {msg[:200]}", code, msg)
        if code == 429 or code == -32005 or _RATE_LIMIT_PATTERNS.search(msg):
            raise _Transient(f"rate limited ({msg[:80]})", kind="rate")
        if code == -32603 or "internal error" in msg.lower():
            raise _Transient(f"internal error ({msg[:80]})", kind="internal", fresh=True)
        if _UNKNOWN_BLOCK_PATTERNS.search(msg):
            raise _Transient(f"block not known to the node ({msg[:80]})", kind="block", fresh=True)
        if method == "eth_call" and len(params) > 1 and isinstance(params[1], dict) and (
                code == -32602 or re.search(r"invalid (argument|param)|cannot unmarshal|unknown field", msg, re.I)):
            raise RpcBlockHashUnsupported(
                f"RPC {self.where} rejects a block hash as the block of eth_call (EIP-1898), which defi-perps needs "
                f"to pin every read of a snapshot to one block: use a node that supports it ({msg[:80]})")
        if method == "eth_call" and _ARCHIVE_PATTERNS.search(msg):
            raise ArchiveNodeRequired(
                f"RPC {self.where} cannot serve state at {block_label or 'the requested block'} ({msg[:100]}); "
                "use an archive node for historical blocks")
        raise RpcCallError(f"RPC {self.where} error on {method}: {msg[:200]}", code, msg)

    # ---- small typed helpers ------------------------------------------------------------------
    def chain_id(self) -> int:
        return self.request("eth_chainId", [], check=_quantity)  # type: ignore[no-any-return]

    def block_number(self) -> int:
        return self.request("eth_blockNumber", [], check=_quantity)  # type: ignore[no-any-return]

    def alive(self, timeout: float) -> bool:
        """One quick ``eth_blockNumber`` without retries: is the node answering at all?"""
        try:
            _quantity(self._once("eth_blockNumber", [], timeout))
            return True
        except (_Transient, BadResult, RpcError):
            return False

    def get_block(self, block: int | str) -> dict[str, Any] | None:
        """The header of ``block`` (a number, "latest", or a 32-byte hash), checked: None if the node
        has no such block; a block other than the one asked for is an error."""
        by_hash = isinstance(block, str) and bool(_HASH.fullmatch(block))
        if by_hash:
            method, params = "eth_getBlockByHash", [block, False]
        else:
            method, params = "eth_getBlockByNumber", [hex(block) if isinstance(block, int) else block, False]

        def check(r: Any) -> dict[str, Any] | None:
            if r is None:
                return None
            b = _block_object(r)
            if isinstance(block, int) and int(b["number"], 16) != block:
                raise BadResult(f"asked for block {block}, got block {int(b['number'], 16)}")
            if by_hash and b["hash"].lower() != str(block).lower():
                raise BadResult(f"asked for block {str(block)[:10]}…, got {b['hash'][:10]}…")
            return b

        try:
            return self.request(method, params, check=check)  # type: ignore[no-any-return]
        except RpcRetriesExhausted as err:
            if err.kind == "block":
                return None
            raise

    def eth_call(self, to: str, data: bytes, block: Any, gas: int | None = None) -> bytes:
        """``eth_call`` at ``block``: a number, or a PinnedBlock / hash (pinned by hash, EIP-1898)."""
        tx: dict[str, Any] = {"to": to, "data": "0x" + data.hex()}
        if gas is not None:
            tx["gas"] = hex(gas)
        param, label = _block_param(block)

        def check(r: Any) -> bytes:
            # bytes.fromhex is strict about digits but skips whitespace: the length check catches that
            if not isinstance(r, str) or not r.startswith("0x") or len(r) % 2:
                raise BadResult(f"eth_call result is not 0x-hex bytes ({type(r).__name__})")
            try:
                out = bytes.fromhex(r[2:])
            except ValueError:
                raise BadResult("eth_call result is not 0x-hex bytes (non-hex digits)") from None
            if 2 * len(out) != len(r) - 2:
                raise BadResult("eth_call result is not 0x-hex bytes (whitespace)")
            return out

        try:
            return self.request("eth_call", [tx, param], check=check,  # type: ignore[no-any-return]
                                block_label=label)
        except RpcRetriesExhausted as err:
            if err.kind == "block" and isinstance(param, dict):
                raise RpcError(f"RPC {self.where} cannot serve {label} by its hash (EIP-1898): the block was "
                               f"reorged out, the node is behind, or it does not support block-hash pinning") from None
            raise


def _quantity(r: Any) -> int:
    if not isinstance(r, str) or not _QUANTITY.fullmatch(r):
        raise BadResult(f"expected a hex quantity, got {type(r).__name__} {str(r)[:20]!r}")
    return int(r, 16)


def _block_object(r: Any) -> dict[str, Any]:
    if not isinstance(r, dict):
        raise BadResult(f"a block must be a JSON object, got {type(r).__name__}")
    for k in ("number", "timestamp"):
        if not isinstance(r.get(k), str) or not _QUANTITY.fullmatch(r[k]):
            raise BadResult(f"block field {k!r} is not a hex quantity")
    for k in ("hash", "parentHash"):
        if not isinstance(r.get(k), str) or not _HASH.fullmatch(r[k]):
            raise BadResult(f"block field {k!r} is not a 32-byte hash")
    return r


def _retry_after(resp: Any) -> float | None:
    try:
        v = float(resp.headers.get("Retry-After"))
    except (AttributeError, TypeError, ValueError):
        return None
    return v if v == v and v >= 0 else None


def _short(err: BaseException) -> str:
    text = str(err)
    for needle in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                   "timed out", "No route to host", "Connection reset"):
        if needle in text:
            return needle.lower()
    return type(err).__name__
