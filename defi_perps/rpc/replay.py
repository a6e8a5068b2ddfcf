"""Recorded JSON-RPC answers: a recorder and a replaying transport for :class:`RpcClient`.

One file per distinct request, in the style of ethereum-etl's ``tests/resources/.../
web3_response.<method>_<params>.json``: ``web3_response.<method>_<digest>.json`` where ``digest`` is
the first 16 hex digits of sha256 over the canonical JSON of the params. A file holds the request
(method, params) and the node's exact answer object(s)::

    {"request": {"method": "eth_call", "params": [...]},
     "responses": [{"jsonrpc": "2.0", "id": 7, "result": "0x…"}]}

More than one response is kept only when the node answered the same request differently during the
recording (``eth_getBlockByNumber("latest")`` after a new block); replay hands them out in order and
repeats the last.

Recording and replaying clients set ``deterministic_nonces``: the Multicall3 batch nonce (the
identity-precompile echo of rpc/multicall.py) becomes a digest of the batch instead of random bytes,
so a replay sends the very bytes that were recorded.

Replay goes through the whole client: the answer is re-serialised with the replaying request's id
and then parsed and checked exactly as an HTTP answer is (id, ``jsonrpc``, result shape, the
Multicall3 block checks), so a reader is checked against fixed bytes. A request with no recording is
an :class:`RpcReplayMiss` (a one-line error naming the method), never a network call: a change in a
reader's calls fails a fixture test, and a change in its decoding changes its golden output.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from defi_perps.exceptions import InputError, RpcError
from defi_perps.rpc.client import RetryPolicy, RpcClient

PREFIX = "web3_response."
REPLAY_URL = "http://replay.invalid"     # never contacted: the replay transport answers instead


class RpcReplayMiss(RpcError):
    """A request has no recorded answer in the fixture folder."""


def canonical(params: list[Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def file_name(method: str, params: list[Any]) -> str:
    digest = hashlib.sha256(canonical(params).encode()).hexdigest()[:16]
    return f"{PREFIX}{method}_{digest}.json"


class Recorder:
    """Keeps every distinct request and the node's answer(s); ``flush`` writes the files."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, Any]] = {}

    def __call__(self, method: str, params: list[Any], answer: dict[str, Any]) -> None:
        name = file_name(method, params)
        with self._lock:
            rec = self._seen.setdefault(name, {"request": {"method": method, "params": params}, "responses": []})
            body = {k: answer[k] for k in ("jsonrpc", "id", "result", "error") if k in answer}
            prev = rec["responses"][-1] if rec["responses"] else None
            if prev is None or {k: v for k, v in prev.items() if k != "id"} != \
                    {k: v for k, v in body.items() if k != "id"}:
                rec["responses"].append(body)

    def flush(self) -> int:
        """Write one file per request (sorted keys, so a re-recording diffs cleanly); the count."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for name, rec in self._seen.items():
                (self.folder / name).write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
            return len(self._seen)


class ReplayTransport:
    """Answers :meth:`RpcClient._once` from the recorded files of ``folder``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"replay folder not found: {self.folder}")
        self._answers: dict[str, list[dict[str, Any]]] = {}
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        for f in sorted(self.folder.glob(PREFIX + "*.json")):
            try:
                rec = json.loads(f.read_text())
                req = rec["request"]
                key = file_name(req["method"], req["params"])
                answers = rec["responses"]
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise InputError(f"recorded answer {f.name} is not a request/response file ({err})") from None
            if not isinstance(answers, list) or not answers:
                raise InputError(f"recorded answer {f.name} has no responses")
            self._answers[key] = answers
        if not self._answers:
            raise InputError(f"no recorded answers ({PREFIX}*.json) in {self.folder}")
        self.served = 0
        self.unused = set(self._answers)

    def exchange(self, method: str, params: list[Any], rid: int) -> tuple[int, bytes]:
        key = file_name(method, params)
        with self._lock:
            answers = self._answers.get(key)
            if answers is None:
                raise RpcReplayMiss(f"no recorded answer for {method} {canonical(params)[:120]} in {self.folder} "
                                    f"(expected file {key}): the reader's requests changed; re-record the fixture")
            i = self._next.get(key, 0)
            self._next[key] = i + 1
            self.served += 1
            self.unused.discard(key)
            answer = dict(answers[min(i, len(answers) - 1)])
        answer["id"] = rid
        return 200, json.dumps(answer).encode()


def replaying_client(folder: str | Path, retry: RetryPolicy | None = None) -> RpcClient:
    """A client that answers every request from ``folder`` (no network)."""
    c = RpcClient(REPLAY_URL, retry or RetryPolicy(max_retries=0))
    c.transport = ReplayTransport(folder)
    c.deterministic_nonces = True
    return c


class RecordingClient(RpcClient):
    """An HTTP client that records every answer into ``folder`` (written on ``close``)."""

    def __init__(self, url: str, folder: str | Path, retry: RetryPolicy | None = None) -> None:
        super().__init__(url, retry)
        self.recorder = Recorder(folder)
        self.on_answer = self.recorder
        self.deterministic_nonces = True   # Multicall3 batch nonces a replay can reproduce

    def close(self) -> None:
        super().close()
        self.recorder.flush()


def recording_client(url: str, folder: str | Path, retry: RetryPolicy | None = None) -> RpcClient:
    return RecordingClient(url, folder, retry)
