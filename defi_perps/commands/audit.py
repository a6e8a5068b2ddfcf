"""``defi-perps audit PROTOCOL``: index (or reuse) a snapshot, run every section, write the report folder."""

from __future__ import annotations

from pathlib import Path

import click

from defi_perps.commands._common import db_option, emit_json, json_option, stderr_is_tty


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise click.BadParameter("give at least one name")
    return items


@click.command("audit", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("protocol", metavar="PROTOCOL")
@click.option("--chain", "chain_name", metavar="NAME", help="Bundled chain file (arbitrum, avalanche, devnet…).")
@click.option("--chain-file", type=click.Path(dir_okay=False), metavar="FILE", help="Any chain file.")
@click.option("--rpc", "rpc_url", metavar="URL", help="RPC URL (default: the chain file's).")
@click.option("--block", metavar="N", help="Block to audit (default: the latest; a stored block is reused).")
@db_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Report folder (default: ./defi-perps-report-<protocol>-<block>).")
@click.option("--scenarios", default=None, metavar="LIST",
              help="Comma-separated built-in scenarios or TOML files (default: every built-in, oct-10-2025 first); "
                   "the first is the one the venues are compared on.")
@click.option("--venues", default=None, metavar="LIST", help="Comma-separated venues to compare (default: all).")
@click.option("--paths", "n_paths", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Paths per scenario and per venue (grid cells use a quarter, at least 20).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option("--threads", type=click.IntRange(1, 1024), default=None, help="numba threads (default: all).")
@json_option
def audit(protocol: str, chain_name: str | None, chain_file: str | None, rpc_url: str | None, block: str | None,
          db_url: str | None, out_dir: Path | None, scenarios: str | None, venues: str | None, n_paths: int,
          seed: int, threads: int | None, as_json: bool) -> None:
    """Audit PROTOCOL (gmx-v2, gmx-v1, gtrade, hyperliquid, synthetix-v3) at a block: snapshot health,
    stress suite on the protocol's own rules, venue comparison. Sections that exist only for GMX v2 are
    listed in the report as not run, with why.

    Writes report.html (self-contained), summary.json, tables/*.csv|parquet and figures/*.png, and
    stores every run inside it (`defi-perps runs list --parent ID`).
    """
    from defi_perps.commands.index import _parse_block
    from defi_perps.runs import audit_inputs as ai
    from defi_perps.runs.audit import AuditRequest, planned_steps

    blk = _parse_block(block)
    if rpc_url is not None and not rpc_url.strip():
        from defi_perps.exceptions import InputError

        raise InputError("--rpc is empty; give an http(s):// URL or leave the option out for the chain file's")
    req = AuditRequest(protocol=protocol, chain=chain_name, chain_file=chain_file, rpc_url=rpc_url, block=blk,
                       db_url=db_url, out_dir=out_dir, scenarios=_csv(scenarios), venues=_csv(venues),
                       n_paths=n_paths, seed=seed, threads=threads)
    req.check()
    n_scen = len(req.scenarios or ai.builtin_scenarios())
    n_venues = len(req.venues or ai.venue_names())
    total = planned_steps(req, n_scen, n_venues)
    result = _run_with_progress(req, total)
    if as_json:
        emit_json({**result.summary, "report_html": str(result.report_html), "out_dir": str(result.out_dir)})
        return
    _print_summary(result)


def _run_with_progress(req, total: float):  # type: ignore[no-untyped-def]
    """A rich bar across every stage on a terminal; nothing when stderr is not one."""
    from defi_perps.runs.audit import run_audit

    if not stderr_is_tty():
        return run_audit(req)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]audit[/]"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"),
                  console=Console(stderr=True), transient=True) as p:
        task = p.add_task("indexing", total=total)

        def advance(label: str, k: float) -> None:
            p.update(task, advance=k, description=label)

        return run_audit(req, progress=advance)


def _print_summary(result) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from defi_perps.report.style import console

    c = console()
    s = result.summary
    snap = s["snapshot"]
    c.print(f"[bold]audit {s['protocol']}[/] · chain {snap['chain_id']} block {snap['block_number']} · snapshot "
            f"{snap['snapshot_id']} ({'indexed now' if s['index'].get('created') else 'reused'}) · "
            f"{snap['positions']:,} positions · audit run {s['audit_run_id']} ({len(s['child_runs'])} child runs)")
    t = Table(title="Findings", title_justify="left", show_edge=False)
    for col in ("finding", "value", "runs"):
        t.add_column(col, overflow="fold")
    for f in result.findings:
        mark = {"alert": "[red]![/] ", "warn": "[yellow]•[/] "}.get(f.severity, "  ")
        t.add_row(mark + f.label, f.display, ", ".join(f"#{i}" for i in f.run_ids[:4]))
    c.print(t)
    for sk in result.skipped:
        c.print(f"section not run: {sk['title']} — {sk['reason']}")
    for w in s["index"].get("warnings", []):
        click.echo(f"warning: {w}", err=True)
    c.print(f"report: {result.report_html}")
