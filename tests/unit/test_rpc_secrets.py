"""RPC URLs and node error texts never leak secrets (issue 14 §4), and the JSON-RPC client checks the
shape of every answer against a local fake node (no chain needed)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from defi_perps.exceptions import RpcError
from defi_perps.rpc.client import RetryPolicy, RpcClient, redact_url, scrub

ROOT = Path(__file__).resolve().parents[2]
KEY = "Sup3rSecretKey123"


@pytest.mark.parametrize("url", [
    f"127.0.0.1:8545/{KEY}",                 # no scheme
    f"http:///{KEY}",                        # no host
    f"http://node.example:99999/{KEY}",      # port out of range
    f"http://node.example:80a/{KEY}",        # port not a number
    f"http://[::1/{KEY}",                    # broken IPv6 bracket
    f"ftp://node.example/{KEY}",             # not http(s)
    f"wss://user:{KEY}@node.example/ws",
    "",
])
def test_unparseable_rpc_url_is_never_echoed(url: str) -> None:
    with pytest.raises(RpcError) as e:
        RpcClient(url)
    assert KEY not in str(e.value) and "\n" not in str(e.value)
    assert KEY not in redact_url(url)


@pytest.mark.parametrize("url", [f"127.0.0.1:8545/{KEY}", f"http://node.example:99999/{KEY}"])
def test_cli_never_echoes_a_bad_rpc_url(url: str, tmp_path: Path) -> None:
    chain = ROOT / "chains" / "arbitrum.toml"
    r = subprocess.run([sys.executable, "cli.py", "index", "gmx-v2", "--chain-file", str(chain), "--rpc", url,
                        "--db", f"sqlite:///{tmp_path / 'x.db'}"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and KEY not in r.stderr + r.stdout and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_scrub_removes_credentials_path_keys_and_query_values() -> None:
    url = f"https://alice:{KEY}@arb-mainnet.example.com/v2/{KEY}x?apikey={KEY}y&x=1"
    text = f"upstream {url} failed for key {KEY}x with apikey={KEY}y (user alice:{KEY})"
    out = scrub(text, url)
    assert KEY not in out and "arb-mainnet.example.com" in out


class _Fake:
    """A local HTTP endpoint that answers every POST with ``answer(request)`` (a dict or raw bytes)."""

    def __init__(self, answer: Any) -> None:
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                out = fake.answer(req)
                data = out if isinstance(out, bytes) else json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.answer = answer
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/{KEY}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


FAST = RetryPolicy(max_retries=2, backoff_s=0.001, max_backoff_s=0.002, timeout_s=2.0)


def _client_error(answer: Any) -> str:
    f = _Fake(answer)
    try:
        with pytest.raises(RpcError) as e:
            RpcClient(f.url, FAST).chain_id()
        return str(e.value)
    finally:
        f.close()


def test_node_error_text_is_scrubbed() -> None:
    msg = _client_error(lambda req: {"jsonrpc": "2.0", "id": req["id"],
                                     "error": {"code": -32000, "message": f"bad key {KEY} for /v2/{KEY}"}})
    assert KEY not in msg and "***" in msg and "\n" not in msg


@pytest.mark.parametrize("answer, needle", [
    (lambda req: {"jsonrpc": "2.0", "id": req["id"] + 1, "result": "0x1"}, "another request"),
    (lambda req: {"jsonrpc": "2.0", "id": "x", "result": "0x1"}, "another request"),
    (lambda req: {"jsonrpc": "1.0", "id": req["id"], "result": "0x1"}, "another request"),
    (lambda req: [{"jsonrpc": "2.0", "id": req["id"], "result": "0x1"}], "not an object"),
    (lambda req: {"jsonrpc": "2.0", "id": req["id"]}, "neither result nor error"),
    (lambda req: {"jsonrpc": "2.0", "id": req["id"], "result": None}, "hex quantity"),
    (lambda req: {"jsonrpc": "2.0", "id": req["id"], "result": "0xZZ"}, "hex quantity"),
    (lambda req: b"<html>502 bad gateway</html>", "malformed"),
    (lambda req: b'{"jsonrpc": "2.0", "id": 1, "res', "malformed"),
], ids=["id+1", "id-str", "jsonrpc-1", "batch-array", "no-result", "null", "nonhex", "html", "truncated"])
def test_bad_answers_are_retried_then_one_line(answer: Any, needle: str) -> None:
    msg = _client_error(answer)
    assert needle in msg and "failed 3 times" in msg and KEY not in msg


def test_answer_above_the_cap_is_refused_while_reading() -> None:
    f = _Fake(lambda req: {"jsonrpc": "2.0", "id": req["id"], "result": "0x" + "00" * 50_000})
    try:
        with pytest.raises(RpcError, match="byte cap"):
            RpcClient(f.url, RetryPolicy(max_retries=0, timeout_s=2.0, max_answer_bytes=10_000)).chain_id()
    finally:
        f.close()
