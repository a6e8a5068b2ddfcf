"""``defi-perps runs list | show ID | rerun ID``: the stored simulate, compare and audit runs."""

from __future__ import annotations

import click

from defi_perps.commands._common import ID_MAX, RunRef, db_option, emit_json, json_option


@click.group("runs", context_settings={"help_option_names": ["-h", "--help"]})
def runs() -> None:
    """Stored runs: every simulate, compare and audit, with what it takes to reproduce it."""


# every kind a command stores (runs/record.py, runs/hedger.py, runs/audit.py)
RUN_KINDS = ["simulate", "compare", "audit", "attack", "manipulation", "hedger"]


@runs.command("list")
@click.option("--kind", type=click.Choice(RUN_KINDS), default=None, help="Only runs of this kind.")
@click.option("--parent", "parent_id", type=click.IntRange(1, ID_MAX), default=None, metavar="ID",
              help="Only the runs inside audit ID.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=50, show_default=True)
@db_option
@json_option
def list_cmd(kind: str | None, parent_id: int | None, limit: int, db_url: str | None, as_json: bool) -> None:
    """Newest first: id, kind, when, book, seed, threads, digest."""
    from defi_perps.store.runs import list_runs

    rows = list_runs(db_url, kind=kind, parent_id=parent_id, limit=limit) if _has_db(db_url) else []
    if as_json:
        emit_json([_brief(r) for r in rows])
        return
    if not rows:
        click.echo("no runs stored yet")
        return
    from rich.table import Table

    from defi_perps.report.style import console

    t = Table(show_edge=False)
    for col in ("id", "kind", "parent", "label", "stored at", "book", "seed", "threads", "digest", "command"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(str(r.id), r.kind, str(r.parent_id or ""), r.label, r.created_at, r.book_source or "-", str(r.seed),
                  str(r.threads or "-"), r.result_digest[:12], " ".join(r.request.get("argv") or [])[:120])
    console().print(t)


@runs.command("show")
@click.argument("run_id", metavar="ID|latest", type=RunRef())
@db_option
@json_option
def show_cmd(run_id: int | str, db_url: str | None, as_json: bool) -> None:
    """Everything stored with a run: command line, snapshot, venues and sources, code version, aggregates."""
    from defi_perps.store.runs import get_run, list_runs

    _require_db(db_url)
    r = get_run(db_url, run_id)
    children = list_runs(db_url, parent_id=r.id) if r.kind == "audit" else []
    if as_json:
        emit_json({**r.to_dict(), "children": [_brief(c) for c in sorted(children, key=lambda c: c.id)]})
        return
    from defi_perps.report.style import console, usd

    c = console()
    c.print(f"[bold]run {r.id}[/] {r.kind}{' · ' + r.label if r.label else ''} · stored {r.created_at}")
    if r.request.get("argv"):
        c.print(f"command: defi-perps {' '.join(r.request['argv'])}")
    if r.snapshot_id is not None:
        c.print(f"snapshot {r.snapshot_id}: chain {r.chain_id}, block {r.block_number} ({r.block_hash})")
    elif r.book_source:
        c.print(f"book: {r.book_source}")
    c.print(f"seed {r.seed} · threads {r.threads or '-'} · code {r.code_version} ({r.code_digest[:12]}) · "
            f"elapsed {r.elapsed_s:.2f}s")
    c.print(f"result digest: {r.result_digest}")
    if r.scenario.get("origin"):
        c.print(f"scenario: {r.scenario['origin']} ({len(r.scenario.get('text') or '')} characters stored)")
    for name, params in (r.venues or {}).items():
        n_src = len((params or {}).get("sources") or {})
        c.print(f"venue {name}: parameters stored with {n_src} sources")
    agg = r.aggregates or {}
    if "attacker_net_usd" in agg:       # an attack run
        paid = agg.get("paid_by") or {}
        who = ", ".join(f"{k} {usd(x)}" for k, x in paid.items() if x)
        c.print(f"attack {agg.get('name')}: oracle move {agg.get('oracle_move', 0.0) * 100:+.1f}%, attacker cost "
                f"{usd(agg.get('attacker_cost_usd'))}, profit {usd(agg.get('attacker_profit_usd'))}, net "
                f"{usd(agg.get('attacker_net_usd'))}, liquidated {usd(agg.get('liquidated_notional_usd'))}"
                + (f"; paid by {who}" if who else ""))
    for key, val in agg.items():
        if key in ("parts", "paid_by", "name", "oracle_move") or key.startswith("attacker_"):
            continue
        if isinstance(val, dict) and "mean" in val:
            c.print(f"{key}: mean {usd(val['mean'])}, p99 {usd(val.get('p99'))}")
        elif key == "venues" and isinstance(val, list):
            for v in val:
                paid = v.get("paid_by") or {}
                who = ", ".join(f"{k} {usd(x)}" for k, x in paid.items() if x)
                c.print(f"  {v.get('venue')}: liquidated {usd(v.get('liquidated_notional_usd'))}, bad debt "
                        f"{usd(v.get('bad_debt_usd'))}, ADL {usd(v.get('adl_notional_usd'))}"
                        + (f"; paid by {who}" if who else ""))
    for ch in sorted(children, key=lambda x: x.id):
        c.print(f"  child run {ch.id}: {ch.label or ch.kind} · digest {ch.result_digest[:12]}")


@runs.command("rerun")
@click.argument("run_id", metavar="ID|latest", type=RunRef())
@db_option
@json_option
def rerun_cmd(run_id: int | str, db_url: str | None, as_json: bool) -> None:
    """Run a stored run again; exit 0 when the digest is reproduced bit for bit, 1 with what differs."""
    from defi_perps.runs.record import rerun

    _require_db(db_url)
    rep = rerun(run_id, db_url)
    if as_json:
        emit_json(rep.to_dict())
    else:
        _print_rerun(rep)
    if not rep.identical:
        raise SystemExit(1)


def _print_rerun(rep, indent: str = "") -> None:  # type: ignore[no-untyped-def]
    if rep.identical:
        click.echo(f"{indent}run {rep.run_id} ({rep.kind}): reproduced bit for bit, digest {rep.digest[:16]} "
                   f"({rep.elapsed_s:.2f}s)")
    else:
        click.echo(f"{indent}run {rep.run_id} ({rep.kind}): DIFFERS — stored digest {rep.stored_digest[:16]}, "
                   f"now {rep.digest[:16]}")
        for d in rep.differences:
            click.echo(f"{indent}  input changed: {d}")
        if not rep.differences and not rep.children:
            click.echo(f"{indent}  no input changed: the code computes a different result from the same inputs")
        if rep.changed_parts:
            click.echo(f"{indent}  result parts that changed: {', '.join(rep.changed_parts[:20])}"
                       + (" …" if len(rep.changed_parts) > 20 else ""))
    for ch in rep.children:
        if not ch.identical:
            _print_rerun(ch, indent + "  ")
    if rep.children and rep.identical:
        click.echo(f"{indent}  {len(rep.children)} child runs reproduced")


def _brief(r) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {"id": r.id, "kind": r.kind, "parent_id": r.parent_id, "label": r.label, "created_at": r.created_at,
            "snapshot_id": r.snapshot_id, "book_source": r.book_source, "seed": r.seed, "threads": r.threads,
            "code_version": r.code_version, "result_digest": r.result_digest, "argv": r.request.get("argv")}


def _has_db(db_url: str | None) -> bool:
    """Whether the database exists with a schema; never creates one (these commands only read)."""
    from defi_perps.store.db import NoDatabase, get_engine

    try:
        get_engine(db_url, create=False)
    except NoDatabase:
        return False
    return True


def _require_db(db_url: str | None) -> None:
    if not _has_db(db_url):
        from defi_perps.exceptions import StoreError
        from defi_perps.paths import default_db_url
        from defi_perps.store.db import safe_url

        raise StoreError(f"no runs stored yet: no database at {safe_url(db_url or default_db_url())} "
                         "(run `defi-perps simulate`, `compare` or `audit` first; read-only commands create none)")
