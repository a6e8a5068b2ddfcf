"""``defi-perps devnet up|down|status``: the local anvil devnet with a seeded GMX v2 book.

``up`` starts anvil detached (it outlives the command), deploys, seeds and writes its state into
``defi_perps.paths.devnet_dir()``: ``state.json`` (pid, port, addresses), ``devnet.toml`` (chain
file for ``--chain-file``), ``book.json`` (the exact seeded book) and ``anvil.log``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from defi_perps.commands._common import emit_json, json_option, progress_bar, seed_option
from defi_perps.exceptions import DevnetError


# Seeding writes every position on chain (~1 s per 10,000 on a laptop) and keeps the book in
# memory; beyond this a devnet is no longer a demo and the state file alone reaches gigabytes.
MAX_DEVNET_POSITIONS = 1_000_000
STATE_FILE = "state.json"  # = defi_perps.devnet.handle.STATE_FILE (kept here to avoid importing web3)


def _state_path() -> Path:
    from defi_perps.paths import devnet_dir

    return devnet_dir() / STATE_FILE


def _read_state() -> dict[str, Any] | None:
    p = _state_path()
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _is_our_anvil(pid: int) -> bool:
    """Only a live process whose command line is anvil counts (pids get reused)."""
    from defi_perps.devnet.anvil import pid_alive

    if not pid_alive(pid):
        return False
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): trust the state file's pid
    return any(part.endswith(b"anvil") or b"anvil-" in part for part in cmd[:2])


def _live(state: dict[str, Any]) -> dict[str, Any] | None:
    """Block number and on-chain counts if the recorded devnet answers, else None."""
    from defi_perps.devnet.anvil import CHAIN_ID, rpc

    if not _is_our_anvil(int(state.get("pid", 0))):
        return None
    url = state["rpc_url"]
    try:
        if int(rpc(url, "eth_chainId", timeout=2.0), 16) != CHAIN_ID:
            return None
        block = int(rpc(url, "eth_blockNumber", timeout=2.0), 16)
        from defi_perps.protocols.gmx_v2 import keys as K

        def count(selector: str, key: bytes) -> int:
            out = rpc(url, "eth_call", [{"to": state["addresses"]["data_store"],
                                         "data": selector + key.hex()}, "latest"], timeout=5.0)
            return int(out, 16)

        from eth_utils import keccak

        sel_b = "0x" + keccak(text="getBytes32Count(bytes32)")[:4].hex()
        sel_a = "0x" + keccak(text="getAddressCount(bytes32)")[:4].hex()
        return {"block_number": block, "positions_on_chain": count(sel_b, K.POSITION_LIST),
                "markets_on_chain": count(sel_a, K.MARKET_LIST)}
    except (DevnetError, OSError, ValueError, KeyError):
        return None


def _summary(state: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any]:
    keys = ("rpc_url", "chain_id", "pid", "port", "chain_file", "book_file", "log_file", "seed", "positions",
            "accounts", "markets", "seeded_block", "setup_seconds", "addresses", "protocols", "parts")
    out = {k: state.get(k) for k in keys}
    out["running"] = live is not None
    if live:
        out.update(live)
    return out


@click.group()
def devnet() -> None:
    """Start, stop and inspect the local anvil devnet (GMX v2-compatible contracts + a seeded book)."""


@devnet.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True, help="Port for anvil.")
@click.option("--positions", type=click.IntRange(0, MAX_DEVNET_POSITIONS), default=20_000, show_default=True,
              help=f"Number of positions to seed (at most {MAX_DEVNET_POSITIONS:,}).")
@click.option("--accounts", type=click.IntRange(1, MAX_DEVNET_POSITIONS), default=None,
              help="Number of trader accounts (default: 5,000 for the default book).")
@seed_option("Random seed of the book.")
@click.option("--market", "markets", multiple=True, metavar="NAME",
              help="Only this market (repeatable; e.g. ETH, 'BTC/USD [WBTC-USDC]'). Default: all.")
@click.option("--protocols", "protocols", default="gmx-v2", show_default=True, metavar="LIST",
              help="Comma-separated protocols to deploy and seed (gmx-v2 is always deployed), e.g. gmx-v2,gmx-v1.")
@json_option
def up(port: int, positions: int, accounts: int | None, seed: int, markets: tuple[str, ...], protocols: str,
       as_json: bool) -> None:
    """Start anvil, deploy the contracts, seed the book(s) and write the chain file."""
    from defi_perps.devnet import start_devnet
    from defi_perps.devnet.handle import default_accounts, devnet_protocols
    from defi_perps.exceptions import InputError
    from defi_perps.paths import devnet_dir
    from defi_perps.protocols import registry

    names = [p.strip() for p in protocols.split(",") if p.strip()]
    if not names:
        raise InputError("--protocols is empty; give e.g. gmx-v2,gmx-v1")
    supported = devnet_protocols()
    chosen = []
    for n in names:
        plugin = registry.get(n)                # unknown: one line, did-you-mean
        if plugin.name not in supported:
            raise InputError(f"{plugin.name} has no devnet deployment; --protocols supports: {', '.join(supported)}")
        chosen.append(plugin.name)
    chosen = ["gmx-v2"] + [p for p in dict.fromkeys(chosen) if p != "gmx-v2"]

    state = _read_state()
    if state is not None:
        live = _live(state)
        if live is not None:
            wanted = {"seed": seed, "positions": positions,
                      "accounts": accounts if accounts is not None else default_accounts(positions)}
            same = all(state.get(k) == v for k, v in wanted.items()) and state.get("port") == port and \
                (state.get("protocols") or ["gmx-v2"]) == chosen
            if not same:
                raise DevnetError(f"a devnet is already running at {state['rpc_url']} (pid {state['pid']}) with "
                                  f"other settings; run `defi-perps devnet down` first")
            click.echo(f"devnet already running at {state['rpc_url']} (pid {state['pid']}); reusing it", err=True)
            _emit(_summary(state, live), as_json)
            return
        _state_path().unlink(missing_ok=True)  # stale: that anvil is gone
    with progress_bar("seeding positions", total=positions) as bar:
        handle = start_devnet(port=port, positions=positions, accounts=accounts, seed=seed,
                              markets=list(markets) or None, state_dir=devnet_dir(), detached=True,
                              progress=bar.advance, protocols=chosen)
    state = _read_state() or {}
    _emit(_summary(state, _live(state) or {"block_number": handle.book.block_number}), as_json)


def _emit(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(info)
        return
    a = info.get("addresses") or {}
    n_markets = len(info.get("markets") or [])
    click.echo(f"devnet running at {info['rpc_url']} (chain {info['chain_id']}, pid {info['pid']})")
    click.echo(f"  {n_markets} markets, {info['positions']} positions from {info['accounts']} accounts "
               f"(seed {info['seed']}), seeded at block {info['seeded_block']} in {info['setup_seconds']} s")
    click.echo(f"  DataStore {a.get('data_store')}  Reader {a.get('reader')}  Multicall3 {a.get('multicall3')}")
    for key, part in (info.get("parts") or {}).items():
        click.echo(f"  {key}: {part.get('positions')} positions; {part.get('addresses')}")
    click.echo(f"  chain file: {info['chain_file']}")
    for p in info.get("protocols") or ["gmx-v2"]:
        click.echo(f"  next: defi-perps index {p} --chain-file {info['chain_file']}")


@devnet.command()
@json_option
def down(as_json: bool) -> None:
    """Stop the devnet started by `devnet up`."""
    from defi_perps.devnet.anvil import stop_pid

    state = _read_state()
    stopped = False
    if state is not None:
        pid = int(state.get("pid", 0))
        if pid and _is_our_anvil(pid):
            stop_pid(pid)
            stopped = True
        _state_path().unlink(missing_ok=True)
    if as_json:
        emit_json({"stopped": stopped, "pid": state.get("pid") if state else None})
    elif stopped:
        click.echo(f"devnet stopped (pid {state['pid']})")  # type: ignore[index]
    else:
        click.echo("no devnet running")


@devnet.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show whether the devnet is running, its RPC URL, block and on-chain position count.

    Exits 0 when the devnet answers, 1 when none runs (so scripts can test it)."""
    state = _read_state()
    live = _live(state) if state else None
    if state is None:
        info: dict[str, Any] = {"running": False}
    else:
        info = _summary(state, live)
    if as_json:
        emit_json(info)
        if not live:
            ctx.exit(1)
        return
    if not live:
        click.echo("no devnet running" + (" (stale state file removed by the next `devnet up`)" if state else ""),
                   err=True)
        ctx.exit(1)
    click.echo(f"devnet running at {info['rpc_url']} (pid {info['pid']}): block {info['block_number']}, "
               f"{info['positions_on_chain']} positions in {info['markets_on_chain']} markets")
    click.echo(f"  chain file: {info['chain_file']}")
