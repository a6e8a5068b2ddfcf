"""Find, start and stop the anvil node (npm ``@foundry-rs/anvil``, pinned in package.json).

Lookup order for the binary (:func:`find_anvil`): ``$DEFI_PERPS_ANVIL``; ``node_modules`` in the
current directory or any parent and beside this checkout; the package's own npm folder
(:func:`npm_prefix`: ``$DEFI_PERPS_HOME/npm``, where the install hint puts it, so an installed
package outside the clone finds it); then ``anvil`` on PATH. In a ``node_modules`` the native
binary of the platform package ``@foundry-rs/anvil-<os>-<arch>`` is preferred over the
``.bin/anvil`` node wrapper. When none is found, one line says how to install it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from defi_perps.exceptions import DevnetError

CHAIN_ID = 31337
# Genesis time of every devnet (2026-01-01T00:00:00Z): block times, feed rounds and the seeded
# book's open times are all relative to it, so a seed gives the same chain on any day.
GENESIS_TIMESTAMP = 1767225600
# Seeding writes thousands of positions per transaction; GMX-sized batches need far more than
# mainnet's 30M gas per block. eth_call gets the same cap, so whole-book Reader pages fit.
BLOCK_GAS_LIMIT = 30_000_000_000


ANVIL_NPM_PACKAGE = "@foundry-rs/anvil"
ANVIL_VERSION = "1.7.1"   # = package.json; tests/devnet check they agree


def npm_prefix() -> Path:
    """The package's own npm folder: ``npm install --prefix <this>`` puts anvil where it is found."""
    from defi_perps.paths import home

    return home() / "npm"


def _in_node_modules(d: Path) -> Path | None:
    # Prefer the platform package's native binary over the node wrapper in .bin: the wrapper is a
    # second process, and a SIGKILL to it would orphan the real anvil.
    native = sorted((d / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
    if native and os.access(native[0], os.X_OK):
        return native[0]
    cand = d / "node_modules" / ".bin" / "anvil"
    if cand.is_file() and os.access(cand, os.X_OK):
        return cand
    return None


def install_hint() -> str:
    return (f"install it with `npm install --prefix {npm_prefix()} {ANVIL_NPM_PACKAGE}@{ANVIL_VERSION}` "
            "(or `npm ci` in a defi-perps clone), put anvil on PATH, or set $DEFI_PERPS_ANVIL to the binary")


def find_anvil(start: Path | None = None) -> Path:
    """Path of the anvil binary, or a one-line DevnetError saying how to install it."""
    env = os.environ.get("DEFI_PERPS_ANVIL")
    if env:
        p = Path(env).expanduser()
        if p.is_file() and os.access(p, os.X_OK):
            return p
        raise DevnetError(f"$DEFI_PERPS_ANVIL={env} is not an executable file; point it at the anvil binary")
    here = (start or Path.cwd()).resolve()
    checkout = Path(__file__).resolve().parents[2]
    for d in (here, *here.parents, checkout):
        found = _in_node_modules(d)
        if found is not None:
            return found
    try:
        own = _in_node_modules(npm_prefix())
    except Exception:  # noqa: BLE001 - an unusable DEFI_PERPS_HOME must not hide the PATH lookup
        own = None
    if own is not None:
        return own
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise DevnetError(f"anvil not found: {install_hint()}")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS reports free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 30.0) -> Any:
    """One raw JSON-RPC call (used before web3 is set up and for anvil_* methods)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        out = json.loads(resp.read())
    if "error" in out:
        raise DevnetError(f"{method} failed: {out['error'].get('message', out['error'])}")
    return out["result"]


@dataclass
class AnvilNode:
    """A running anvil process we started (or found, by pid, from a state file)."""

    port: int
    pid: int
    log_path: Path | None = None
    host: str = "127.0.0.1"
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return pid_alive(self.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate this anvil (only the process we started, by its pid)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout)
            return
        stop_pid(self.pid, timeout)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return True


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    if not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def start_anvil(port: int | None = None, log_path: Path | None = None, detached: bool = False,
                timeout: float = 30.0) -> AnvilNode:
    """Start anvil on ``port`` (a free one if None) and wait until it answers JSON-RPC.

    ``detached`` starts it in its own session so it outlives this Python process (``devnet up``).
    """
    binary = find_anvil()
    if port is None:
        port = free_port()
    elif port_in_use(port):
        raise DevnetError(f"port {port} is already in use; pass another --port or stop what listens there")
    args = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(CHAIN_ID),
            "--timestamp", str(GENESIS_TIMESTAMP), "--gas-limit", str(BLOCK_GAS_LIMIT),
            "--disable-code-size-limit", "--no-request-size-limit", "--accounts", "10"]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=detached)
    except OSError as err:
        raise DevnetError(f"cannot start anvil ({binary}): {err}") from None
    finally:
        if log_path:
            log.close()  # type: ignore[union-attr]
    node = AnvilNode(port=port, pid=proc.pid, log_path=log_path, _proc=proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            hint = f"; see {log_path}" if log_path else ""
            raise DevnetError(f"anvil exited with code {proc.returncode} while starting on port {port}{hint}")
        try:
            if int(rpc(node.rpc_url, "eth_chainId", timeout=1.0), 16) == CHAIN_ID:
                return node
        except (urllib.error.URLError, ConnectionError, OSError, ValueError, DevnetError):
            pass
        time.sleep(0.1)
    node.stop()
    raise DevnetError(f"anvil did not answer on {node.rpc_url} within {timeout:.0f}s")
