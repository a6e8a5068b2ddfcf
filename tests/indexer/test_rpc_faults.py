"""Retries with backoff (429, 5xx, timeouts, rate-limit errors), batch halving, pruned-state errors:
a local proxy in front of the devnet's anvil injects the faults; the reads must still be exact."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from defi_perps.config import load_chain_file
from defi_perps.exceptions import ArchiveNodeRequired, RpcError
from defi_perps.indexer.gmx_v2 import index_gmx_v2
from defi_perps.rpc.client import RetryPolicy, RpcClient

from fault_proxy import Fault, FaultProxy, rpc_error

pytestmark = pytest.mark.anvil
FAST = RetryPolicy(max_retries=4, backoff_s=0.01, max_backoff_s=0.05, timeout_s=1.0)


@pytest.fixture
def proxy(shared_devnet):  # type: ignore[no-untyped-def]
    p = FaultProxy(shared_devnet.rpc_url)
    yield p
    p.close()


def _index(h, url: str, retry: RetryPolicy = FAST, batch: int = 500):  # type: ignore[no-untyped-def]
    return index_gmx_v2(load_chain_file(h.chain_file), url, h.book.block_number, store=False, retry=retry,
                        batch_size=batch)


def _every_nth(n: int, fault: Fault, method: str | None = None):  # type: ignore[no-untyped-def]
    """Fail every n-th distinct request, once: its retry (same method and params) goes through. (By
    request number alone, a retry racing other threads' requests could land on a faulted number
    again and again.)"""
    seen: set[str] = set()
    lock = threading.Lock()

    def rule(req: dict[str, Any], i: int) -> Fault | None:
        if method and req.get("method") != method:
            return None
        key = json.dumps([req.get("method"), req.get("params")], sort_keys=True)
        with lock:
            if key in seen:
                return None
            seen.add(key)
            return fault if len(seen) % n == 0 else None
    return rule


@pytest.mark.parametrize("fault", [
    Fault(429, {"error": "too many requests"}, headers={"Retry-After": "0"}),
    Fault(503, None), Fault(500, {"oops": 1}), Fault(502, None),
], ids=["http429", "http503", "http500", "http502"])
def test_transient_http_errors_are_retried(shared_devnet, proxy, fault: Fault) -> None:  # type: ignore[no-untyped-def]
    proxy.rules.append(_every_nth(2, fault))           # every other request fails once
    rep, snap = _index(shared_devnet, proxy.url)
    assert {p.key: p for p in snap.positions} == {p.key: p for p in shared_devnet.book.positions}
    assert rep.retries >= 1 and proxy.injected >= 1
    assert rep.round_trips == proxy.requests            # every HTTP request is counted, failed ones too


def test_jsonrpc_rate_limit_error_is_retried(shared_devnet, proxy) -> None:  # type: ignore[no-untyped-def]
    seen = {"n": 0}

    def rule(req: dict[str, Any], i: int) -> Fault | None:
        if req.get("method") == "eth_call" and seen["n"] < 2:
            seen["n"] += 1
            return Fault(200, rpc_error(req, -32005, "limit exceeded: rate limit"))
        return None
    proxy.rules.append(rule)
    rep, snap = _index(shared_devnet, proxy.url)
    assert rep.retries == 2 and len(snap.positions) == len(shared_devnet.book.positions)


def test_timeouts_are_retried(shared_devnet, proxy) -> None:  # type: ignore[no-untyped-def]
    seen = {"n": 0}

    def rule(req: dict[str, Any], i: int) -> Fault | None:
        if req.get("method") == "eth_call" and seen["n"] < 1:
            seen["n"] += 1
            return Fault(delay_s=2.5, forward_after_delay=True)   # longer than the 1 s client timeout
        return None
    proxy.rules.append(rule)
    rep, snap = _index(shared_devnet, proxy.url)
    assert rep.retries >= 1 and len(snap.positions) == len(shared_devnet.book.positions)


def test_oversized_batches_halve_until_they_fit(shared_devnet, proxy) -> None:  # type: ignore[no-untyped-def]
    # The "node" refuses eth_call payloads above 6 kB (like a gas cap or a response-size limit):
    # ~60 getPosition calls fit, so a 500-call batch must halve three times.
    def rule(req: dict[str, Any], i: int) -> Fault | None:
        if req.get("method") == "eth_call" and len(req["params"][0]["data"]) > 12_000:
            return Fault(200, rpc_error(req, -32000, "out of gas: gas required exceeds allowance"))
        return None
    proxy.rules.append(rule)
    rep, snap = _index(shared_devnet, proxy.url, batch=500)
    # (the first batch to fail may be a market-values tail smaller than 500, so fewer halvings
    # can reach a size that fits)
    assert rep.batch_halvings >= 2 and rep.batch_size_final <= 62
    assert {p.key: p for p in snap.positions} == {p.key: p for p in shared_devnet.book.positions}
    assert set(snap.markets) == set(shared_devnet.book.markets)


def test_batches_that_keep_timing_out_are_split(shared_devnet, proxy) -> None:  # type: ignore[no-untyped-def]
    # big eth_call payloads never answer in time (a node choking on a huge batch); small ones do
    def rule(req: dict[str, Any], i: int) -> Fault | None:
        if req.get("method") == "eth_call" and len(req["params"][0]["data"]) > 20_000:
            return Fault(delay_s=1.0, forward_after_delay=True)
        return None
    proxy.rules.append(rule)
    impatient = RetryPolicy(max_retries=1, backoff_s=0.01, max_backoff_s=0.01, timeout_s=0.4)
    rep, snap = _index(shared_devnet, proxy.url, retry=impatient, batch=500)
    assert rep.batch_halvings >= 2
    assert {p.key: p for p in snap.positions} == {p.key: p for p in shared_devnet.book.positions}


def test_persistent_5xx_gives_one_line_rpc_error(shared_devnet, proxy) -> None:  # type: ignore[no-untyped-def]
    proxy.rules.append(lambda req, i: Fault(503, None) if req.get("method") == "eth_call" else None)
    with pytest.raises(RpcError) as e:
        _index(shared_devnet, proxy.url)
    assert "HTTP 503" in str(e.value) and "\n" not in str(e.value)
    assert proxy.injected == FAST.max_retries + 1   # no batch splitting against a server that is down


def test_pruned_state_is_archive_node_required(shared_devnet, proxy) -> None:  # type: ignore[no-untyped-def]
    proxy.rules.append(lambda req, i: Fault(200, rpc_error(req, -32000, "missing trie node abc (path )"))
                       if req.get("method") == "eth_call" else None)
    with pytest.raises(ArchiveNodeRequired) as e:
        _index(shared_devnet, proxy.url)
    assert f"block {shared_devnet.book.block_number}" in str(e.value)


def test_backoff_grows_exponentially_and_honours_retry_after() -> None:
    p = RetryPolicy(max_retries=5, backoff_s=0.5, max_backoff_s=8.0)
    assert [p.delay(i) for i in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert p.delay(0, retry_after=3.0) == 3.0


def test_secrets_in_rpc_url_are_not_echoed() -> None:
    with pytest.raises(RpcError) as e:
        RpcClient("http://127.0.0.1:1/v2/SECRETKEY?key=SECRET2").chain_id()
    assert "SECRET" not in str(e.value)
