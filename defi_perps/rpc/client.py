"""JSON-RPC over HTTP (web3's HTTPProvider) with retries, backoff and a count of round trips.

Every HTTP request, retried or not, is one round trip in ``RpcClient.round_trips``: that is the
figure the index command reports and the benchmark compares. Transient failures (timeouts, HTTP 429,
HTTP 5xx, JSON-RPC rate-limit errors, a dropped connection after the endpoint has answered once) are
retried with exponential backoff, honouring ``Retry-After``; everything else becomes a one-line
RpcError. URLs in messages are reduced to scheme://host[:port] because RPC URLs often carry API keys.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider

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
    """A transient failure persisted through every retry. ``kind``: timeout, http, rate, connection, malformed."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Transient(Exception):
    def __init__(self, why: str, retry_after: float | None = None, kind: str = "http") -> None:
        super().__init__(why)
        self.retry_after = retry_after
        self.kind = kind


# Messages with which common nodes (geth, erigon, nethermind, reth, anvil, hosted providers) refuse
# state they have pruned. Matched case-insensitively against the JSON-RPC error message.
_ARCHIVE_PATTERNS = re.compile(
    r"missing trie node|header not found|historical state|state (is )?not available|pruned|"
    r"archive|old data not available|state histories|required historical|too old|"
    r"distance to target block exceeds|unknown ancestor|state at block .* is (unavailable|not)",
    re.IGNORECASE,
)
_RATE_LIMIT_PATTERNS = re.compile(r"rate limit|too many requests|limit exceeded|capacity|try again",
                                  re.IGNORECASE)


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` only: RPC URLs often hold an API key in the path or query."""
    try:
        p = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if not p.scheme or not p.hostname:
        return url.split("?")[0][:40]
    port = f":{p.port}" if p.port else ""
    return f"{p.scheme}://{p.hostname}{port}"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts after the first, exponential backoff (s), per-request timeout (s)."""

    max_retries: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    timeout_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        d = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
        if retry_after is not None:
            d = min(self.max_backoff_s, max(d, retry_after))
        return d


class RpcClient:
    """One HTTP JSON-RPC endpoint. ``request`` returns the ``result`` or raises a DefiPerpsError."""

    def __init__(self, url: str, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise RpcError(f"RPC URL must start with http:// or https://, got {redact_url(str(url))!r}")
        self.url = url
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        # web3's own retry is switched off: retries happen here, where they are counted.
        self.provider = HTTPProvider(url, request_kwargs={"timeout": self.retry.timeout_s},
                                     exception_retry_configuration=None)
        self.round_trips = 0
        self.retries = 0
        self._answered = False
        self._lock = threading.Lock()   # multicall batches may be in flight on several threads

    @property
    def where(self) -> str:
        return redact_url(self.url)

    def request(self, method: str, params: list[Any]) -> Any:
        attempt = 0
        while True:
            try:
                return self._once(method, params)
            except _Transient as t:
                if attempt >= self.retry.max_retries:
                    raise RpcRetriesExhausted(f"RPC {self.where} failed {attempt + 1} times on {method}: {t}",
                                              t.kind) from None
                with self._lock:
                    self.retries += 1
                self._sleep(self.retry.delay(attempt, t.retry_after))
                attempt += 1

    def _once(self, method: str, params: list[Any]) -> Any:
        with self._lock:
            self.round_trips += 1
        try:
            resp = self.provider.make_request(method, params)  # type: ignore[arg-type]
        except requests.Timeout:
            raise _Transient(f"timed out after {self.retry.timeout_s:g}s", kind="timeout") from None
        except requests.HTTPError as err:
            status = err.response.status_code if err.response is not None else 0
            if status == 429 or status >= 500:
                raise _Transient(f"HTTP {status}", _retry_after(err.response)) from None
            if status == 413:
                raise RpcCallError(f"RPC {self.where} refused {method}: HTTP 413 request too large", 413) from None
            raise RpcError(f"RPC {self.where} answered HTTP {status} to {method}") from None
        except requests.ConnectionError as err:
            if not self._answered:
                raise RpcUnreachable(f"cannot reach RPC at {self.where}: {_short(err)}") from None
            raise _Transient(f"connection dropped: {_short(err)}", kind="connection") from None
        except (ValueError, UnicodeDecodeError) as err:
            # Not JSON: a proxy error page, a truncated body. Retry; a healthy node answers JSON.
            raise _Transient(f"malformed answer ({type(err).__name__})", kind="malformed") from None
        self._answered = True
        if not isinstance(resp, dict):
            raise RpcError(f"RPC {self.where} gave a malformed answer to {method}")
        if "error" in resp and resp["error"] is not None:
            err = resp["error"]
            code = err.get("code") if isinstance(err, dict) else None
            msg = str(err.get("message", err)) if isinstance(err, dict) else str(err)
            if code == 429 or code == -32005 or _RATE_LIMIT_PATTERNS.search(msg):
                raise _Transient(f"rate limited ({msg[:80]})", kind="rate")
            if method == "eth_call" and _ARCHIVE_PATTERNS.search(msg):
                block = params[1] if len(params) > 1 else "?"
                blk = int(block, 16) if isinstance(block, str) and block.startswith("0x") else block
                raise ArchiveNodeRequired(
                    f"RPC {self.where} cannot serve state at block {blk} ({msg[:100]}); "
                    "use an archive node for historical blocks")
            raise RpcCallError(f"RPC {self.where} error on {method}: {msg[:200]}", code, msg)
        return resp.get("result")

    # ---- small typed helpers ------------------------------------------------------------------
    def chain_id(self) -> int:
        return int(self.request("eth_chainId", []), 16)

    def get_block(self, block: int | str) -> dict[str, Any] | None:
        tag = hex(block) if isinstance(block, int) else block
        return self.request("eth_getBlockByNumber", [tag, False])

    def eth_call(self, to: str, data: bytes, block: int, gas: int | None = None) -> bytes:
        tx: dict[str, Any] = {"to": to, "data": "0x" + data.hex()}
        if gas is not None:
            tx["gas"] = hex(gas)
        out = self.request("eth_call", [tx, hex(block)])
        if not isinstance(out, str):
            raise RpcError(f"RPC {self.where} gave a malformed eth_call answer")
        return bytes.fromhex(out[2:] if out.startswith("0x") else out)


def _retry_after(resp: Any) -> float | None:
    try:
        return float(resp.headers.get("Retry-After"))
    except (AttributeError, TypeError, ValueError):
        return None


def _short(err: BaseException) -> str:
    text = str(err)
    for needle in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                   "timed out", "No route to host", "Connection reset"):
        if needle in text:
            return needle.lower()
    return type(err).__name__
