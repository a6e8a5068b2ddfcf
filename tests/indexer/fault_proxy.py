"""A small HTTP proxy in front of anvil that injects faults (429, 5xx, timeouts, refused batches,
pruned-state errors) and lies (answers for another request or block, corrupted elements, absurd
lengths) on request, for the RPC layer's retry / backoff / batch-halving / verification tests."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A rule sees the decoded JSON-RPC request and the request's sequence number and returns a Fault
# to inject, or None to forward to anvil.
Rule = Callable[[dict[str, Any], int], "Fault | None"]


@dataclass
class Fault:
    status: int = 200
    body: Any = None                 # JSON body to send (None: empty)
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    forward_after_delay: bool = False  # sleep, then forward (a slow but correct answer)
    # forward, but edit the request before (e.g. another block) and/or the answer after
    edit_request: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    edit_response: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None

    @property
    def forwards(self) -> bool:
        return self.forward_after_delay or self.edit_request is not None or self.edit_response is not None


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rules: list[Rule] = []
        self.requests = 0
        self.injected = 0
        self.answers: list[tuple[dict[str, Any], bytes]] = []   # forwarded (request, answer) pairs
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = json.loads(body)
                proxy.requests += 1
                n = proxy.requests
                fault = None
                for rule in proxy.rules:
                    fault = rule(req, n)
                    if fault is not None:
                        break
                if fault is not None and not fault.forwards:
                    proxy.injected += 1
                    time.sleep(fault.delay_s)
                    data = b"" if fault.body is None else json.dumps(fault.body).encode()
                    try:
                        self.send_response(fault.status)
                        for k, v in fault.headers.items():
                            self.send_header(k, v)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                if fault is not None:
                    proxy.injected += 1
                    time.sleep(fault.delay_s)
                    if fault.edit_request is not None:
                        body = json.dumps(fault.edit_request(json.loads(body))).encode()
                r = urllib.request.Request(proxy.upstream, data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(r, timeout=120) as resp:
                    out = resp.read()
                if fault is not None and fault.edit_response is not None:
                    out = json.dumps(fault.edit_response(req, json.loads(out))).encode()
                proxy.answers.append((req, out))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rpc_error(req: dict[str, Any], code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": req.get("id"), "error": {"code": code, "message": message}}


class SilentServer:
    """Accepts TCP connections and reads requests, but never answers (a hung node or load balancer)."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._conns: list[Any] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(c)   # keep it open, never write

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for c in self._conns:
            c.close()
