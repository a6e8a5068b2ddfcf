"""``defi-perps compare``: one book and one shock on several venues, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from defi_perps.commands._common import (
    DEFAULT_RESULT_BUDGET_MIB,
    FiniteFloat,
    book_file_option,
    check_db_option,
    db_option,
    emit_json,
    json_option,
    book_seed_option,
    long_share_option,
    markets_option,
    notice,
    paths_option,
    progress_bar,
    result_budget_option,
    scenario_options,
    seed_option,
    snapshot_option,
    synthetic_from_options,
    synthetic_option,
)
from defi_perps.commands._withdrawal import resolve_withdrawal, withdrawal_option
from defi_perps.exceptions import InputError
from defi_perps.runs.record import record_command_run
from defi_perps.venues.engine_rules import ADL_POLICIES
from defi_perps.venues.params import VENUE_NAMES

_ALL = ",".join(VENUE_NAMES)


def _load_book(snapshot: int | str | None, book_file: str | None, synthetic: int | None, markets: int, seed: int,
               db_url: str | None, long_share: float | None = None, book_seed: int | None = None) -> Any:
    chosen = [x is not None for x in (snapshot, book_file, synthetic)]
    if sum(chosen) != 1:
        raise InputError("give exactly one of --snapshot ID, --book FILE or --synthetic N")
    book = synthetic_from_options(synthetic, markets, seed, long_share, book_seed)
    if book is not None:
        return book
    if book_file is not None:
        from defi_perps.book import read_book_file

        return read_book_file(book_file)
    from defi_perps.book import load_snapshot_book

    return load_snapshot_book(db_url, "latest" if snapshot is None else snapshot)


@click.command(name="compare")
@snapshot_option("snapshot")
@book_file_option(str)
@synthetic_option("synthetic")
@markets_option("markets")
@long_share_option()
@book_seed_option()
@db_option
@scenario_options
@click.option("--venues", "venue_spec", default=_ALL, show_default=True,
              help="Comma-separated venues (names or .toml files).")
@paths_option(streamed=True)
@result_budget_option()
@seed_option()
@withdrawal_option
@click.option("--adl-policy", default="venue", show_default=True, type=click.Choice(ADL_POLICIES),
              help="How ADL is spread over accounts inside each path ('venue': each venue's own queue ranking).")
@click.option("--threads", type=click.IntRange(1, 1024), default=None, help="numba threads (default: all).")
@click.option("--adl-events", "adl_events", default=None, metavar="FILE",
              help="Write the ADL events of path 0 (with their candidate accounts) to FILE, for "
                   "'defi-perps adl replay' (what-if under other ADL policies).")
@click.option("--per-path", is_flag=True, help="With --json, include every path's figures.")
@click.option("--hedge", "hedge_usd", type=FiniteFloat(0, 1e13, min_open=True, example="5e6"), default=None,
              help="Also run a delta-neutral hedger of this notional (USD) on each venue: its P&L by cause "
                   "(defi-perps hedger).")
@click.option("--hedge-leverage", type=FiniteFloat(1, 200, example="5"), default=5.0, show_default=True,
              help="With --hedge: leverage of the hedger's perp short.")
@click.option("--hedge-latency", default="60s", show_default=True, metavar="D|D..D",
              help="With --hedge: time to re-hedge after ADL (30s, or 30s..5m per path).")
@json_option
def compare(snapshot: int | str | None, book_file: str | None, synthetic: int | None, markets: int, db_url: str | None,
            shock: str | None, replay: Path | None, scenario: str | None, horizon: str | None, step: str | None,
            depth_stress: float | None, volatility: float | None, venue_spec: str, n_paths: int, seed: int,
            adl_policy: str, threads: int | None, adl_events: str | None, per_path: bool,
            hedge_usd: float | None, hedge_leverage: float, hedge_latency: str, as_json: bool,
            withdrawal: str = "off", result_budget_mib: float = DEFAULT_RESULT_BUDGET_MIB,
            long_share: float | None = None, book_seed: int | None = None) -> None:
    """Run one book and one shock on several venues and show who bears the loss.

    Every venue runs through the one engine (the same code path as `defi-perps simulate --venue V`,
    identical numbers) on the same positions and the same seeded price paths. The table gives, per
    venue, liquidated notional, bad debt and who paid it (insurance fund, pool/LPs, backstop vault,
    broker, ADL'd traders, uncovered), ADL'd notional and accounts, and the counterparty's P&L.
    Venue rules and their sources: defi_perps/venues/params/*.toml. A run whose per-path results
    exceed --result-budget streams in chunks (bounded memory; tails from a quantile sketch).
    """
    from defi_perps.runs.compare import run_compare
    from defi_perps.scenarios.setup import choose_scenario, resolve_setup
    from defi_perps.venues.params import VenueParams, parse_venue_list

    venues = parse_venue_list(venue_spec)
    check_db_option(db_url)
    choice = choose_scenario(shock, replay, scenario, horizon, step)
    book = _load_book(snapshot, book_file, synthetic, markets, seed, db_url, long_share, book_seed)
    if book.n_positions == 0:
        raise InputError("the book has no open positions")
    setup = resolve_setup(book, choice, depth_stress=depth_stress, volatility=volatility)
    budget = int(result_budget_mib * 2**20)
    if hedge_usd is not None or per_path:
        from defi_perps.engine.stream import plan_run

        if plan_run(n_paths, book.n_markets, setup.n_steps, budget_bytes=budget).streamed:
            raise InputError(f"{'--hedge' if hedge_usd is not None else '--per-path'} keeps every path's results, "
                             f"and --paths {n_paths:,} runs streamed (above --result-budget); use fewer paths or "
                             "a larger --result-budget")
    with progress_bar("venues × paths", total=len(venues) * n_paths) as bar:
        run = run_compare(book, list[VenueParams | str](venues), setup, n_paths, seed, adl_policy, threads=threads, progress=bar.advance,
                          notice=notice, withdrawal=resolve_withdrawal(withdrawal), result_budget=budget)
    data = run.to_dict(per_path=per_path)
    if hedge_usd is not None:   # the hedger's P&L per venue (runs/hedger.py)
        from defi_perps.runs.hedger import compare_rows

        data["hedger"] = compare_rows(book, setup, venues, hedge_usd, hedge_leverage, hedge_latency, n_paths, seed,
                                      adl_policy, threads)
    if adl_events is not None:
        from defi_perps.runs.adl_events import write_adl_events

        try:
            n_rows = write_adl_events(adl_events, book, venues, setup, seed, adl_policy)
        except OSError as err:
            raise InputError(f"cannot write --adl-events {adl_events}: {err.strerror}") from err
        data["adl_events"] = {"file": adl_events, "rows": n_rows}
    record_command_run(data, book)   # stored run: `defi-perps runs show|rerun ID`
    if as_json:
        emit_json(data)
        return
    from rich.console import Console

    from defi_perps.report.compare import render_table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    src = book.source or ("synthetic" if synthetic is not None else "book")
    title = (f"{src}: {book.n_positions} positions, {book.n_markets} market(s) — {setup.describe()} — "
             f"{n_paths} paths, seed {seed}, ADL policy {adl_policy}")
    console.print(render_table(data, title))
    from defi_perps.report.compare import oracle_lines

    for line in oracle_lines(data):     # each venue's own oracle / mark vs the exogenous price
        console.print(line, markup=False)
    if "hedger" in data:
        from defi_perps.report.hedger import render_compare_hedger

        console.print(render_compare_hedger(data["hedger"]))
    from defi_perps.report.withdrawal import withdrawal_lines

    for row in data["venues"]:
        for line in withdrawal_lines(row, row.get("display")):
            console.print(line)
