"""A small HTTP proxy in front of anvil that injects faults (429, 5xx, timeouts, refused batches,
pruned-state errors) on request, for the RPC layer's retry / backoff / batch-halving tests."""

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


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rules: list[Rule] = []
        self.requests = 0
        self.injected = 0
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
                if fault is not None and not fault.forward_after_delay:
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
                r = urllib.request.Request(proxy.upstream, data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(r, timeout=120) as resp:
                    out = resp.read()
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
