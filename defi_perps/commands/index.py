"""``defi-perps index PROTOCOL``: snapshot a protocol's on-chain state at one block into the store."""

from __future__ import annotations

import click

from defi_perps.commands._common import FiniteFloat, db_option, emit_json, json_option, progress_bar
from defi_perps.exceptions import InputError


@click.command("index", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("protocol", metavar="PROTOCOL")
@click.option("--chain", "chain_name", metavar="NAME", help="Bundled chain file (arbitrum, avalanche, devnet…).")
@click.option("--chain-file", type=click.Path(dir_okay=False), metavar="FILE", help="Any chain file (a fork, a test deployment).")
@click.option("--rpc", "rpc_url", metavar="URL", help="RPC URL (default: $<rpc_env> of the chain file, then its rpc_url).")
@click.option("--block", "block", metavar="N", help="Block to snapshot (default: the latest block when the run starts).")
@click.option("--prices", "prices_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="JSON price file overriding the Chainlink feeds (GMX v2; format: protocols/gmx_v2/mappers.py).")
@click.option("--accounts", "accounts_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Accounts to read, for protocols with no on-chain list of users (Hyperliquid): one 0x address "
                   "per line, or CSV with an account/address column; replaces the chain file's list. Refused for "
                   "protocols that enumerate their accounts on chain.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000),
              help="Calls per Multicall3 batch (halves automatically when a batch fails).")
@click.option("--parallel", default=4, show_default=True, type=click.IntRange(1, 32),
              help="Multicall batches in flight at once.")
@click.option("--timeout", default=60.0, show_default=True, type=FiniteFloat(0.1, 600),
              help="Per-request timeout (s); a request's whole retry ladder gives up after about twice this.")
@click.option("--retries", default=5, show_default=True, type=click.IntRange(0, 20), help="Retries per request on timeouts, 429 and 5xx.")
@click.option("--from-block", "from_block", metavar="A", help="History: first block of a range (with --to-block).")
@click.option("--to-block", "to_block", metavar="B", help="History: last block of the range ('latest' = the head).")
@click.option("--every", "every", default=None, metavar="N|DUR",
              help="History: every N blocks, or by block time (30m, 1h, 1d; binary search over timestamps). Default 1.")
@click.option("--reorg-buffer", default=64, show_default=True, type=click.IntRange(0, 1_000_000),
              help="History: stored blocks this close to the head are re-checked by hash.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16),
              help="History: blocks read at once (each with --parallel batches in flight).")
@click.option("--replay", "replay_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Answer every RPC request from recorded request/response files in DIR (no network).")
@click.option("--record", "record_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Record every RPC request and its exact answer into DIR (web3_response.*.json files).")
@db_option
@json_option
def index(protocol: str, chain_name: str | None, chain_file: str | None, rpc_url: str | None, block: str | None,
          prices_path: str | None, accounts_path: str | None, batch_size: int, parallel: int, timeout: float, retries: int,
          from_block: str | None, to_block: str | None, every: str | None, reorg_buffer: int, workers: int,
          replay_dir: str | None, record_dir: str | None, db_url: str | None, as_json: bool) -> None:
    """Snapshot PROTOCOL (gmx-v2, gmx-v1, …; see `defi-perps protocols`) at one block: markets,
    oracle prices and every open position.

    With --from-block/--to-block [--every], snapshot a range of blocks, one transaction each:
    a rerun skips what is stored and a kill loses at most the blocks in flight."""
    from defi_perps.protocols import registry

    plugin = registry.get(protocol)      # an unknown protocol is a one-line error before anything else
    from defi_perps.config import load_chain
    from defi_perps.rpc.client import RetryPolicy

    if prices_path is not None and plugin.price_file_help is None:
        raise InputError(f"--prices is not supported for {plugin.name}")
    if accounts_path is not None:       # refused, or parsed and validated, before any RPC
        from defi_perps.protocols.accounts import load_accounts_file
        from defi_perps.indexer.job import check_accounts_option

        check_accounts_option(plugin)
        accounts: list[str] | None = load_accounts_file(accounts_path)
    else:
        accounts = None
    if replay_dir is not None and record_dir is not None:
        raise InputError("--replay and --record are exclusive")

    if from_block is not None or to_block is not None or every is not None:
        if block is not None:
            raise InputError("--block and --from-block/--to-block are exclusive: one block, or a range")
        if prices_path is not None:
            raise InputError(f"--prices applies to one block; a history reads the protocol's own prices "
                             f"({plugin.default_price_source}) at each block")
        if from_block is None or to_block is None:
            raise InputError("a history needs both --from-block and --to-block")
        if replay_dir is not None or record_dir is not None:
            raise InputError("--replay/--record apply to one block, not a history")
        _history(load_chain(chain_name, chain_file), rpc_url, from_block, to_block, every or "1", reorg_buffer,
                 workers, parallel, batch_size, RetryPolicy(max_retries=retries, timeout_s=timeout), db_url, as_json,
                 plugin.name, accounts)
        return
    from defi_perps.indexer.job import index_protocol

    blk = _parse_block(block)
    if rpc_url is not None and not rpc_url.strip():   # an empty --rpc is a mistake, not "the default"
        raise InputError("--rpc is empty; give an http(s):// URL or leave the option out for the chain file's")
    chain = load_chain(chain_name, chain_file)
    chain.deployment(plugin.key)          # a chain file without the protocol's section: one line, no RPC
    retry = RetryPolicy(max_retries=retries, timeout_s=timeout)
    client = None
    if replay_dir is not None or record_dir is not None:
        from defi_perps.rpc.replay import recording_client, replaying_client

        client = (replaying_client(replay_dir, retry) if replay_dir is not None
                  else recording_client(chain.resolve_rpc_url(rpc_url), record_dir, retry))  # type: ignore[arg-type]
    with progress_bar("positions", None) as bar:
        def progress(done: int, total: int) -> None:
            bar.update(completed=done, total=total)

        try:
            report, snap = index_protocol(plugin.name, chain, rpc_url, blk, db_url, prices_path, batch_size, retry,
                                          progress, parallel=parallel, client=client, accounts=accounts,
                                          read_stored=record_dir is not None)
        finally:
            if client is not None:
                client.close()
    cached = None
    summarize, render = plugin.summarize, plugin.render
    if snap is not None:
        from dataclasses import replace

        summary = summarize(replace(snap, meta=replace(snap.meta, id=report.snapshot_id)))
    else:  # the block was already stored: its cached summary, else summarize what the store holds
        from defi_perps.store.summaries import cached_summary

        _, cached = cached_summary(db_url, report.snapshot_id)
        if cached is None:
            from defi_perps.store.queries import load_snapshot

            summary = summarize(load_snapshot(db_url, report.snapshot_id))
        else:
            summary = cached
    if report.snapshot_id and cached is None:
        from defi_perps.store.summaries import store_summary

        store_summary(db_url, report.snapshot_id, summary)   # `snapshots show` reads it back at once
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)
    if as_json:
        emit_json({"index": report.to_dict(), "snapshot": summary})
        return
    if summary is not None:
        render(summary)
    at = f"block {report.block_number} ({report.block_hash[:10]}…)"
    prices = f", prices from {report.price_label}" if report.price_label else ""
    if not report.created:
        click.echo(f"{at} on {report.chain}{prices} is already stored as snapshot "
                   f"{report.snapshot_id}; nothing written ({report.positions} positions, {report.markets} markets)")
    else:
        click.echo(f"stored snapshot {report.snapshot_id}: {report.chain} {at}{prices}, "
                   f"{report.markets} markets, {report.positions} positions")
    if not report.created:
        click.echo(f"RPC round trips: {report.round_trips}; elapsed {report.elapsed_s:.2f}s")
        return
    click.echo(f"RPC round trips: {report.round_trips} (retries {report.retries}, multicall batches "
               f"{report.multicall_batches}, batch size {report.batch_size_final}"
               f"{', halved ' + str(report.batch_halvings) + 'x' if report.batch_halvings else ''}); "
               f"elapsed {report.elapsed_s:.2f}s (read {report.read_s:.2f}s, write {report.write_s:.2f}s); "
               f"{report.positions_per_s:,.0f} positions/s")


def _history(chain, rpc_url, from_block, to_block, every, reorg_buffer, workers, parallel, batch_size,  # type: ignore[no-untyped-def]
             retry, db_url, as_json, protocol="gmx-v2", accounts=None) -> None:
    from defi_perps.commands._common import stderr_is_tty
    from defi_perps.indexer.history import Every, index_history

    ev = Every.parse(every)
    a = _range_block(from_block, "--from-block")
    b = _range_block(to_block, "--to-block")
    if a is None:
        raise InputError("--from-block must be a block number")
    if b is None:   # 'latest': the head when the run starts
        from defi_perps.rpc.client import RpcClient

        c = RpcClient(chain.resolve_rpc_url(rpc_url), retry)
        try:
            b = c.block_number()
        finally:
            c.close()
    if stderr_is_tty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(TextColumn("blocks"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                      TextColumn("{task.fields[pos]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                      console=Console(stderr=True), transient=True) as p:
            task = p.add_task("blocks", total=None, rate="", pos="")

            def progress(done: int, total: int, positions: int) -> None:
                el = p.tasks[0].elapsed or 0.0
                rate = f"{done / el:.2f} blocks/s" if el > 0 and done else ""
                p.update(task, completed=done, total=total, rate=rate,
                         pos=f"{positions:,} positions" if positions else "")

            rep = index_history(chain, rpc_url, a, b, ev, db_url, reorg_buffer=reorg_buffer, workers=workers,
                                parallel=parallel, batch_size=batch_size, retry=retry, progress=progress,
                                protocol=protocol, accounts=accounts)
    else:
        rep = index_history(chain, rpc_url, a, b, ev, db_url, reorg_buffer=reorg_buffer, workers=workers,
                            parallel=parallel, batch_size=batch_size, retry=retry, protocol=protocol,
                            accounts=accounts)
    for r in rep.reorged:
        click.echo(f"warning: block {r['block']} was stored with hash {r['stored_hash'][:12]}… but the node now has "
                   f"{r['node_hash'][:12]}… (a reorg): indexed again as a new snapshot", err=True)
    if as_json:
        emit_json({"history": rep.to_dict()})
    else:
        click.echo(f"{rep.chain} blocks {rep.from_block}..{rep.to_block} every {rep.every}: {len(rep.planned)} planned, "
                   f"{len(rep.stored)} written, {len(rep.skipped)} already stored"
                   f" ({rep.rechecked} re-checked by hash within {rep.reorg_buffer} blocks of head {rep.head}), "
                   f"{len(rep.reorged)} reorged; {rep.elapsed_s:.2f}s, {rep.blocks_per_s:.2f} blocks/s")
    if rep.failed:
        from defi_perps.exceptions import RpcError

        f = rep.failed[0]
        raise RpcError(f"block {f['block']} failed: {f['error']} ({len(rep.stored)} blocks stored before it; "
                       f"rerun to resume)")


def _range_block(raw: str, opt: str) -> int | None:
    if raw.strip().lower() == "latest":
        return None
    try:
        n = int(raw, 0)
    except ValueError:
        raise InputError(f"{opt} must be a block number or 'latest', got {raw!r}") from None
    if n < 0:
        raise InputError(f"{opt} must be >= 0, got {n}")
    return n


def _parse_block(block: str | None) -> int | None:
    if block is None or block.strip().lower() == "latest":
        return None
    try:
        n = int(block, 0)
    except ValueError:
        raise InputError(f"--block must be a block number or 'latest', got {block!r}") from None
    if not 0 <= n < 2**63:   # block numbers are stored as signed 64-bit integers
        raise InputError(f"--block must be a block number >= 0 and < 2**63, or 'latest', got {block!r}")
    return n
